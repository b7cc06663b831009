"""The store on a real SQLite file and on the local PostgreSQL (when configured)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from monitor.cadence import CadencePolicy
from monitor.digest import build_digest, digest_to_json
from monitor.errors import StoreError
from monitor.ingest import save_items, write_polls
from monitor.model import FeedState, FeedUpdate, FetchResult, Item, Reason, TopicMatch
from monitor.plan import Outcome, Poll, Rules
from monitor.store import Store, search
from monitor.store.migrate import alembic_config
from monitor.store.tables import SQLModel
from monitor.stories import signature as stories_signature
from tests.phrases import common_phrase_with_a_key, filler

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def migrate(store: Store, to: str) -> None:
    """Upgrade the store's schema to ``head`` or downgrade it to revision ``to``."""
    cfg = alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.upgrade if to == "head" else command.downgrade)(cfg, to)


class Spec:
    def __init__(self, url: str, name: str | None = None) -> None:
        self.url, self.name, self.lang, self.interval = url, name, "en", None


def item(key: str, title: str, *, url: str | None = None, summary: str = "", h: str = "") -> Item:
    return Item(
        key=key,
        feed_url="x",
        title=title,
        summary=summary,
        url=url,
        published=NOW - timedelta(hours=1),
        content_hash=h or f"hash-{key}-{title}",
    )


def match(topic: str, score: float = 5.0, severity: str = "digest") -> TopicMatch:
    return TopicMatch(
        topic,
        score,
        severity,
        (Reason("NORAD", "title", 0, 4.0, "group:norad"),),  # type: ignore[arg-type]
    )


def test_migrations_match_the_tables(store: Store) -> None:
    def described(name: str | None, kind: str, _parent: object) -> bool:
        # the text index is made by its migration only (FTS5 or pg_trgm, where available)
        return name not in search.OBJECTS

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": described})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], diff


def test_times_come_back_aware_utc(store: Store) -> None:
    store.sync_feeds([Spec("https://a.example/feed")], NOW)
    feed = store.claim_due_feeds(NOW, owner="t")[0]
    local = NOW.astimezone(__import__("zoneinfo").ZoneInfo("America/Toronto"))
    store.record_poll(
        feed.id,
        FeedUpdate(polled_at=local, next_poll_at=local + timedelta(minutes=5), success=True),
    )
    [state] = store.feeds()
    assert state.last_polled_at == NOW
    assert state.last_polled_at is not None and state.last_polled_at.tzinfo is not None
    assert state.last_polled_at.utcoffset() == timedelta(0)


def test_feeds_sync_claim_and_lease(store: Store) -> None:
    store.sync_feeds([Spec("https://a.example/feed", "A"), Spec("https://b.example/feed")], NOW)
    claimed = store.claim_due_feeds(NOW, owner="w1", lease_s=60)
    assert {f.url for f in claimed} == {"https://a.example/feed", "https://b.example/feed"}
    # leased: another worker gets nothing until the lease expires
    assert store.claim_due_feeds(NOW, owner="w2") == []
    assert len(store.claim_due_feeds(NOW + timedelta(seconds=61), owner="w2")) == 2
    # a recorded poll releases the lease and sets the next poll
    a = next(f for f in claimed if f.name == "A")
    store.record_poll(
        a.id,
        FeedUpdate(
            polled_at=NOW, next_poll_at=NOW + timedelta(minutes=15), success=True, etag='"e1"'
        ),
    )
    later = NOW + timedelta(minutes=16)
    urls = [f.url for f in store.claim_due_feeds(later, owner="w3")]
    assert "https://a.example/feed" in urls
    # unlisted feeds stop being polled
    store.sync_feeds([Spec("https://b.example/feed")], NOW)
    assert [f.url for f in store.claim_due_feeds(NOW + timedelta(days=1), owner="w4")] == [
        "https://b.example/feed"
    ]


def test_feed_sync_writes_only_what_the_configuration_changed(store: Store) -> None:
    specs = [Spec(f"https://{n}.example/feed", n.upper()) for n in "abc"]
    store.sync_feeds(specs, NOW)
    writes: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            writes.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        store.sync_feeds(specs, NOW + timedelta(hours=1))
        assert writes == []  # nothing changed: nothing written
        renamed = Spec("https://a.example/feed", "A, renamed")
        renamed.lang, renamed.interval = "fr", 600.0
        store.sync_feeds([renamed, specs[1], Spec("https://d.example/feed", "D")], NOW)
        assert writes  # a rename, a new feed and a feed left out
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    configured = {f.url: f for f in store.feeds(configured_only=True)}
    assert sorted(configured) == [f"https://{n}.example/feed" for n in "abd"]
    a = configured["https://a.example/feed"]
    assert (a.name, a.lang, a.interval_s) == ("A, renamed", "fr", 600.0)
    assert configured["https://b.example/feed"].name == "B"
    # a feed listed again is polled again, under its settings of now
    store.sync_feeds([Spec("https://c.example/feed", "C again")], NOW)
    [c] = store.feeds(configured_only=True)
    assert (c.url, c.name) == ("https://c.example/feed", "C again")
    assert len(store.feeds()) == 4


def test_disabled_feed_is_not_claimed_and_moved_feed_changes_url(store: Store) -> None:
    store.sync_feeds([Spec("https://a.example/old"), Spec("https://b.example/feed")], NOW)
    a, b = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    store.record_poll(
        a.id,
        FeedUpdate(polled_at=NOW, next_poll_at=NOW, success=True, new_url="https://a.example/new"),
    )
    store.record_poll(
        b.id,
        FeedUpdate(
            polled_at=NOW,
            next_poll_at=NOW,
            success=False,
            error_kind="gone",
            error="410 Gone",
            disabled_reason="the server says the feed is gone (410)",
        ),
    )
    claimed = store.claim_due_feeds(NOW + timedelta(minutes=1), owner="w")
    assert [f.url for f in claimed] == ["https://a.example/new"]
    gone = next(f for f in store.feeds() if f.url == "https://b.example/feed")
    assert gone.disabled_reason and gone.last_error_kind == "gone"


def test_a_write_that_fails_leaves_nothing_of_its_items_in_memory(store: Store) -> None:
    """A write rolled back (here its feed is gone) leaves its items' ids free: the next item
    stored, by this process or another, takes them, and must be seen as what it is."""
    store.sync_feeds([Spec("https://a.example/feed", "A")], NOW)
    (feed,) = store.claim_due_feeds(NOW, owner="w")
    lost = "Lost text about a harbour, a ferry and a strike that nobody will ever store here"
    failing = [item("x", "A poll that fails", summary=lost)]
    with pytest.raises(StoreError):
        save_items(store, feed.id + 100, failing, [], {}, NOW)
    other = Store.open(store.engine.url.render_as_string(hide_password=False))
    try:
        kept = "Kept text about a bridge, a budget and a vote that the other process stores"
        save_items(other, feed.id, [item("y", "Stored elsewhere", summary=kept)], [], {}, NOW)
    finally:
        other.close()
    with store.engine.connect() as conn:
        ((item_id, story),) = conn.exec_driver_sql("SELECT id, story FROM items").fetchall()
    assert store.story_candidates({item_id})[item_id].story == story


def test_items_are_stored_once_and_linked_across_feeds(store: Store) -> None:
    store.sync_feeds(
        [Spec("https://a.example/feed", "A"), Spec("https://b.example/feed", "B")], NOW
    )
    a, b = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    one = item("k1", "NORAD review begins", url="https://news.example/norad")
    saved = save_items(store, a.id, [one], [], {"k1": [match("norad")]}, NOW)
    assert (saved.new_items, saved.new_matches) == (1, 1)
    same = item("other-key", "NORAD review begins (wire)", url="https://news.example/norad")
    saved = save_items(store, b.id, [same], [], {"other-key": [match("norad")]}, NOW)
    assert (saved.new_items, saved.linked_items, saved.new_matches) == (0, 1, 0)
    assert store.counts()["items"] == 1
    [m] = store.matches()
    assert m.feed_name == "A" and m.also_in == ("B",)
    assert m.reasons[0].term == "NORAD"
    assert store.stored_hashes(b.id, ["other-key", "nope"]) == {"other-key": same.content_hash}


def test_near_duplicates_share_a_story(store: Store) -> None:
    store.sync_feeds(
        [Spec("https://a.example/feed", "A"), Spec("https://b.example/feed", "B")], NOW
    )
    a, b = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    text = (
        "Canada will spend 4.9 billion dollars over six years to modernize the continental "
        "air defence system, the defence minister said on Monday at an air force base in "
        "Ontario, calling it the first step of a twenty year plan for new radars."
    )
    save_items(
        store,
        a.id,
        [item("a1", "Canada to modernize NORAD", url="https://a.example/1", summary=text)],
        [],
        {"a1": [match("norad")]},
        NOW,
    )
    save_items(
        store,
        b.id,
        [
            item(
                "b1",
                "Ottawa unveils NORAD upgrade",
                url="https://b.example/9",
                summary="OTTAWA — " + text,
            )
        ],
        [],
        {"b1": [match("norad")]},
        NOW,
    )
    save_items(
        store,
        b.id,
        [
            item(
                "b2",
                "Tariff talks stall",
                url="https://b.example/10",
                summary="Negotiators ended a week of talks in Washington without a steel deal.",
            )
        ],
        [],
        {},
        NOW,
    )
    found = store.matches()
    assert len(found) == 2
    assert found[0].story == found[1].story
    assert {found[0].feed_name, found[1].feed_name} == {"A", "B"}
    assert all(m.also_in for m in found)
    third = store.item(url="https://b.example/10")
    assert third is not None and third.story != found[0].story


WIRE = (
    "Canada will spend 4.9 billion dollars over six years to modernize the continental air "
    "defence system, the defence minister said on Monday at an air force base in Ontario."
)


def test_a_copy_joins_a_story_only_within_the_story_window(store: Store) -> None:
    """Copies are looked for among items first seen in the last STORY_WINDOW, not before."""
    from monitor.plan import STORY_WINDOW

    store.sync_feeds([Spec(f"https://{n}.example/feed", n) for n in "abc"], NOW)
    a, b, c = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    old = NOW - STORY_WINDOW - timedelta(hours=1)
    save_items(
        store,
        a.id,
        [item("a1", "NORAD plan", url="https://a.example/1", summary=WIRE)],
        [],
        {},
        old,
    )
    save_items(
        store,
        b.id,
        [item("b1", "NORAD plan", url="https://b.example/1", summary=WIRE)],
        [],
        {},
        NOW,
    )
    later = NOW + STORY_WINDOW - timedelta(hours=1)
    save_items(
        store,
        c.id,
        [item("c1", "NORAD plan", url="https://c.example/1", summary=WIRE)],
        [],
        {},
        later,
    )
    first, second, third = (store.item(url=f"https://{n}.example/1") for n in "abc")
    assert first is not None and second is not None and third is not None
    assert second.story != first.story  # the first copy was too old to be looked at
    assert third.story == second.story  # the second was recent enough


class Matcher:
    """Scores NORAD in a title, as a watchlist would."""

    def score(
        self, title: str, summary: str, lang: str | None = None, body: str = ""
    ) -> list[TopicMatch]:
        return [match("norad")] if "NORAD" in title else []


def test_write_polls_finds_copies_within_one_batch_and_records_each_poll(store: Store) -> None:
    """Several feeds written in one transaction: a copy carried by two of them is one story,
    the same URL is stored once, and each feed's poll outcome is recorded."""
    store.sync_feeds([Spec(f"https://{n}.example/feed", n) for n in "abc"], NOW)
    feeds = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)

    def poll(n: int, items: list[Item]) -> Poll:
        fetched = FetchResult(feeds[n].url, "ok", status=200, etag=f'"{n + 1}"')
        return Poll(feeds[n].id, NOW, items, outcome=Outcome(feeds[n], fetched))

    polls = [
        poll(0, [item("a1", "NORAD plan", url="https://a.example/1", summary=WIRE)]),
        poll(
            1,
            [
                item(
                    "b1",
                    "Ottawa's NORAD plan",
                    url="https://b.example/7",
                    summary="OTTAWA — " + WIRE,
                )
            ],
        ),
        poll(
            2,
            [
                item("c1", "NORAD plan", url="https://a.example/1", summary=WIRE),
                item(
                    "c2",
                    "Steel talks",
                    url="https://c.example/2",
                    summary="Negotiators met in Washington on steel quotas.",
                ),
            ],
        ),
    ]
    rules = Rules(CadencePolicy(), Matcher())
    written = write_polls(store, polls, rules, random.Random(1))
    assert [w.saved.new_items for w in written if not isinstance(w, Exception)] == [1, 1, 1]
    assert [w.saved.linked_items for w in written if not isinstance(w, Exception)] == [0, 0, 1]
    assert [w.saved.topics for w in written if not isinstance(w, Exception)] == [
        ("norad",),
        ("norad",),
        (),
    ]
    a1, b1, c2 = (
        store.item(url=u)
        for u in ("https://a.example/1", "https://b.example/7", "https://c.example/2")
    )
    assert a1 is not None and b1 is not None and c2 is not None
    assert a1.story == b1.story != c2.story
    assert len(a1.feeds) == 2  # stored once, carried by a and c
    etags = {f.url: f.etag for f in store.feeds()}
    assert etags == {
        "https://a.example/feed": '"1"',
        "https://b.example/feed": '"2"',
        "https://c.example/feed": '"3"',
    }
    assert store.claim_due_feeds(NOW, owner="x") == []  # leases released, next polls ahead


def test_changed_item_counts_only_when_a_topic_is_new_or_severity_rises(store: Store) -> None:
    store.sync_feeds([Spec("https://a.example/feed")], NOW)
    [a] = store.claim_due_feeds(NOW, owner="w")
    save_items(
        store,
        a.id,
        [item("k", "v1", url="https://a.example/s")],
        [],
        {"k": [match("norad", 3)]},
        NOW,
    )
    later = NOW + timedelta(hours=1)
    same = save_items(
        store,
        a.id,
        [],
        [item("k", "v2", url="https://a.example/s")],
        {"k": [match("norad", 4)]},
        later,
    )
    assert (same.changed_items, same.new_matches) == (1, 0)
    raised = save_items(
        store,
        a.id,
        [],
        [item("k", "v3", url="https://a.example/s")],
        {"k": [match("norad", 9, "alert"), match("tariffs", 3)]},
        later,
    )
    assert raised.new_matches == 2
    got = {m.topic: m for m in store.matches()}
    assert got["norad"].severity == "alert" and got["norad"].matched_at == later
    assert got["norad"].title == "v3"


def test_outbox_records_once_and_tracks_attempts(store: Store) -> None:
    store.sync_feeds([Spec("https://a.example/feed")], NOW)
    [a] = store.claim_due_feeds(NOW, owner="w")
    save_items(
        store,
        a.id,
        [item("k", "NORAD", url="https://a.example/s")],
        [],
        {"k": [match("norad")]},
        NOW,
    )
    found = store.undelivered_matches(
        "console", "digest", since=NOW - timedelta(days=1), until=NOW + timedelta(seconds=1)
    )
    assert len(found) == 1
    d = build_digest("console", found, window_start=NOW, window_end=NOW + timedelta(seconds=1))
    first = store.enqueue_delivery(d, digest_to_json(d), NOW)
    assert first is not None
    # the same window again, or the same match in another digest: nothing is recorded twice
    assert store.enqueue_delivery(d, digest_to_json(d), NOW) is None
    other = build_digest("console", found, window_start=NOW, window_end=NOW + timedelta(hours=1))
    assert store.enqueue_delivery(other, digest_to_json(other), NOW) is None
    assert (
        store.undelivered_matches(
            "console", "digest", since=NOW - timedelta(days=1), until=NOW + timedelta(hours=1)
        )
        == []
    )
    # another channel still gets it
    assert (
        len(
            store.undelivered_matches(
                "slack", "digest", since=NOW - timedelta(days=1), until=NOW + timedelta(hours=1)
            )
        )
        == 1
    )
    [claimed] = store.claim_deliveries(NOW)
    assert claimed.key == d.key and claimed.attempts == 0
    assert store.claim_deliveries(NOW) == []  # leased
    store.delivery_failed(
        claimed.id, "500 from receiver", next_attempt_at=NOW + timedelta(seconds=30)
    )
    [again] = store.claim_deliveries(NOW + timedelta(seconds=31))
    assert again.attempts == 1 and again.last_error == "500 from receiver"
    store.delivery_failed(again.id, "still failing", next_attempt_at=None)
    assert store.deliveries(status="dead")[0].match_count == 1
    assert store.retry_delivery(again.id, NOW)
    [third] = store.claim_deliveries(NOW + timedelta(minutes=5))
    store.delivery_sent(third.id, NOW)
    assert store.outbox_depth() == {"sent": 1}
    assert store.last_window_end("console") == NOW + timedelta(seconds=1)


def test_prune_removes_old_unmatched_items_only(store: Store) -> None:
    store.sync_feeds([Spec("https://a.example/feed")], NOW)
    [a] = store.claim_due_feeds(NOW, owner="w")
    save_items(
        store,
        a.id,
        [
            item("m", "matched", url="https://a.example/m"),
            item("u", "unmatched", url="https://a.example/u"),
        ],
        [],
        {"m": [match("norad")]},
        NOW,
    )
    assert (
        store.prune(unmatched_before=NOW - timedelta(days=1), bands_before=NOW - timedelta(days=1))
        == 0
    )
    assert (
        store.prune(unmatched_before=NOW + timedelta(days=1), bands_before=NOW + timedelta(days=1))
        == 1
    )
    counts = store.counts()
    assert counts["items"] == 1 and counts["matches"] == 1


def test_story_keys_keep_their_rows_through_migration_0002(store: Store) -> None:
    """0002 drops the foreign key of story_bands (every item deletion scanned the table)."""
    store.sync_feeds([Spec("https://a.example/feed", "A")], NOW)
    [a] = store.claim_due_feeds(NOW, owner="w")
    save_items(
        store,
        a.id,
        [item("a1", "NORAD plan", url="https://a.example/1", summary=WIRE)],
        [],
        {},
        NOW,
    )

    def bands() -> list[tuple[int, int]]:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT band, item_id FROM story_bands"))
            return sorted((int(band), int(item_id)) for band, item_id in rows)

    def referred() -> list[str]:
        return [
            fk["referred_table"] for fk in sa.inspect(store.engine).get_foreign_keys("story_bands")
        ]

    keys = bands()
    assert len(keys) >= 4 and referred() == []
    migrate(store, "0001")
    assert referred() == ["items"] and bands() == keys
    migrate(store, "head")
    assert referred() == [] and bands() == keys
    # without the constraint the store still deletes an item's keys with the item
    after = NOW + timedelta(days=1)
    assert store.prune(unmatched_before=after, bands_before=NOW - timedelta(days=1)) == 1
    assert bands() == []


def _wire_and_other(store: Store) -> FeedState:
    """Two feeds, a and b, each with one item stored: the wire story NORAD plan on a, an
    unrelated one on b; feed b, to store more."""
    store.sync_feeds([Spec(f"https://{n}.example/feed", n) for n in "ab"], NOW)
    a, b = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    save_items(
        store, a.id, [item("w", "NORAD plan", url="https://a.example/w", summary=WIRE)], [], {}, NOW
    )
    other = item("o", "Harbour works", url="https://b.example/o", summary="Dredging starts.")
    save_items(store, b.id, [other], [], {}, NOW)
    return b


def test_item_events_keep_their_rows_through_migration_0015(store: Store) -> None:
    """0015 makes item_events' key the table's row id on SQLite (one B-tree read an item's
    event, not two); the rows, and the index by event, stay through it both ways."""
    b = _wire_and_other(store)

    def rows() -> list[tuple[int, str, bytes]]:
        with store.engine.connect() as conn:
            found = conn.execute(sa.text("SELECT item_id, event, profile FROM item_events"))
            return sorted((int(i), e, bytes(p)) for i, e, p in found)

    def key_index() -> list[str]:  # SQLite's own index for a primary key that is not the row id
        if store.dialect != "sqlite":
            return []
        with store.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT name FROM sqlite_master WHERE tbl_name = 'item_events' "
                        "AND name LIKE 'sqlite_autoindex%'"
                    )
                ).scalars()
            )

    def indexes() -> list[str]:
        return [i["name"] or "" for i in sa.inspect(store.engine).get_indexes("item_events")]

    events = rows()
    assert len(events) == 2 and key_index() == [] and indexes() == ["ix_item_events_event"]
    migrate(store, "0014")
    assert rows() == events and indexes() == ["ix_item_events_event"]
    assert key_index() == (["sqlite_autoindex_item_events_1"] if store.dialect == "sqlite" else [])
    migrate(store, "head")
    assert rows() == events and key_index() == [] and indexes() == ["ix_item_events_event"]
    # a copy read against the migrated table joins the original's story and event
    later = Store(store.engine)
    copy = item("c", "Ottawa's NORAD plan", url="https://b.example/c", summary=f"OTTAWA — {WIRE}")
    save_items(later, b.id, [copy], [], {}, NOW + timedelta(hours=1))
    with store.engine.connect() as conn:
        joined = conn.execute(
            sa.text(
                "SELECT count(DISTINCT i.story), count(DISTINCT e.event) FROM items AS i "
                "JOIN item_events AS e ON e.item_id = i.id WHERE i.url IN (:w, :c)"
            ),
            {"w": "https://a.example/w", "c": "https://b.example/c"},
        ).one()
    assert tuple(joined) == (1, 1)


def test_story_keys_and_event_terms_keep_their_rows_through_migration_0016(store: Store) -> None:
    """0016 stores story_bands and event_terms in their primary key's B-tree alone on SQLite
    (``WITHOUT ROWID``); their rows stay through it both ways, and a copy stored after the
    round trip still finds its original through them."""
    b = _wire_and_other(store)

    def rows() -> dict[str, list[tuple[int, int]]]:
        with store.engine.connect() as conn:
            return {
                table: sorted(
                    (int(k), int(i))
                    for k, i in conn.execute(sa.text(f"SELECT {key}, item_id FROM {table}"))
                )
                for table, key in (("story_bands", "band"), ("event_terms", "term"))
            }

    def without_rowid() -> list[str]:
        if store.dialect != "sqlite":
            return []
        with store.engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            ).all()
        ours = {"story_bands", "event_terms"}  # (full-text search has tables of its own)
        return sorted(
            name for name, sql in found if name in ours and "WITHOUT ROWID" in sql.upper()
        )

    kept = rows()
    assert kept["story_bands"] and kept["event_terms"]
    tables = ["event_terms", "story_bands"] if store.dialect == "sqlite" else []
    assert without_rowid() == tables
    migrate(store, "0015")
    assert rows() == kept and without_rowid() == []
    migrate(store, "head")
    assert rows() == kept and without_rowid() == tables
    later = Store(store.engine)
    copy = item("c", "Ottawa's NORAD plan", url="https://b.example/c", summary=f"OTTAWA — {WIRE}")
    save_items(later, b.id, [copy], [], {}, NOW + timedelta(hours=1))
    with store.engine.connect() as conn:
        stories = conn.execute(
            sa.text("SELECT count(DISTINCT story) FROM items WHERE url IN (:w, :c)"),
            {"w": "https://a.example/w", "c": "https://b.example/c"},
        ).scalar_one()
    assert stories == 1


def test_migration_0004_keeps_a_random_installation_id_both_ways(store: Store) -> None:
    """0004 adds the meta table holding the installation id that idempotency keys include."""

    def tables() -> set[str]:
        return set(sa.inspect(store.engine).get_table_names())

    first = store.installation_id()
    assert re.fullmatch(r"[0-9a-f]{32}", first) and store.installation_id() == first
    store.sync_feeds([Spec("https://a.example/feed", "A")], NOW)
    migrate(store, "0003")
    with store.engine.connect() as conn:  # the columns of later revisions are not there yet
        feeds = conn.execute(sa.text("SELECT count(*) FROM feeds")).scalar_one()
    assert "meta" not in tables() and feeds == 1
    migrate(store, "head")
    again = store.installation_id()
    assert "meta" in tables() and re.fullmatch(r"[0-9a-f]{32}", again) and again != first
    # a lost row is made again, once
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM meta"))
    made = store.installation_id()
    assert made != again and store.installation_id() == made


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    from monitor.store.sql import SQLITE_WAL_LIMIT, SQLITE_WAL_PAGES

    store = Store.open(f"sqlite:///{tmp_path / 'wal.db'}")
    # every connection of the pool, not only the first
    with store.engine.connect() as conn, store.engine.connect() as other:
        for c in (conn, other):
            assert c.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert c.execute(sa.text("PRAGMA wal_autocheckpoint")).scalar() == SQLITE_WAL_PAGES
            assert c.execute(sa.text("PRAGMA journal_size_limit")).scalar() == SQLITE_WAL_LIMIT
    assert SQLITE_WAL_PAGES > 1000  # more than SQLite's default: see the constant
    store.close()


def test_unreachable_database_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        Store.open(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")


def test_only_one_worker_prunes_at_a_time_on_postgres(pg_store: Store) -> None:
    from monitor.store.reads import PRUNE_LOCK

    store = pg_store
    later = NOW + timedelta(days=1)
    with store.engine.connect() as other, other.begin():
        other.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PRUNE_LOCK})
        assert store.prune(unmatched_before=later, bands_before=later) is None
    assert store.prune(unmatched_before=later, bands_before=later) == 0


def test_two_processes_on_one_sqlite_file_never_claim_a_feed_twice(tmp_path: Path) -> None:
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'race.db'}"
    store = Store.open(url)
    store.sync_feeds([Spec(f"https://f{n}.example/feed") for n in range(200)], NOW)
    store.close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        claimed = pool.starmap(_claim_all, [(url, f"w{n}") for n in range(4)])
    flat = [u for batch in claimed for u in batch]
    assert len(flat) == len(set(flat)) == 200


def _claim_all(url: str, owner: str) -> list[str]:
    store = Store.open(url, upgrade=False)
    got: list[str] = []
    for _ in range(20):
        got += [f.url for f in store.claim_due_feeds(NOW, owner=owner, limit=10)]
    store.close()
    return got


def test_a_copy_is_found_behind_hundreds_of_newer_items_sharing_a_common_phrase(
    store: Store,
) -> None:
    """Real news repeats phrases: 300 newer unrelated items carry one that the original also
    carries. The copy still joins the original's story, and the fillers stay apart."""
    phrase = common_phrase_with_a_key()
    store.sync_feeds([Spec(f"https://{n}.example/feed", n) for n in "abc"], NOW)
    a, b, c = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    text = f"{WIRE} {phrase}."
    save_items(
        store, a.id, [item("w", "NORAD plan", url="https://a.example/w", summary=text)], [], {}, NOW
    )
    fillers = [
        item(f"f{n}", title, url=f"https://b.example/{n}", summary=summary)
        for n, (title, summary) in enumerate(filler(n, phrase) for n in range(300))
    ]
    for start in range(0, 300, 50):  # several polls, as a busy feed would bring them
        save_items(store, b.id, fillers[start : start + 50], [], {}, NOW + timedelta(minutes=start))
    copy = item("c", "Ottawa's NORAD plan", url="https://c.example/c", summary=f"OTTAWA — {text}")
    save_items(store, c.id, [copy], [], {}, NOW + timedelta(hours=6))
    original, copied = store.item(url="https://a.example/w"), store.item(url="https://c.example/c")
    assert original is not None and copied is not None
    assert copied.story == original.story
    stories = {store.item(url=f"https://b.example/{n}").story for n in range(300)}  # type: ignore[union-attr]
    assert len(stories) == 300 and original.story not in stories


def test_earlier_items_are_compared_by_their_stored_signature(store: Store) -> None:
    """A store that has not seen an item (a new process, an item past its memory cache) finds
    a copy of it from the signature stored with it, not by shingling its text again."""
    store.sync_feeds([Spec(f"https://{n}.example/feed", n) for n in "ab"], NOW)
    a, b = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    save_items(
        store, a.id, [item("w", "NORAD plan", url="https://a.example/w", summary=WIRE)], [], {}, NOW
    )
    with store.engine.begin() as conn:  # the text goes: only the stored signature is left
        conn.execute(sa.text("UPDATE items SET title = '', summary = ''"))
    later = Store(store.engine)  # nothing in memory
    copy = item("c", "Ottawa's NORAD plan", url="https://b.example/c", summary=f"OTTAWA — {WIRE}")
    save_items(later, b.id, [copy], [], {}, NOW + timedelta(hours=1))
    original, copied = later.item(url="https://a.example/w"), later.item(url="https://b.example/c")
    assert original is not None and copied is not None
    assert copied.story == original.story


def test_story_candidates_read_from_the_database_carry_story_signature_and_event(
    store: Store,
) -> None:
    """What a store that has not seen the items (a new process, items past its memory cache)
    reads back for story candidates: each item's story, stored signature and event, as the
    tables hold them; the text only for an item stored without a signature."""
    _wire_and_other(store)
    with store.engine.begin() as conn:
        stored = {
            r.id: r
            for r in conn.execute(
                sa.text(
                    "SELECT i.id, i.story, i.sketch, e.event FROM items AS i "
                    "JOIN item_events AS e ON e.item_id = i.id"
                )
            )
        }
        unsigned = max(stored)
        conn.execute(sa.text("UPDATE items SET sketch = NULL WHERE id = :i"), {"i": unsigned})
    assert len(stored) == 2 and all(r.story and r.sketch and r.event for r in stored.values())
    later = Store(store.engine)  # nothing in memory
    found = later.story_candidates({*stored, 10_000})
    assert sorted(found) == sorted(stored)
    for item_id, row in stored.items():
        got = found[item_id]
        assert (got.item_id, got.story, got.event) == (item_id, row.story, row.event)
        if item_id == unsigned:
            assert got.sketch is None and got.title == "Harbour works"
            assert got.summary == "Dredging starts."
        else:
            assert got.sketch == bytes(row.sketch)
    # the signed item is now in memory: the same answer without the database
    with later.engine.begin() as conn:
        conn.execute(sa.text("UPDATE items SET story = 'changed'"))
    signed = min(stored)
    assert later.story_candidates({signed})[signed].story == stored[signed].story


def test_an_amended_item_is_compared_by_its_new_text(store: Store) -> None:
    store.sync_feeds([Spec(f"https://{n}.example/feed", n) for n in "ab"], NOW)
    a, b = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    first = item("w", "Budget", url="https://a.example/w", summary="A council budget note.")
    save_items(store, a.id, [first], [], {}, NOW)
    amended = item("w", "NORAD plan", url="https://a.example/w", summary=WIRE, h="changed")
    save_items(store, a.id, [], [amended], {}, NOW + timedelta(minutes=5))
    later = Store(store.engine)
    copy = item("c", "Ottawa's NORAD plan", url="https://b.example/c", summary=f"OTTAWA — {WIRE}")
    save_items(later, b.id, [copy], [], {}, NOW + timedelta(hours=1))
    original, copied = later.item(url="https://a.example/w"), later.item(url="https://b.example/c")
    assert original is not None and copied is not None
    assert copied.story == original.story


def test_items_stored_before_migration_0005_are_compared_by_their_text(store: Store) -> None:
    store.sync_feeds([Spec(f"https://{n}.example/feed", n) for n in "ab"], NOW)
    a, b = sorted(store.claim_due_feeds(NOW, owner="w"), key=lambda f: f.url)
    migrate(store, "0004")
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("items")}
    assert "sketch" not in columns
    with store.engine.begin() as conn:  # an item as an older version stored it
        conn.execute(
            sa.text(
                "INSERT INTO items (url, title, summary, content_hash, fingerprint, story) "
                "VALUES ('https://a.example/w', 'NORAD plan', :s, 'h', 1, 'old-story')"
            ),
            {"s": WIRE},
        )
        item_id = conn.execute(sa.text("SELECT id FROM items")).scalar()
        conn.execute(
            sa.text("UPDATE items SET first_seen_at = :t"), {"t": NOW.replace(tzinfo=None)}
        )
        for key in set(stories_signature("NORAD plan", WIRE).keys):
            conn.execute(
                sa.text("INSERT INTO story_bands (band, item_id) VALUES (:k, :i)"),
                {"k": key, "i": item_id},
            )
    migrate(store, "head")
    later = Store(store.engine)
    copy = item("c", "Ottawa's NORAD plan", url="https://b.example/c", summary=f"OTTAWA — {WIRE}")
    save_items(later, b.id, [copy], [], {}, NOW + timedelta(hours=1))
    copied = later.item(url="https://b.example/c")
    assert copied is not None and copied.story == "old-story"


def test_a_changed_guid_or_an_edited_title_stays_one_item_and_keeps_the_old_title(
    store: Store,
) -> None:
    store.sync_feeds([Spec("https://a.example/feed", "A")], NOW)
    [a] = store.claim_due_feeds(NOW, owner="w")
    url = "https://a.example/norad"

    def poll(key: str, title: str, when: datetime) -> None:
        polled = Poll(a.id, when, [item(key, title, url=url)])
        write_polls(store, [polled], Rules(matcher=Matcher()), random.Random(0))

    poll("guid-1", "NORAD plan announced", NOW)
    poll("guid-2", "NORAD plan announced", NOW + timedelta(minutes=10))  # guid changed only
    assert store.counts()["items"] == 1
    poll("guid-3", "NORAD plan announced in Ottawa", NOW + timedelta(minutes=20))  # and edited
    poll("guid-3", "NORAD plan announced in Ottawa", NOW + timedelta(minutes=30))
    assert store.counts()["items"] == 1 and store.counts()["feed_items"] == 1
    [listed] = store.items()
    assert (listed.title, listed.previous_title) == (
        "NORAD plan announced in Ottawa",
        "NORAD plan announced",
    )
    [record] = store.matches()
    assert record.previous_title == "NORAD plan announced"
