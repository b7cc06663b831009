"""Poll cycles through the real pipeline against the project's feed server, fault by fault.

Each test runs :class:`monitor.pipeline.Pipeline` with a real :class:`~monitor.fetch.Fetcher`
(small timeouts and caps) against ``tests.feedserver`` on 127.0.0.1, a SQLite file store, and
the matcher compiled from the small test watchlist. Two healthy feeds (RSS and Atom) are polled
in the same cycle as the faulty one. The tests check what a fault leaves in the store (error
kind, failure count, disabled reason, a moved URL, when the next poll is) and that the healthy
feeds' items were all stored and matched. The pipeline's clock is a settable one; the fetcher's
timeouts are real.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from monitor.cadence import CadencePolicy, backoff_s
from monitor.config import FeedSpec, load_config
from monitor.fetch import Fetcher
from monitor.model import FeedState
from monitor.parse_pool import ParsePool
from monitor.pipeline import CycleReport, Pipeline, PollReport
from monitor.poller import run_cycle
from monitor.score.engine import compile_topics
from monitor.store import Store
from monitor.urls import canonical_url
from tests.feedserver import FeedServer, SampleItem, atom_feed, rss_feed
from tests.support import write_config

T = TypeVar("T")

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
POLICY = CadencePolicy(
    interval_s=900.0,
    jitter=0.1,
    backoff_base_s=120.0,
    slow_backoff_base_s=3600.0,
    max_backoff_s=6 * 3600.0,
    max_retry_after_s=6 * 3600.0,
)
TIMEOUT_S = 1.5  # long enough for a healthy feed on a loaded machine
DEADLINE_S = 3.0
MAX_BYTES = 200_000
MAX_INFLATED = 1_000_000

# healthy items and the topics of the test watchlist each must match
RSS_ITEMS = {
    SampleItem(
        "Ottawa opens talks on NORAD modernization funding",
        link="https://capital.example.org/norad-talks?utm_source=rss",
        summary="Canada and the United States began a review of NORAD and its radars.",
        published=datetime(2026, 1, 4, 9, tzinfo=UTC),
    ): {"norad"},
    SampleItem(
        "Canada answers U.S. steel tariffs with counter-tariffs",
        link="https://capital.example.org/tariffs",
        summary="Ottawa announced counter-tariffs on American goods.",
        published=datetime(2026, 1, 4, 10, tzinfo=UTC),
    ): {"tariffs"},
    SampleItem(
        "City council approves a new budget for road repairs",
        link="https://capital.example.org/roads",
        summary="Crews will start in the spring.",
        published=datetime(2026, 1, 4, 11, tzinfo=UTC),
    ): set(),
}
ATOM_ITEMS = {
    SampleItem(
        "NORAD tracks Santa again this Christmas Eve",
        link="https://wire.example.org/santa",
        summary="Volunteers answer calls from children about Santa.",
        published=datetime(2026, 1, 3, 8, tzinfo=UTC),
    ): set(),
    SampleItem(
        "Les droits de douane sur l'acier canadien inquiètent Ottawa",
        link="https://wire.example.org/douane",
        summary="Le Canada prépare une riposte.",
        published=datetime(2026, 1, 3, 9, tzinfo=UTC),
    ): {"tariffs"},
}


class Clock:
    """The pipeline's clock: it stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class CountingParsePool(ParsePool):
    """A parse pool that counts the bodies it is given, to see what gets parsed."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.runs = 0

    async def run(self, fn: Callable[..., T], *args: object, size: int = 0) -> T:
        self.runs += 1
        return await super().run(fn, *args, size=size)


@dataclass(frozen=True)
class Healthy:
    url: str
    path: str
    items: dict[SampleItem, set[str]]


@dataclass
class Rig:
    """One test's store and pipeline, with two healthy feeds registered."""

    server: FeedServer
    store: Store
    fetcher: Fetcher
    pipeline: Pipeline
    parse_pool: CountingParsePool
    clock: Clock
    prefix: str
    healthy: list[Healthy]
    urls: list[str] = field(default_factory=list)

    def path(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def register(self, *urls: str) -> None:
        """Configure feeds by URL; each is named ``feed N`` in the order registered."""
        new = [u for u in urls if u not in self.urls]
        if not new:
            return
        self.urls.extend(new)
        specs = [FeedSpec(url=f.url, name=f.name) for f in self.store.feeds()]
        specs += [FeedSpec(url=u, name=self.name_of(u)) for u in new]
        self.store.sync_feeds(specs, self.clock())

    async def poll(self, *urls: str, due_only: bool = False) -> CycleReport:
        """Register ``urls``, then poll every feed now (or only the due ones)."""
        self.register(*urls)
        every = [f.url for f in self.store.feeds()]
        return await run_cycle(self.pipeline, urls=None if due_only else every)

    def name_of(self, url: str) -> str:
        return f"feed {self.urls.index(url)}"

    def state(self, url: str) -> FeedState:
        """A feed's stored state, found by the URL it was registered with."""
        [found] = [f for f in self.store.feeds() if f.name == self.name_of(url)]
        return found

    def delay_s(self, state: FeedState) -> float:
        assert state.next_poll_at is not None, "a feed must always have a next poll"
        return (state.next_poll_at - self.clock.now).total_seconds()

    def assert_healthy_ingested(self, report: CycleReport) -> None:
        """Every item of the healthy feeds is stored, carried by its feed, and matched."""
        for feed in self.healthy:
            poll = poll_of(report, feed.url)
            assert poll.outcome == "ok", poll
            assert poll.new_items == len(feed.items)
            state = self.state(feed.url)
            assert state.last_error_kind is None and state.consecutive_failures == 0
            assert state.last_success_at == self.clock.now
            for sample, topics in feed.items.items():
                stored = self.store.item(url=canonical_url(sample.link))
                assert stored is not None, f"{sample.title!r} of {feed.url} was not stored"
                assert self.name_of(feed.url) in stored.feeds
                assert {m.topic for m in stored.matches} == topics, sample.title


def poll_of(report: CycleReport, url: str) -> PollReport:
    [poll] = [p for p in report.polls if p.url == url]
    return poll


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer(hosts=2) as s:
        yield s


def make_rig(server: FeedServer, tmp_path: Path, name: str, workers: int = 1) -> Rig:
    prefix = "/" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    healthy = [
        Healthy(
            server.feed(f"{prefix}/healthy.xml", rss_feed("Capital Desk", RSS_ITEMS)),
            f"{prefix}/healthy.xml",
            RSS_ITEMS,
        ),
        Healthy(
            server.feed(
                f"{prefix}/healthy.atom",
                atom_feed("Wire", ATOM_ITEMS, lang="fr"),
                content_type="application/atom+xml",
            ),
            f"{prefix}/healthy.atom",
            ATOM_ITEMS,
        ),
    ]
    cfg = load_config(write_config(tmp_path))
    store = Store.open(f"sqlite:///{tmp_path / 'poll.db'}")
    fetcher = Fetcher(
        timeout_s=TIMEOUT_S,
        deadline_s=DEADLINE_S,
        max_bytes=MAX_BYTES,
        max_decompressed_bytes=MAX_INFLATED,
        max_redirects=4,
    )
    matcher = compile_topics(cfg.topics)
    clock = Clock(NOW)
    pool = CountingParsePool(workers)
    pipeline = Pipeline(
        store, fetcher, lambda: matcher, POLICY, parse_pool=pool, clock=clock, rng=random.Random(11)
    )
    rig = Rig(server, store, fetcher, pipeline, pool, clock, prefix, healthy)
    rig.register(*(h.url for h in healthy))
    return rig


async def close_rig(rig: Rig) -> None:
    rig.pipeline.close()
    await rig.fetcher.aclose()
    rig.store.close()


@pytest.fixture
async def rig(
    server: FeedServer, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Rig]:
    made = make_rig(server, tmp_path, request.node.name)
    try:
        yield made
    finally:
        await close_rig(made)


# --------------------------------------------------------------------------------------------
# Faults that leave the feed failing


def backoff_bounds(failures: int, *, slow: bool = False) -> tuple[float, float]:
    base = backoff_s(failures, POLICY, slow=slow)
    return base * (1 - POLICY.jitter), base * (1 + POLICY.jitter)


def retry_after_bounds(seconds: float) -> tuple[float, float]:
    """A Retry-After is waited at least in full; jitter only ever adds to it."""
    return seconds, seconds * (1 + POLICY.jitter)


@dataclass(frozen=True)
class Fault:
    """A misbehaving feed: how to serve it, and what the store must say afterwards."""

    name: str
    serve: Callable[[FeedServer, str], str]
    kind: str
    status: int | None
    bounds: tuple[float, float]
    disabled: bool = False


def _trickle(server: FeedServer, path: str) -> str:
    # one byte every 0.3 s: each read arrives in time, the whole body never does
    return server.trickle(path, rss_feed("Slow", RSS_ITEMS), interval_s=0.3, chunk=1)


FAULTS = [
    Fault("500", lambda s, p: s.error(p, 500), "http", 500, backoff_bounds(1)),
    Fault(
        "503 Retry-After",
        lambda s, p: s.error(p, 503, retry_after=600),
        "unavailable",
        503,
        retry_after_bounds(600),
    ),
    Fault(
        "429 Retry-After",
        lambda s, p: s.error(p, 429, retry_after=900),
        "rate_limited",
        429,
        retry_after_bounds(900),
    ),
    Fault("hang", lambda s, p: s.hang(p), "timeout", None, backoff_bounds(1)),
    Fault("slow trickle", _trickle, "timeout", None, backoff_bounds(1)),
    Fault("404", lambda s, p: s.error(p, 404), "not_found", 404, backoff_bounds(1, slow=True)),
    Fault(
        "410",
        lambda s, p: s.error(p, 410),
        "gone",
        410,
        (POLICY.max_backoff_s, POLICY.max_backoff_s),
        disabled=True,
    ),
    Fault(
        "redirect loop",
        lambda s, p: s.redirect_loop(p),
        "redirect_loop",
        302,
        backoff_bounds(1, slow=True),
    ),
    Fault(
        "HTML page with 200",
        lambda s, p: s.html(p),
        "not_a_feed",
        200,
        backoff_bounds(1, slow=True),
    ),
    Fault(
        "huge body",
        lambda s, p: s.huge(p, 4 * MAX_BYTES),
        "too_large",
        200,
        backoff_bounds(1, slow=True),
    ),
    Fault(
        "huge chunked body",
        lambda s, p: s.huge(p, 4 * MAX_BYTES, chunked=True),
        "too_large",
        200,
        backoff_bounds(1, slow=True),
    ),
    Fault(
        "gzip bomb",
        lambda s, p: s.gzip_bomb(p, 64 * MAX_INFLATED),
        "too_large",
        200,
        backoff_bounds(1, slow=True),
    ),
    Fault(
        "empty body",
        lambda s, p: s.empty(p),
        "not_a_feed",
        200,
        backoff_bounds(1, slow=True),
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_fault_is_recorded_and_healthy_feeds_are_ingested(rig: Rig, fault: Fault) -> None:
    url = fault.serve(rig.server, rig.path("faulty.xml"))
    report = await rig.poll(url)

    poll = poll_of(report, url)
    assert poll.outcome == "error"
    assert poll.error_kind == fault.kind, poll.error
    assert poll.status == fault.status
    assert poll.new_items == 0
    state = rig.state(url)
    assert state.last_error_kind == fault.kind
    assert state.last_error == poll.error and poll.error  # a sentence, not just a kind
    assert state.consecutive_failures == 1
    assert state.last_success_at is None
    assert (state.disabled_reason is not None) == fault.disabled
    lo, hi = fault.bounds
    assert lo <= rig.delay_s(state) <= hi
    rig.assert_healthy_ingested(report)


async def test_gone_says_why_and_only_it_is_left_out_of_later_cycles(rig: Rig) -> None:
    gone = rig.server.error(rig.path("gone.xml"), 410)
    down = rig.server.error(rig.path("down.xml"), 500)
    await rig.poll(gone, down)
    state = rig.state(gone)
    assert state.disabled_reason is not None and "410 Gone" in state.disabled_reason
    assert state.next_poll_at is not None  # re-enabling it needs nothing else

    # long after both are due, a cycle over the due feeds retries the failing one only
    rig.clock.now = state.next_poll_at + timedelta(hours=1)
    report = await rig.poll(due_only=True)
    polled = {p.url for p in report.polls}
    assert down in polled and gone not in polled
    assert rig.state(gone).consecutive_failures == 1
    assert rig.state(down).consecutive_failures == 2


async def test_a_feed_failing_cycle_after_cycle_is_retried_and_never_disabled(rig: Rig) -> None:
    url = rig.server.error(rig.path("broken.xml"), 500)
    await rig.poll(url)
    delays = []
    for failures in range(1, 11):
        state = rig.state(url)
        assert state.consecutive_failures == failures
        assert state.disabled_reason is None
        assert state.last_error_kind == "http"
        lo, hi = backoff_bounds(failures)
        delays.append(rig.delay_s(state))
        assert lo <= delays[-1] <= hi
        # once due, a cycle over the due feeds polls it again
        assert state.next_poll_at is not None
        rig.clock.now = state.next_poll_at
        report = await rig.poll(due_only=True)
        assert url in {p.url for p in report.polls}
    assert rig.state(url).consecutive_failures == 11
    # the backoff doubled up to its cap (from the 9th failure on) and stayed there
    assert all(a < b for a, b in zip(delays[:8], delays[1:9], strict=True))
    assert min(delays[8:]) >= POLICY.max_backoff_s * (1 - POLICY.jitter)


# --------------------------------------------------------------------------------------------
# Faults a feed survives


@pytest.mark.parametrize("statuses", [[301, 301], [301, 308, 301]], ids=["two 301s", "301 308 301"])
async def test_permanent_redirect_chain_moves_the_feed(rig: Rig, statuses: list[int]) -> None:
    moved = SampleItem("Moved feed story", link="https://moved.example.org/1")
    target = rig.server.feed(rig.path("new-home.xml"), rss_feed("Moved", [moved]))
    old = rig.server.redirect_chain(
        rig.path("old-home.xml"), rig.path("new-home.xml"), len(statuses), statuses
    )
    report = await rig.poll(old)

    poll = poll_of(report, old)
    assert poll.outcome == "ok" and poll.new_items == 1
    state = rig.state(old)
    assert state.url == target  # the stored URL follows the permanent redirects
    assert state.consecutive_failures == 0 and state.last_error_kind is None
    assert rig.store.item(url=moved.link) is not None
    rig.assert_healthy_ingested(report)

    # the next cycle asks for the new URL directly
    rig.server.reset()
    rig.clock.now += timedelta(hours=1)
    await rig.poll()
    assert rig.server.count(rig.path("old-home.xml")) == 0
    assert rig.server.count(rig.path("new-home.xml")) == 1


async def test_a_temporary_hop_keeps_the_configured_url(rig: Rig) -> None:
    rig.server.feed(rig.path("target.xml"), rss_feed("Target", ["A story"]))
    old = rig.server.redirect_chain(rig.path("start.xml"), rig.path("target.xml"), 2, [301, 302])
    report = await rig.poll(old)
    assert poll_of(report, old).outcome == "ok"
    assert rig.state(old).url == old


async def test_invalid_xml_with_an_entry_is_salvaged(rig: Rig) -> None:
    url = rig.server.invalid_xml(rig.path("broken.xml"))
    before = rig.store.counts()["items"]
    report = await rig.poll(url)
    poll = poll_of(report, url)
    # the parser recovers the entry before the well-formedness error: the feed was read
    assert poll.outcome == "ok" and poll.new_items == 1
    assert rig.state(url).last_error_kind is None
    total = rig.store.counts()["items"]
    titles = set()
    for item_id in range(1, total + 1):
        stored = rig.store.item(item_id)
        if stored is not None and rig.name_of(url) in stored.feeds:
            titles.add(stored.title)
    assert titles == {"Cut & pasted badly"}  # markup stripped, entity decoded
    assert total == before + 1 + sum(len(h.items) for h in rig.healthy)
    rig.assert_healthy_ingested(report)


async def test_wrong_charset_is_read_as_what_it_really_is(rig: Rig) -> None:
    url = rig.server.wrong_charset(rig.path("latin1.xml"))
    report = await rig.poll(url)
    poll = poll_of(report, url)
    assert poll.outcome == "ok" and poll.new_items == 1
    stored = rig.store.item(url="https://news.example.org/story/0")
    assert stored is not None
    assert stored.title == "Dépenses militaires : le Canada à 2 %"
    rig.assert_healthy_ingested(report)


# --------------------------------------------------------------------------------------------
# Nothing changed


async def test_second_cycle_is_conditional_and_an_unchanged_body_is_not_parsed(rig: Rig) -> None:
    bare = rig.server.feed(
        rig.path("no-validators.xml"),
        rss_feed("Bare", [SampleItem("Bare story", link="https://bare.example.org/1")]),
        etag=None,
        last_modified=None,
    )
    first = await rig.poll(bare)
    rig.assert_healthy_ingested(first)
    assert rig.parse_pool.runs == 3
    counts = rig.store.counts()

    rig.server.reset()
    rig.clock.now += timedelta(hours=1)
    second = await rig.poll()

    for feed in rig.healthy:
        poll = poll_of(second, feed.url)
        assert poll.outcome == "not_modified" and poll.status == 304
        [request] = rig.server.requests(feed.path)
        assert request.header("If-None-Match") is not None
        assert request.header("If-Modified-Since") is not None
    poll = poll_of(second, bare)
    assert poll.outcome == "unchanged" and poll.status == 200
    assert poll.items == 0 and poll.new_items == 0
    assert rig.parse_pool.runs == 3  # nothing was parsed in the second cycle
    assert rig.store.counts() == counts
    for url in [*(h.url for h in rig.healthy), bare]:
        state = rig.state(url)
        assert state.last_success_at == rig.clock.now
        assert state.consecutive_failures == 0


# --------------------------------------------------------------------------------------------
# Everything at once, parsed in worker processes


async def test_all_faults_in_one_cycle_with_worker_processes(
    server: FeedServer, tmp_path: Path
) -> None:
    rig = make_rig(server, tmp_path, "all-at-once", workers=2)
    try:
        urls = {f.name: f.serve(server, rig.path(f"f{n}.xml")) for n, f in enumerate(FAULTS)}
        report = await rig.poll(*urls.values())
        assert len(report.polls) == len(FAULTS) + len(rig.healthy)
        for fault in FAULTS:
            state = rig.state(urls[fault.name])
            assert state.last_error_kind == fault.kind, fault.name
            lo, hi = fault.bounds
            assert lo <= rig.delay_s(state) <= hi, fault.name
        rig.assert_healthy_ingested(report)
        assert rig.parse_pool.runs == len(rig.healthy)  # faulty bodies never reach a parser
    finally:
        await close_rig(rig)


# --------------------------------------------------------------------------------------------
# Failures that are not the feed's answer: each is that feed's recorded error, never the cycle's


async def test_deeply_nested_json_is_that_feeds_error_and_the_cycle_goes_on(rig: Rig) -> None:
    depth = 50_000  # far past Python's recursion limit; json.loads gives up with RecursionError
    url = rig.server.feed(
        rig.path("nested.json"), b"[" * depth + b"]" * depth, content_type="application/json"
    )
    report = await rig.poll(url)
    poll = poll_of(report, url)
    assert (poll.outcome, poll.error_kind) == ("error", "not_a_feed"), poll
    assert poll.error and "nested too deeply" in poll.error
    state = rig.state(url)
    assert state.last_error_kind == "not_a_feed" and state.consecutive_failures == 1
    rig.assert_healthy_ingested(report)


def _rename_table(db: Path, old: str, new: str) -> None:
    """Another connection renames a table: every write to it fails, as on a full disk."""
    with sqlite3.connect(db, timeout=30) as conn:
        conn.execute(f"ALTER TABLE {old} RENAME TO {new}")
    conn.close()


async def test_a_database_error_during_a_poll_releases_the_feed_and_records_it(
    rig: Rig, tmp_path: Path
) -> None:
    db = tmp_path / "poll.db"
    _rename_table(db, "items", "items_away")
    report = await rig.poll()
    assert len(report.polls) == len(rig.healthy)
    for poll in report.polls:
        assert (poll.outcome, poll.error_kind) == ("error", "database"), poll
        assert poll.error and "cannot store this poll" in poll.error
        state = rig.state(poll.url)
        assert state.last_error_kind == "database" and state.consecutive_failures == 1
        assert state.next_poll_at is not None and state.next_poll_at > rig.clock.now
    # the claims were released: the feeds can be claimed again at once, not after the lease
    claimed = await rig.pipeline.claim(limit=10, urls=[h.url for h in rig.healthy])
    assert len(claimed) == len(rig.healthy)
    rig.store.release_leases(rig.pipeline.owner)

    _rename_table(db, "items_away", "items")
    rig.assert_healthy_ingested(await rig.poll())  # nothing was lost
