"""The signals' storage on both engines (SQLite always, PostgreSQL when configured): a key
recorded once, each subject's last signal, a signal in a channel's messages once, and the
inputs the decisions read (outlets of a story, match times, feeds' health, amendments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from monitor.digest import build_digest, build_signal_message, digest_to_json
from monitor.ingest import save_items
from monitor.model import Item, Reason, Signal, TopicMatch
from monitor.store import Store

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)

TEXT = (
    "Ottawa announced counter-tariffs of 25 per cent on a list of American goods worth "
    "billions of dollars on Tuesday, answering the steel and aluminium tariffs that "
    "Washington imposed last week, the finance minister told reporters in the capital."
)


def signal(kind: str, subject: str, key: str, at: datetime, **details: object) -> Signal:
    return Signal(kind, key, subject, f"{kind} {subject}", at, ("tariffs",), False, dict(details))  # type: ignore[arg-type]


def tariffs(score: float = 4.0, severity: str = "digest") -> TopicMatch:
    return TopicMatch("tariffs", score, severity, (Reason("tariffs", "title", 0, 2.0, "g"),))  # type: ignore[arg-type]


def test_a_signal_is_recorded_once_and_reaches_a_channel_once(store: Store) -> None:
    first = store.signals.record(signal("source.health", "f1", "k1", NOW, state="failing"))
    assert first is not None and first.id > 0
    assert store.signals.record(signal("source.health", "f1", "k1", NOW + H)) is None
    later = store.signals.record(signal("source.health", "f1", "k2", NOW + H, state="ok"))
    assert later is not None
    last = store.signals.last_by_subject("source.health")
    assert last["f1"].details["state"] == "ok"
    assert [s.key for s in store.signals.fired(since=NOW)] == ["k1", "k2"]
    assert store.signals.counts(NOW) == {"source.health": 2}

    own = store.signals.undelivered("hook", since=NOW - H, kinds=["source.health"], in_digest=False)
    assert [s.key for s in own] == ["k1", "k2"]
    message = build_signal_message("hook", own[0], now=NOW + H)
    assert store.enqueue_delivery(message, digest_to_json(message), NOW + H) is not None
    # the same message again (another worker): not recorded twice
    assert store.enqueue_delivery(message, digest_to_json(message), NOW + H) is None
    left = store.signals.undelivered(
        "hook", since=NOW - H, kinds=["source.health"], in_digest=False
    )
    assert [s.key for s in left] == ["k2"]
    # a digest's foot is counted apart from the own messages
    foot = store.signals.undelivered("hook", since=NOW - H, kinds=["source.health"], in_digest=True)
    digest = build_digest("hook", [], window_start=None, window_end=NOW + 2 * H, signals=foot)
    assert store.enqueue_delivery(digest, digest_to_json(digest), NOW + 2 * H) is not None
    assert (
        store.signals.undelivered("hook", since=NOW - H, kinds=["source.health"], in_digest=True)
        == []
    )


def test_the_inputs_of_the_decisions(store: Store) -> None:
    feeds = [
        store.ensure_feed(f"https://o{i}.example.org/feed", NOW, name=f"O{i}") for i in range(3)
    ]
    for i, feed in enumerate(feeds):
        item = Item(
            key=f"k{i}",
            feed_url=feed.url,
            title="Canada answers U.S. steel tariffs with counter-tariffs",
            summary=TEXT,
            url=f"https://o{i}.example.org/tariffs",
            published=NOW + i * H - H,
            lang="en",
            content_hash=f"h{i}",
        )
        save_items(store, feed.id, [item], [], {item.key: [tariffs()]}, NOW + i * H)
    (story,) = store.signals.story_outlets(NOW - H)
    assert story.topics == ("tariffs",)
    assert sorted(o.name for o in story.outlets) == ["O0", "O1", "O2"]
    assert min(o.seen_at for o in story.outlets) == NOW - H  # published before it was seen

    times = store.signals.match_times(NOW - H, NOW + 3 * H)
    assert sorted(times["tariffs"]) == [NOW, NOW + H, NOW + 2 * H]
    assert store.signals.first_matches() == {"tariffs": NOW}
    (top,) = store.signals.top_stories("tariffs", NOW - H)
    assert top["outlets"] == 3

    # amended: its title changed and its match rose to an alert
    item = Item(
        key="k0",
        feed_url=feeds[0].url,
        title="Canada answers U.S. steel tariffs: retaliation list published",
        summary=TEXT,
        url="https://o0.example.org/tariffs",
        published=NOW - H,
        lang="en",
        content_hash="h0-amended",
    )
    save_items(store, feeds[0].id, [], [item], {"k0": [tariffs(9.0, "alert")]}, NOW + 5 * H)
    (amended,) = store.signals.pending_amendments()
    assert (dict(amended.before), dict(amended.after)) == (
        {"tariffs": "digest"},
        {"tariffs": "alert"},
    )
    assert amended.previous_title == "Canada answers U.S. steel tariffs with counter-tariffs"
    store.signals.amendments_decided([amended.id])
    assert store.signals.pending_amendments() == []

    def amendments() -> int:
        with store.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM amendments")).scalar_one())

    # the daemon's prune job forgets decided amendments past the story window, not before
    store.prune(unmatched_before=NOW - H, bands_before=NOW + 5 * H)
    assert amendments() == 1
    store.prune(unmatched_before=NOW - H, bands_before=NOW + 6 * H)
    assert amendments() == 0


def test_feed_health_reads_each_feeds_last_items(store: Store) -> None:
    from monitor.config import FeedSpec

    store.sync_feeds([FeedSpec(url="https://press.example.org/feed", name="Press")], NOW)
    (feed,) = store.feeds()
    items = [
        Item(
            key=f"p{i}",
            feed_url=feed.url,
            title=f"Press release {i}",
            summary="",
            url=f"https://press.example.org/{i}",
            published=NOW - (30 - i) * H,
            lang="en",
            content_hash=f"p{i}",
        )
        for i in range(30)
    ]
    save_items(store, feed.id, items, [], {}, NOW)
    (health,) = store.signals.feed_health()
    assert health.name == "Press" and health.consecutive_failures == 0
    assert len(health.item_times) == 21  # the last items only
    assert not health.polled  # never polled successfully yet
