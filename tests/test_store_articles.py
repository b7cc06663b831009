"""The articles table (``Store.articles``) on SQLite, and on PostgreSQL when configured:
candidates, decisions written once, leases, outcomes, re-scoring in the same transaction,
amended items queued again, and pruning with the items."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import event

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


def _queued(store: Store, n: int) -> list[int]:
    """``n`` stored items with a link, each with its article pending."""
    store.sync_feeds([Spec("https://b.example/feed", "B")], NOW)
    [feed] = store.claim_due_feeds(NOW, owner="w")
    items = [
        item(str(k), f"Story {k}", url=f"https://b.example/{k}", summary="One line.")
        for k in range(n)
    ]
    save_items(store, feed.id, items, [], {}, NOW)
    ids = [found.id for k in range(n) if (found := store.item(url=f"https://b.example/{k}"))]
    store.articles.enqueue(
        [(i, f"https://b.example/{k}", "pending", "short") for k, i in enumerate(ids)], NOW
    )
    return ids


def _norad(text: ItemText, before: Mapping[str, str]) -> MatchWrites:
    if "NORAD" not in text.body:
        return match_writes(before, [])
    reason = Reason("NORAD", "body", 4, 1.0, "group norad")
    return match_writes(before, [TopicMatch("norad", 2.0, "digest", (reason,))])


def test_a_rounds_outcomes_are_recorded_in_one_transaction(store: Store) -> None:
    ids = _queued(store, 5)
    jobs = store.articles.claim(NOW, lease_s=60, limit=10)
    assert [j.item_id for j in jobs] == ids and {j.attempts for j in jobs} == {1}

    retry_at = NOW + timedelta(minutes=10)
    outcomes = [
        ArticleOutcome(
            "error",
            error_kind="robots_unreachable",
            error="robots.txt could not be read",
            next_attempt_at=retry_at,
        ),
        ArticleOutcome("error", error_kind="robots", error="disallowed"),
        ArticleOutcome("ok", text="The NORAD upgrade.", etag='"v1"', http_status=200),
        ArticleOutcome("error", http_status=404, error_kind="not_found", error="HTTP 404"),
        ArticleOutcome("ok", text="Nothing on topic.", http_status=200),
    ]
    commits: list[object] = []

    def committed(conn: object) -> None:
        commits.append(conn)

    event.listen(store.engine, "commit", committed)
    try:
        topics = store.articles.record_many(list(zip(ids, outcomes, strict=True)), NOW, _norad)
    finally:
        event.remove(store.engine, "commit", committed)
    assert len(commits) == 1
    assert topics == [[], [], ["norad"], [], []]

    states = [store.articles.state(i) for i in ids]
    assert [(s.status, s.error_kind) for s in states if s] == [
        ("pending", "robots_unreachable"),
        ("error", "robots"),
        ("ok", None),
        ("error", "not_found"),
        ("ok", None),
    ]
    assert states[2] is not None and states[2].text == "The NORAD upgrade."
    [m] = store.matches(limit=None)
    assert m.item_id == ids[2] and m.topic == "norad"
    assert store.articles.counts() == {"pending": 1, "error": 2, "ok": 2}
    # the leases are over: only the one to try again comes back, at its time
    assert store.articles.claim(NOW, lease_s=60, limit=10) == []
    [again] = store.articles.claim(retry_at, lease_s=60, limit=10)
    assert (again.item_id, again.attempts) == (ids[0], 2)


def test_workers_claiming_at_once_never_take_one_article_twice(store: Store) -> None:
    ids = _queued(store, 30)
    barrier = threading.Barrier(3)

    def claim() -> list[int]:
        barrier.wait()
        return [j.item_id for j in store.articles.claim(NOW, lease_s=60, limit=12)]

    with ThreadPoolExecutor(3) as pool:
        claimed = list(pool.map(lambda _: claim(), range(3)))
    taken = [i for mine in claimed for i in mine]
    assert len(taken) == len(set(taken))  # no article leased by two workers
    rest = [j.item_id for j in store.articles.claim(NOW, lease_s=60, limit=100)]
    assert sorted(taken + rest) == ids  # and every due one is taken by someone
    assert store.articles.claim(NOW, lease_s=60, limit=100) == []


def test_items_of_a_feeds_first_poll_can_be_left_out(store: Store) -> None:
    first, second = _stored(store)  # the first poll of feed A
    later = NOW + timedelta(hours=1)
    a = store.feeds()[0].id
    save_items(
        store, a, [item("4", "Ferry", url="https://a.example/4", summary="Late.")], [], {}, later
    )
    fourth = store.item(url="https://a.example/4")
    assert fourth is not None
    since = NOW - timedelta(days=1)

    assert [c.item_id for c in store.articles.candidates(since)] == [first, second, fourth.id]
    assert [c.item_id for c in store.articles.candidates(since, backlog=False)] == [fourth.id]
    assert store.articles.backlog_waiting(since) == 2

    # feed B, added later, brings its own backlog, then the second item with a later poll:
    # that item is news to B, so it is no longer a backlog item
    store.sync_feeds([Spec("https://a.example/feed"), Spec("https://b.example/feed", "B")], later)
    b = next(f.id for f in store.feeds() if f.url == "https://b.example/feed")
    save_items(store, b, [item("b1", "Old news", url="https://b.example/1")], [], {}, later)
    again = [item("2", "Roads", url="https://a.example/2", summary="Crews.")]
    save_items(store, b, again, [], {}, later + timedelta(hours=1))
    left = [c.item_id for c in store.articles.candidates(since, backlog=False)]
    assert left == [second, fourth.id]
    assert store.articles.backlog_waiting(since) == 2  # the first item and B's own
