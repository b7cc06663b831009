"""The hostile-feed table: feeds built to hurt a poller, each polled beside a benign feed.

Each case is served by the project's feed server on 127.0.0.1 and polled through the real
pipeline (a real :class:`~monitor.fetch.Fetcher` with small caps, parse worker processes with a
parse deadline, a SQLite file store). Every case must end within the limits the daemon sets
itself (the fetch timeouts, the size caps, the parse deadline: no wall-clock assertion here, a
case that outlives its limit fails by its outcome), leave a recorded outcome on its feed, and
let the benign feed of the same cycle store its item.

Outcomes: ``ok`` means the feed was read and its item stored (the markup, however hostile, was
turned into text); an error kind means the feed was refused with that kind recorded.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.budget import INGEST_BYTES
from monitor.cadence import CadencePolicy
from monitor.config import FeedSpec, load_config
from monitor.errors import ConfigError
from monitor.fetch import Fetcher
from monitor.model import FeedState
from monitor.parse_pool import ParsePool
from monitor.pipeline import CycleReport, Pipeline
from monitor.poller import run_cycle
from monitor.score.engine import compile_topics
from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, json_feed, rss_feed
from tests.support import wait_for, wait_until, write_config
from tests.test_poll_faults import Clock, close_rig, poll_of

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
POLICY = CadencePolicy(interval_s=900.0, jitter=0.1)
TIMEOUT_S = 0.5  # per network step
FETCH_DEADLINE_S = 3.0  # per fetch
MAX_BYTES = 4_000_000
MAX_INFLATED = 8_000_000
# Every body here that is meant to be read parses in under 3 s of CPU (the slowest, the billion
# laughs, spends about 2.5 s in the XML parser before it gives up on the entities), leaving
# room for a busy machine; the quadratic HTML shapes took minutes before (a 450 KB summary of
# "<br": 169 s).
PARSE_DEADLINE_S = 30.0

BENIGN = SampleItem(
    "Ottawa opens talks on NORAD modernization funding",
    link="https://benign.example.org/norad-talks",
    summary="Canada and the United States began a review of NORAD and its radars.",
    published=datetime(2026, 1, 4, 9, tzinfo=UTC),
)
HOSTILE_LINK = "https://hostile.example.org/1"
HOSTILE_TITLE = "A hostile item"


# --------------------------------------------------------------------------------------------
# Bodies


def with_summary(summary: str, title: str = HOSTILE_TITLE) -> bytes:
    """A well-formed RSS feed of one item whose summary (HTML, escaped into the XML) is given."""
    return rss_feed("Hostile", [SampleItem(title, link=HOSTILE_LINK, summary=summary)])


def raw_rss(items: bytes, *, head: bytes = b"", encoding: str = "utf-8") -> bytes:
    """An RSS document around ``items`` as given (raw markup, not escaped)."""
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'.encode()
        + head
        + b'<rss version="2.0"><channel><title>Hostile</title>'
        + b"<link>https://hostile.example.org/</link>"
        + items
        + b"</channel></rss>"
    )


def raw_item(*, title: bytes = HOSTILE_TITLE.encode(), description: bytes = b"text") -> bytes:
    return (
        b"<item><title>" + title + b"</title><link>" + HOSTILE_LINK.encode() + b"</link>"
        b"<description>" + description + b"</description></item>"
    )


def billion_laughs() -> bytes:
    """Nine levels of entities, each ten of the one below: a billion "lol"s if expanded."""
    levels = [b'<!ENTITY lol0 "lol">']
    for n in range(1, 10):
        levels.append(b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10))
    head = b"<!DOCTYPE rss [" + b"".join(levels) + b"]>"
    return raw_rss(raw_item(description=b"&lol9;"), head=head)


def slow_to_parse(size: int) -> bytes:
    """An ill-formed feed (raw, unclosed tags in a description): the XML parser gives up and
    feedparser's loose parser reads it at about 3.5 µs of CPU a byte (4 MB: about 14 s)."""
    return raw_rss(raw_item(description=b"<br" * (size // 3)))


# --------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Case:
    """A hostile feed: how to serve it and what must be recorded on it afterwards."""

    name: str
    serve: Callable[[FeedServer, str], str]
    outcome: str  # "ok" (read, its item stored) or the error kind recorded on the feed
    title: str = HOSTILE_TITLE  # for "ok": the title its item is stored with


def body(data: bytes, content_type: str = "application/rss+xml; charset=utf-8") -> Callable:
    return lambda s, p: s.feed(p, data, content_type=content_type)


CASES = [
    # markup that made html_to_text quadratic (times measured before the fix)
    Case("summary of 150k unclosed <br (169 s before)", body(with_summary("<br" * 150_000)), "ok"),
    Case("summary of 150k unclosed <a (56 s before)", body(with_summary("<a" * 150_000)), "ok"),
    Case("summary of 60k unclosed <script>", body(with_summary("<script>" * 60_000)), "ok"),
    Case("summary of 150k comment openers", body(with_summary("<!--" * 150_000)), "ok"),
    Case("title of 150k unclosed <br", body(with_summary("x", "<br" * 150_000)), "ok", "x"),
    # other shapes a parser can be slow on
    Case("tags nested 50k deep", body(with_summary("<div>" * 50_000 + "deep")), "ok"),
    Case("inline tags nested 50k deep", body(with_summary("<b>" * 50_000 + "deep")), "ok"),
    Case("50k unclosed <a> links", body(with_summary("<a>x" * 50_000)), "ok"),
    Case(
        "attribute value of 1.5 MB",
        body(with_summary('<a href="' + "x" * 1_500_000 + '">link</a>')),
        "ok",
    ),
    Case("attribute of a tag never closed", body(with_summary('<a href="' + "x" * 500_000)), "ok"),
    Case("100k entities", body(with_summary("&amp;&#233;&eacute" * 33_000)), "ok"),
    Case("entities escaped twice", body(with_summary("&lt;br" * 100_000)), "ok"),
    Case("one line of 1.5 MB", body(with_summary("word " * 300_000)), "ok"),
    Case("100k stray <", body(with_summary("< " * 100_000)), "ok"),
    # XML
    Case("billion laughs (entities of entities)", body(billion_laughs()), "ok"),
    Case(
        "XML elements nested 20k deep",
        body(raw_rss(raw_item(description=b"<x>" * 20_000 + b"deep" + b"</x>" * 20_000))),
        "ok",
    ),
    Case(
        "XML elements nested 20k deep, never closed",
        body(raw_rss(raw_item(description=b"<x>" * 20_000))),
        "ok",
    ),
    Case(
        "external entity (a local file)",
        body(
            raw_rss(
                raw_item(description=b"&xxe;"),
                head=b'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            )
        ),
        "ok",
    ),
    Case("3,000 items", body(raw_rss(raw_item() * 3_000)), "ok"),
    # JSON
    Case(
        "JSON Feed with a 1 MB title",
        body(json_feed("J", [SampleItem("J " * 500_000, link=HOSTILE_LINK)])),
        "ok",
        "J " * 249 + "J…",
    ),
    # encodings
    Case(
        "invalid UTF-8 bytes",
        body(raw_rss(raw_item(title=b"Caf\xc3 \xff\xfe title"))),
        "ok",
        "Caf\u00c3 \u00ff\u00fe title",
    ),
    Case(
        "an encoding that does not exist",
        body(raw_rss(raw_item(), encoding="x-no-such-charset")),
        "ok",
    ),
    Case(
        "a NUL byte in a title", body(raw_rss(raw_item(title=b"Nul\x00 title"))), "ok", "Nul title"
    ),
    Case(
        "UTF-16 declared as UTF-8",
        body(raw_rss(raw_item()).decode().encode("utf-16")),
        "not_a_feed",
    ),
    # transport: size and time caps
    Case("body beyond max_bytes", lambda s, p: s.huge(p, 4 * MAX_BYTES), "too_large"),
    Case(
        "endless chunked body",
        lambda s, p: s.huge(p, 100 * MAX_BYTES, chunked=True),
        "too_large",
    ),
    Case("gzip bomb", lambda s, p: s.gzip_bomb(p, 64 * MAX_INFLATED), "too_large"),
    Case(
        "slow body (a byte every 0.3 s)",
        lambda s, p: s.trickle(p, with_summary("slow"), interval_s=0.3),
        "timeout",
    ),
    Case("no answer", lambda s, p: s.hang(p), "timeout"),
]


# --------------------------------------------------------------------------------------------
# The rig


@dataclass
class Rig:
    server: FeedServer
    store: Store
    fetcher: Fetcher
    pipeline: Pipeline
    clock: Clock
    prefix: str
    benign: str

    def path(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    async def poll(self, *urls: str) -> CycleReport:
        """Configure ``urls`` beside the benign feed and poll them all in one cycle."""
        known = [f.url for f in self.store.feeds()]
        specs = [FeedSpec(url=u, name=u) for u in dict.fromkeys([self.benign, *known, *urls])]
        self.store.sync_feeds(specs, self.clock())
        return await run_cycle(self.pipeline, urls=[s.url for s in specs])

    def state(self, url: str) -> FeedState:
        [found] = [f for f in self.store.feeds() if f.name == url]
        return found

    def assert_benign_stored(self, report: CycleReport) -> None:
        poll = poll_of(report, self.benign)
        assert poll.outcome == "ok" and poll.new_items == 1, poll
        stored = self.store.item(url=BENIGN.link)
        assert stored is not None, "the benign feed's item was not stored"
        assert {m.topic for m in stored.matches} == {"norad"}


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def make_rig(
    server: FeedServer,
    tmp_path: Path,
    name: str,
    *,
    workers: int = 1,
    parse_deadline_s: float = PARSE_DEADLINE_S,
    max_bytes: int = MAX_BYTES,
    timeout_s: float = TIMEOUT_S,
) -> Rig:
    prefix = "/" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    benign = server.feed(f"{prefix}/benign.xml", rss_feed("Benign", [BENIGN]))
    cfg = load_config(write_config(tmp_path))
    store = Store.open(f"sqlite:///{tmp_path / 'attack.db'}")
    fetcher = Fetcher(
        timeout_s=timeout_s,
        deadline_s=max(FETCH_DEADLINE_S, 2 * timeout_s),
        max_bytes=max_bytes,
        max_decompressed_bytes=max(max_bytes, MAX_INFLATED),
    )
    matcher = compile_topics(cfg.topics)
    clock = Clock(NOW)
    pool = ParsePool(workers, deadline_s=parse_deadline_s, s_per_mb=0.0)
    pipeline = Pipeline(
        store, fetcher, lambda: matcher, POLICY, parse_pool=pool, clock=clock, rng=random.Random(3)
    )
    return Rig(server, store, fetcher, pipeline, clock, prefix, benign)


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
# The table, case by case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_feed_is_bounded_recorded_and_blocks_nothing(rig: Rig, case: Case) -> None:
    url = case.serve(rig.server, rig.path("hostile"))
    report = await rig.poll(url)

    poll = poll_of(report, url)
    state = rig.state(url)
    assert state.last_polled_at == rig.clock.now
    if case.outcome == "ok":
        assert poll.outcome == "ok", poll.error
        assert state.last_error_kind is None and state.consecutive_failures == 0
        stored = rig.store.item(url=HOSTILE_LINK)
        assert stored is not None, "the hostile feed's item was not stored"
        if len(case.title) < 100:
            assert stored.title == case.title
        else:
            assert stored.title.startswith(case.title[:100])
        assert len(stored.summary) <= 4001  # text, cut to the summary limit
        assert "root:" not in stored.summary  # no external entity was read from a file
    else:
        assert poll.outcome == "error"
        assert (poll.error_kind, state.last_error_kind) == (case.outcome, case.outcome), poll.error
        assert state.last_error and state.consecutive_failures == 1
    rig.assert_benign_stored(report)


# --------------------------------------------------------------------------------------------
# The parse deadline


async def test_a_parse_past_its_deadline_is_recorded_and_its_worker_replaced(
    server: FeedServer, tmp_path: Path
) -> None:
    rig = make_rig(server, tmp_path, "parse-deadline", parse_deadline_s=1.0)
    try:
        slow = server.feed(rig.path("slow.xml"), slow_to_parse(MAX_BYTES - 1000))
        report = await rig.poll(slow)
        poll = poll_of(report, slow)
        assert (poll.outcome, poll.error_kind) == ("error", "parse_timeout")
        assert poll.error and "parse timed out" in poll.error and "1 s" in poll.error
        state = rig.state(slow)
        assert state.last_error_kind == "parse_timeout" and state.consecutive_failures == 1
        assert state.next_poll_at is not None and state.next_poll_at > rig.clock.now
        rig.assert_benign_stored(report)

        # the stopped worker was replaced: the next cycle parses a new item
        later = SampleItem("NORAD radar contract signed", link="https://benign.example.org/2")
        server.feed(rig.path("benign.xml"), rss_feed("Benign", [BENIGN, later]))
        rig.clock.now += timedelta(hours=1)
        report = await rig.poll()
        assert poll_of(report, rig.benign).new_items == 1
        assert rig.store.item(url=later.link) is not None
    finally:
        await close_rig(rig)


async def test_a_large_body_being_parsed_holds_up_no_other_feed(
    server: FeedServer, tmp_path: Path
) -> None:
    """A body larger than the whole ingest budget (8.5 MB of ill-formed XML: many seconds of
    parsing) and a benign feed that answers a moment later: the benign item is stored while the
    large body is still being parsed, not after it."""
    rig = make_rig(
        server,
        tmp_path,
        "large-body",
        workers=2,
        parse_deadline_s=4.0,
        max_bytes=9_000_000,
        timeout_s=5.0,  # the benign feed answers after 2 s
    )
    try:
        assert 8_500_000 > INGEST_BYTES
        large = server.feed(rig.path("large.xml"), slow_to_parse(8_500_000))
        server.feed(rig.path("benign.xml"), rss_feed("Benign", [BENIGN]), delay_s=2.0)
        done: list[str] = []
        rig.pipeline.on_poll = lambda poll: done.append(poll.url)
        report = await rig.poll(large)
        assert poll_of(report, large).error_kind == "parse_timeout"
        rig.assert_benign_stored(report)
        assert done == [rig.benign, large]
    finally:
        await close_rig(rig)


def test_parse_deadline_is_configurable_and_checked(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path), environ={}).polling.parse_deadline == 10
    path = write_config(tmp_path, "polling: {parse_deadline: 45s}\n")
    assert load_config(path, environ={}).polling.parse_deadline == 45
    for bad, says in (("0s", "longer than 0"), ("2h", "out of range"), ("soon", "not a duration")):
        path = write_config(tmp_path, f"polling:\n  parse_deadline: {bad}\n")
        with pytest.raises(ConfigError) as info:
            load_config(path, environ={})
        [problem] = str(info.value).splitlines()
        assert problem.startswith(f"{path}:") and says in problem, problem
        line = int(problem.split(":")[1])
        assert "parse_deadline" in path.read_text().splitlines()[line - 1], problem


async def test_two_slow_feeds_hold_both_workers_no_longer_than_the_deadline(
    server: FeedServer, tmp_path: Path
) -> None:
    """Two bodies that would each hold a worker for many seconds, with two workers: each
    is stopped at the deadline, and the benign feed of the same cycle is stored."""
    rig = make_rig(server, tmp_path, "two-slow", workers=2, parse_deadline_s=1.0)
    try:
        slow = [
            server.feed(rig.path(f"slow{n}.xml"), slow_to_parse(MAX_BYTES - 1000)) for n in range(2)
        ]
        report = await rig.poll(*slow)
        for url in slow:
            assert poll_of(report, url).error_kind == "parse_timeout"
            assert rig.state(url).last_error_kind == "parse_timeout"
        rig.assert_benign_stored(report)
    finally:
        await close_rig(rig)


# --------------------------------------------------------------------------------------------
# The daemon stops promptly while a parse is running


def _busy_descendants(pid: int) -> list[int]:
    """Processes below ``pid`` (its children, theirs, …: parse workers are the children of a
    forkserver the daemon starts) that are running, not sleeping, from /proc."""
    busy, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                todo.append(int(child))
                try:
                    stat = Path(f"/proc/{child}/stat").read_text()
                except OSError:
                    continue
                if stat.rsplit(")", 1)[1].split()[0] == "R":
                    busy.append(int(child))
    return busy


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.slow
def test_sigterm_during_a_long_parse_stops_the_daemon_promptly(tmp_path: Path) -> None:
    with FeedServer() as server:
        # about 28 s of CPU to parse, and under the ingest budget (8 MiB) with the benign body
        slow = server.feed("/slow.xml", slow_to_parse(8_000_000))
        benign = server.feed("/benign.xml", rss_feed("Benign", [BENIGN]))
        cfg = write_config(
            tmp_path,
            f"""
            polling: {{parse_workers: 2, parse_deadline: 1h}}
            feeds:
              - {{url: "{slow}", name: Slow}}
              - {{url: "{benign}", name: Benign}}
            channels:
              - {{name: console, type: console}}
            """,
        )
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(cfg), "run", "--tick", "0.5"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            try:
                # the benign feed is stored while the slow one is being parsed
                assert wait_for(log, "new=1", timeout=60), log.read_text()
                assert server.count("/slow.xml") == 1
                workers = wait_until(
                    lambda: _busy_descendants(proc.pid), 30, "a parse worker to be running"
                )
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    # the grace period for work in flight is 4 s; the parse had 28 s to go
                    code = proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise AssertionError(
                        "the daemon did not stop on SIGTERM:\n" + log.read_text()
                    ) from None
    text = log.read_text()
    assert code == 0, text
    assert "stopped" in text
    # and the worker busy with the long parse does not outlive the daemon
    wait_until(lambda: not any(_alive(w) for w in workers), 20, "the parse workers to end")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
