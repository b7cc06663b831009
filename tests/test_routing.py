"""Tests for monitor.routing: the rule of which matches a channel takes, and the store's SQL
selection agreeing with it (on a SQLite file, and on PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.ingest import save_items
from monitor.model import Item, MatchRecord, Reason, TopicMatch
from monitor.routing import Route
from monitor.store import Store

T0 = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)


def rec(id: int, topic: str, score: float, severity: str = "digest") -> MatchRecord:
    return MatchRecord(
        id=id,
        item_id=1000 + id,
        feed_url="https://feeds.example/cbc.xml",
        feed_name="CBC",
        url=f"https://news.example/{id}",
        title=f"Story {id}",
        summary="",
        published=None,
        topic=topic,
        score=score,
        severity=severity,
        reasons=(),
        matched_at=T0,
    )


POOL = [
    rec(1, "norad", 2.0),
    rec(2, "norad", 5.0, "alert"),
    rec(3, "tariffs", 5.0),
    rec(4, "five_eyes", 9.0, "alert"),
    rec(5, "tariffs", 4.999),
    rec(6, "norad", 7.0, "unknown"),
]

CASES: list[tuple[str, Route, list[int]]] = [
    ("everything", Route(), [1, 2, 3, 4, 5, 6]),
    ("one topic", Route.of(topics=["norad"]), [1, 2, 6]),
    ("two topics", Route.of(topics=("tariffs", "five_eyes")), [3, 4, 5]),
    ("no topics at all", Route.of(topics=[]), []),
    ("unknown topic", Route.of(topics=["arctic_security"]), []),
    ("minimum score is inclusive", Route.of(min_score=5.0), [2, 3, 4, 6]),
    ("minimum above everything", Route.of(min_score=9.5), []),
    (
        "from digest up: an unknown severity is not taken",
        Route.of(min_severity="digest"),
        [1, 2, 3, 4, 5],
    ),
    ("alerts only", Route.of(min_severity="alert"), [2, 4]),
    ("a digest route narrowed to alerts", Route.of(min_severity="digest").only("alert"), [2, 4]),
    ("an alert route narrowed to digests", Route.of(min_severity="alert").only("digest"), []),
    ("any severity narrowed to alerts", Route().only("alert"), [2, 4]),
    (
        "all filters",
        Route.of(topics=["norad", "tariffs"], min_score=3, min_severity="digest"),
        [2, 3, 5],
    ),
    (
        "all filters, alerts",
        Route.of(topics=["norad", "five_eyes"], min_score=5, min_severity="alert"),
        [2, 4],
    ),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("why", "route", "expected"), CASES, ids=IDS)
def test_route_selects(why: str, route: Route, expected: list[int]) -> None:
    assert [m.id for m in route.select(POOL)] == expected
    assert [m.id for m in POOL if route.takes(m)] == expected


def test_select_keeps_order_and_accepts_a_generator() -> None:
    assert [m.id for m in Route().select(m for m in reversed(POOL) if m.id > 3)] == [6, 5, 4]


# --- the store's selection is the same rule -----------------------------------------------------


class _Feed:
    def __init__(self, url: str) -> None:
        self.url, self.name, self.lang, self.interval = url, None, "en", None


def _stored(store: Store) -> list[MatchRecord]:
    """The pool's matches stored, one item each (distinct titles: no two join a story)."""
    store.sync_feeds([_Feed("https://a.example/feed")], T0)
    [feed] = store.claim_due_feeds(T0, owner="t")
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    items, scored = [], {}
    for m, word in zip(POOL, words, strict=True):
        key = f"k{m.id}"
        items.append(
            Item(
                key=key,
                feed_url="x",
                title=f"{word} {word} report number {m.id}",
                summary="",
                url=f"https://a.example/{word}",
                published=T0 - timedelta(hours=1),
                content_hash=f"h{m.id}",
            )
        )
        reason = Reason("NORAD", "title", 0, m.score, "group:norad")  # type: ignore[arg-type]
        scored[key] = [TopicMatch(m.topic, m.score, m.severity, (reason,))]  # type: ignore[arg-type]
    save_items(store, feed.id, items, [], scored, T0)
    return store.matches()


@pytest.mark.parametrize(("why", "route", "expected"), CASES, ids=IDS)
def test_the_store_selects_what_the_rule_takes(
    store: Store, why: str, route: Route, expected: list[int]
) -> None:
    everything = _stored(store)
    assert len(everything) == len(POOL)
    since, until = T0 - timedelta(days=1), T0 + timedelta(days=1)
    by_sql = store.undelivered_matches("c", "digest", since=since, until=until, route=route)
    in_memory = route.select(store.undelivered_matches("c", "digest", since=since, until=until))
    assert {m.id for m in by_sql} == {m.id for m in in_memory}
    # and both are the pool's expected matches (stored ids differ from the pool's)
    assert sorted(m.title.split()[-1] for m in by_sql) == sorted(str(i) for i in expected)
