"""Judgements stored on a real SQLite file and on PostgreSQL (when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from monitor.feedback import labelled_rows, topic_feedback
from monitor.ingest import save_items
from monitor.model import Item, Reason, TopicMatch
from monitor.store import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Spec:
    def __init__(self, url: str) -> None:
        self.url, self.name, self.lang, self.interval = url, "Feed", "en", None


def _stored(store: Store, matched: dict[str, list[str]], texts: dict[str, str]) -> dict[str, int]:
    """Store one item per key of ``texts`` (title) with matches for the topics in
    ``matched``; return each key's item id."""
    store.sync_feeds([Spec("https://a.example/feed")], NOW)
    [feed] = store.claim_due_feeds(NOW, owner="t")
    items = [
        Item(
            key=key,
            feed_url=feed.url,
            title=title,
            summary=f"summary of {key}",
            url=f"https://news.example/{key}",
            lang="en",
            published=NOW - timedelta(hours=1),
            content_hash=f"h-{key}",
        )
        for key, title in texts.items()
    ]
    scored = {
        key: [
            TopicMatch(t, 5.0, "digest", (Reason("x", "title", 0, 5.0, "group:x"),))  # type: ignore[arg-type]
            for t in topics
        ]
        for key, topics in matched.items()
    }
    save_items(store, feed.id, items, [], scored, NOW)
    return {i.title: i.id for i in store.items()}


def test_the_last_judgement_stands_and_the_history_is_kept(store: Store) -> None:
    ids = _stored(store, {"a": ["norad"]}, {"a": "NORAD Santa tracker", "b": "Radar upgrade"})
    a, b = ids["NORAD Santa tracker"], ids["Radar upgrade"]
    fb = store.feedback
    first = fb.record(a, "norad", "relevant", now=NOW, user="ana")
    assert first is not None and first.matched and first.kind == "match"
    fb.record(a, "norad", "not_relevant", now=NOW + timedelta(minutes=1), user="ana")
    miss = fb.record(b, "norad", "relevant", now=NOW + timedelta(minutes=2))
    assert miss is not None and not miss.matched and miss.kind == "miss"
    assert miss.title == "Radar upgrade" and miss.lang == "en"

    standing = fb.standing()
    assert [(j.item_id, j.verdict) for j in standing] == [(b, "relevant"), (a, "not_relevant")]
    assert standing[1].kind == "false positive" and standing[1].user == "ana"
    assert standing[1].created_at == NOW + timedelta(minutes=1)
    assert [j.verdict for j in fb.history(item_ids=[a])] == ["not_relevant", "relevant"]
    [norad] = topic_feedback(fb.standing()).values()
    assert (norad.right, norad.false_positives, norad.misses) == (0, 1, 1)
    assert (norad.precision, norad.recall) == (0.0, 0.0)
    assert fb.standing(topic="tariffs") == []

    rows = labelled_rows(fb.history())
    assert [(r["id"], r["labels"]) for r in rows] == [
        (str(a), {"norad": 0}),
        (str(b), {"norad": 2}),
    ]


def test_an_unknown_item_records_nothing(store: Store) -> None:
    _stored(store, {}, {"a": "Anything"})
    assert store.feedback.record(999_999, "norad", "relevant", now=NOW) is None
    assert store.feedback.history() == []


def test_a_bad_verdict_is_refused(store: Store) -> None:
    ids = _stored(store, {}, {"a": "Anything"})
    with pytest.raises(ValueError, match="verdict must be one of relevant, not_relevant"):
        store.feedback.record(ids["Anything"], "norad", "maybe", now=NOW)


def test_a_link_records_once(store: Store) -> None:
    ids = _stored(store, {"a": ["norad"]}, {"a": "NORAD Santa tracker"})
    a = ids["NORAD Santa tracker"]
    fb = store.feedback
    made, new = fb.record_link("tok-1", a, "norad", "not_relevant", now=NOW)
    assert new and made is not None and made.via == "link"
    fb.record(a, "norad", "relevant", now=NOW + timedelta(minutes=5), via="web")
    again, new = fb.record_link("tok-1", a, "norad", "not_relevant", now=NOW + timedelta(hours=1))
    assert not new and again == made
    assert [j.verdict for j in fb.standing()] == ["relevant"]
    assert len(fb.history()) == 2


def test_a_judged_item_and_its_judgement_outlive_pruning(store: Store) -> None:
    ids = _stored(store, {}, {"a": "Arctic radar contract", "b": "Unjudged housing story"})
    a = ids["Arctic radar contract"]
    store.feedback.record(a, "arctic_security", "relevant", now=NOW)
    removed = store.prune(unmatched_before=NOW + timedelta(days=1), bands_before=NOW)
    assert removed in (1, None)  # None: another worker holds the pruning lock
    with store.engine.connect() as conn:
        left = conn.execute(sa.text("SELECT title FROM items")).scalars().all()
    # the judged item (a miss, unmatched) stays where the Items page finds it; the other goes
    assert left == ["Arctic radar contract"]
    [row] = labelled_rows(store.feedback.standing())
    assert row["title"] == "Arctic radar contract" and row["labels"] == {"arctic_security": 2}
