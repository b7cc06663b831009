"""The articles table (``Store.articles``) on SQLite, and on PostgreSQL when configured:
candidates, decisions written once, leases, outcomes, re-scoring in the same transaction,
amended items queued again, and pruning with the items."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from monitor.ingest import save_items
from monitor.intents import MatchWrites
from monitor.model import ArticleOutcome, ItemText, Reason, TopicMatch
from monitor.plan import match_writes
from monitor.store import Store
from tests.test_store import NOW, Spec, item


def _stored(store: Store) -> list[int]:
    store.sync_feeds([Spec("https://a.example/feed", "A")], NOW)
    [feed] = store.claim_due_feeds(NOW, owner="w")
    save_items(
        store,
        feed.id,
        [
            item("1", "Budget day", url="https://a.example/1", summary="One line."),
            item("2", "Roads", url="https://a.example/2", summary="Crews."),
            item("3", "No link", summary="Nothing to fetch."),
        ],
        [],
        {},
        NOW,
    )
    found = [store.item(url=f"https://a.example/{n}") for n in (1, 2)]
    return [i.id for i in found if i is not None]


def test_candidates_are_offered_once_and_claims_are_leased(store: Store) -> None:
    first, second = _stored(store)
    offered = store.articles.candidates(NOW - timedelta(days=1))
    assert [(c.item_id, c.url, c.feed_urls) for c in offered] == [
        (first, "https://a.example/1", ("https://a.example/feed",)),
        (second, "https://a.example/2", ("https://a.example/feed",)),
    ]
    rows = [
        (first, "https://a.example/1", "pending", "short"),
        (second, "https://a.example/2", "skipped", "long"),
    ]
    assert store.articles.enqueue(rows, NOW) == 2
    assert store.articles.enqueue(rows, NOW) == 0  # another worker's decision stands
    assert store.articles.candidates(NOW - timedelta(days=1)) == []

    [job] = store.articles.claim(NOW, lease_s=60, limit=10)
    assert (job.item_id, job.attempts) == (first, 1)
    assert store.articles.claim(NOW, lease_s=60, limit=10) == []  # leased
    [again] = store.articles.claim(NOW + timedelta(seconds=61), lease_s=60, limit=10)
    assert again.attempts == 2  # the lease ran out: another worker takes it


def test_an_outcome_is_stored_and_the_item_scored_again_in_one_go(store: Store) -> None:
    first, _ = _stored(store)
    store.articles.enqueue([(first, "https://a.example/1", "pending", "short")], NOW)
    [job] = store.articles.claim(NOW, lease_s=60, limit=10)

    retry_at = NOW + timedelta(minutes=10)
    failed = ArticleOutcome(
        "error", error_kind="timeout", error="timed out", next_attempt_at=retry_at
    )
    assert store.articles.record(job.item_id, failed, NOW) == []
    state = store.articles.state(first)
    assert state is not None and (state.status, state.error_kind) == ("pending", "timeout")
    assert store.articles.claim(NOW, lease_s=60, limit=10) == []  # not before its retry time
    [job] = store.articles.claim(retry_at, lease_s=60, limit=10)

    seen: list[ItemText] = []

    def score(text: ItemText, before: Mapping[str, str]) -> MatchWrites:
        seen.append(text)
        reason = Reason("NORAD", "body", 4, 1.0, "group norad")
        return match_writes(before, [TopicMatch("norad", 2.0, "digest", (reason,))])

    ok = ArticleOutcome("ok", text="The NORAD upgrade.", etag='"v1"', http_status=200)
    assert store.articles.record(job.item_id, ok, retry_at, score) == ["norad"]
    [text] = seen
    assert (text.title, text.summary, text.body) == (
        "Budget day",
        "One line.",
        "The NORAD upgrade.",
    )
    assert text.backlog  # brought by the feed's first poll
    [m] = store.matches(limit=None)
    assert m.topic == "norad" and m.reasons[0].field == "body"
    assert store.articles.counts() == {"ok": 1}

    # an amended item has its article queued again, with the validators of the last answer
    save_items(
        store,
        store.feeds()[0].id,
        [],
        [item("1", "Budget day (updated)", url="https://a.example/1", summary="One line.")],
        {},
        retry_at + timedelta(hours=1),
    )
    assert store.articles.requeue_amended(NOW, retry_at + timedelta(hours=1)) == 1
    [job] = store.articles.claim(retry_at + timedelta(hours=1), lease_s=60, limit=10)
    assert job.etag == '"v1"'


def test_articles_are_pruned_with_their_items(store: Store) -> None:
    first, second = _stored(store)
    store.articles.enqueue(
        [
            (first, "https://a.example/1", "pending", None),
            (second, "https://a.example/2", "skipped", None),
        ],
        NOW,
    )
    removed = store.prune(
        unmatched_before=NOW + timedelta(days=1), bands_before=NOW + timedelta(days=1)
    )
    assert removed == 3
    assert store.articles.counts() == {}
