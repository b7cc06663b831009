"""The pages' text index on a real SQLite file and on PostgreSQL (when configured): a search
finds the same items before and after the index catches up, follows amendments and deletions,
and is answered by the index rather than by reading every text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from monitor.store import Store, search
from monitor.store.analyst import Filter, Pages
from monitor.store.schema import items_t, matches_t

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

TEXTS = {
    "norad": ("Ottawa and Washington open the NORAD review", "Radar stations in the North."),
    "fr": ("La défense continentale et le Dôme doré", "Le NORAD « modernisé », dit Ottawa."),
    "quote": ('Minister says "no deal" on 100% tariffs', "Steel_and aluminium duties stay."),
    "plain": ("City council approves the transit budget", "Said in a statement on Monday."),
}


@pytest.fixture
def pages(store: Store) -> Iterator[Pages]:
    yield Pages(store.engine)


def _insert(store: Store, title: str, summary: str = "", *, at: datetime = NOW) -> int:
    with store.engine.begin() as conn:
        return int(
            conn.execute(
                sa.insert(items_t)
                .values(title=title, summary=summary, first_seen_at=at, content_hash="h")
                .returning(items_t.c.id)
            ).scalar_one()
        )


def _found(pages: Pages, q: str) -> set[str]:
    rows, more = pages.items(Filter(q=q), limit=50)
    assert not more
    return {r.title for r in rows}


def _fill(store: Store) -> dict[str, int]:
    return {
        key: _insert(store, title, summary, at=NOW + timedelta(minutes=k))
        for k, (key, (title, summary)) in enumerate(TEXTS.items())
    }


def _integrity(store: Store) -> None:
    """SQLite's own check that the index holds exactly the indexed rows' text."""
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as conn:
            fts = search.FTS_TABLE
            conn.execute(sa.text(f"INSERT INTO {fts} ({fts}) VALUES ('integrity-check')"))


QUERIES = {
    "norad": {TEXTS["norad"][0], TEXTS["fr"][0]},  # summary and title, any case
    "NORAD REVIEW": {TEXTS["norad"][0]},
    "dôme doré": {TEXTS["fr"][0]},
    '"no deal"': {TEXTS["quote"][0]},
    "100%": {TEXTS["quote"][0]},
    "steel_and": {TEXTS["quote"][0]},
    "counc_l": set(),  # an underscore is itself, not any character
    "in the": {TEXTS["norad"][0]},  # across words
    "ot": {TEXTS["norad"][0], TEXTS["fr"][0]},  # too short for a trigram: searched unindexed
    "nowhere at all": set(),
}


@pytest.mark.parametrize("q", list(QUERIES))
def test_a_search_finds_the_same_items_before_and_after_the_index_catches_up(
    store: Store, pages: Pages, q: str
) -> None:
    _fill(store)
    index = store.text_index
    queued = index.pending()
    before = _found(pages, q)
    added = index.catch_up()
    after = _found(pages, q)
    assert before == after == QUERIES[q]
    if store.engine.dialect.name == "sqlite" and index.indexed():
        assert (queued, added, index.pending()) == (len(TEXTS), len(TEXTS), 0)
    _integrity(store)


def test_an_amended_or_deleted_item_is_found_by_its_new_text_only(
    store: Store, pages: Pages
) -> None:
    ids = _fill(store)
    store.text_index.catch_up()
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(items_t)
            .where(items_t.c.id == ids["plain"])
            .values(title="Council rejects the icebreaker budget")
        )
        conn.execute(sa.delete(items_t).where(items_t.c.id == ids["quote"]))
        # a change that does not touch the text leaves the index alone
        conn.execute(sa.update(items_t).where(items_t.c.id == ids["norad"]).values(lang="en"))
    assert _found(pages, "icebreaker") == {"Council rejects the icebreaker budget"}
    assert _found(pages, "transit") == set()
    assert _found(pages, "no deal") == set()
    assert _found(pages, "norad review") == {TEXTS["norad"][0]}
    _integrity(store)


def test_an_item_given_a_deleted_items_id_is_found(store: Store, pages: Pages) -> None:
    """SQLite gives a new row the id of a deleted last row: the index must not take the new
    item for one it already holds."""
    ids = _fill(store)
    store.text_index.catch_up()
    last = max(ids.values())
    with store.engine.begin() as conn:
        conn.execute(sa.delete(items_t).where(items_t.c.id == last))
    again = _insert(store, "Arctic sovereignty patrol sails", "From Iqaluit.")
    assert _found(pages, "sovereignty patrol") == {"Arctic sovereignty patrol sails"}
    store.text_index.catch_up()
    assert _found(pages, "sovereignty patrol") == {"Arctic sovereignty patrol sails"}
    with store.engine.begin() as conn:
        conn.execute(sa.update(items_t).where(items_t.c.id == again).values(summary="From Nuuk."))
    assert _found(pages, "iqaluit") == set() and _found(pages, "nuuk") == {
        "Arctic sovereignty patrol sails"
    }
    _integrity(store)


def test_matches_are_searched_through_the_index_too(store: Store, pages: Pages) -> None:
    ids = _fill(store)
    store.text_index.catch_up()
    with store.engine.begin() as conn:
        for key in ("norad", "plain"):
            conn.execute(
                sa.insert(matches_t).values(
                    item_id=ids[key], topic="norad", score=5.0, urgent=False, matched_at=NOW
                )
            )
    found, more = pages.match_ids(Filter(q="norad"), limit=10)
    assert not more
    with store.engine.connect() as conn:
        items = conn.execute(
            sa.text("SELECT item_id FROM matches WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": found},
        ).scalars()
        assert set(items) == {ids["norad"]}


def test_the_index_answers_a_search(store: Store) -> None:
    """The plan reads the index, not every text: on SQLite the FTS5 table, on PostgreSQL the
    trigram indexes (with sequential scans priced out, as they would be at 100,000 items)."""
    _fill(store)
    store.text_index.catch_up()
    pages = Pages(store.engine)
    assert pages.text.indexed()
    query = sa.select(items_t.c.id).where(search.condition("norad review", store.dialect, True))
    with store.engine.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        if store.dialect == "sqlite":
            plan = " ".join(
                str(r[-1]) for r in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
            assert "VIRTUAL TABLE INDEX" in plan and search.FTS_TABLE in plan, plan
        else:
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(r[0]) for r in conn.execute(sa.text(f"EXPLAIN {compiled}")))
            assert all(name in plan for name in search.TRGM_INDEXES), plan


def test_the_search_job_indexes_in_batches(store: Store, pages: Pages) -> None:
    for k in range(23):
        _insert(store, f"Item number {k:02d} about radar", "text")
    index = store.text_index
    assert index.catch_up(batch=5) == (23 if store.dialect == "sqlite" else 0)
    assert index.pending() == 0
    assert len(_found(pages, "about radar")) == 23
    assert _found(pages, "number 17") == {"Item number 17 about radar"}
    # a needle in many items is read newest first, unindexed; the same items either way
    assert index.common("about radar", hits=20) is (store.dialect == "sqlite")
    assert not index.common("number 17", hits=20)
    with store.engine.connect() as conn:
        for needle in ("about radar", "number 17", "nothing like it"):
            ways = {
                frozenset(
                    conn.execute(
                        sa.select(items_t.c.id).where(
                            search.condition(needle, store.dialect, True, common=common)
                        )
                    ).scalars()
                )
                for common in (False, True)
            }
            assert len(ways) == 1, needle
    _integrity(store)
