"""How parse workers are started: forked by a small process (multiprocessing's forkserver,
preloaded with ``WORKER_MODULES``), never by the daemon, so a worker holds what parsing needs
and not the daemon's store, web pages or caches; the matcher reaches them pickled (or not at
all, when it cannot be: the caller scores); and they still end when the daemon is killed.
Real worker processes."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

import monitor.store  # noqa: F401 - the test process holds the store's modules, as the daemon does
from monitor.model import TopicMatch
from monitor.parse_pool import WORKER_NICENESS, ParsePool, parse_and_score
from monitor.score.engine import compile_topics
from tests import worker_probe
from tests.feedserver import SampleItem, rss_feed
from tests.support import wait_until
from tests.test_parse_pool import NORAD
from tests.test_score_engine import topics_from

NOW = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
BODY = rss_feed(
    "Wire",
    [SampleItem("NORAD review opens", link="https://n.example/1", summary="NORAD.", published=NOW)],
)


async def test_workers_are_not_forks_of_the_daemon() -> None:
    assert "sqlalchemy" in sys.modules  # the "daemon" holds the store's modules
    pool = ParsePool(1)
    try:
        pid, parent = await pool.run(worker_probe.whoami)
        assert pid != os.getpid() and parent != os.getpid()  # forked by the forkserver
        found = await pool.run(worker_probe.loaded, "sqlalchemy", "monitor.store", "feedparser")
        # what parsing needs was loaded before the fork; the store never is
        assert found == {"sqlalchemy": False, "monitor.store": False, "feedparser": True}
    finally:
        pool.close()


async def test_workers_run_at_a_lower_priority_than_the_daemon() -> None:
    """When the cores are busy, the daemon (its database thread) comes first."""
    pool = ParsePool(1)
    try:
        niceness = await pool.run(worker_probe.niceness)
    finally:
        pool.close()
    assert niceness == min(19, os.nice(0) + WORKER_NICENESS) > os.nice(0)


async def test_bodies_sent_while_the_workers_start_reach_them_through_a_reload() -> None:
    """A fresh pool's first body starts its workers in a thread (the forkserver takes a
    while), and the bodies sent meanwhile wait; a reload then (a new matcher) retires the pool
    they were given. They go to the new pool: none fails with pebble's "The Pool is not
    active" (one did, polling a page, before)."""
    pool = ParsePool(2)
    try:
        pool.share(compile_topics(topics_from(NORAD)))
        sent = [asyncio.create_task(pool.run(worker_probe.whoami)) for _ in range(6)]
        # the first body is starting the workers (no event tells when: yield until it is)
        while not pool._starting.locked():  # noqa: ASYNC110
            await asyncio.sleep(0)
        pool.share(compile_topics(topics_from(NORAD)))  # a reload: another matcher
        found = await asyncio.gather(*sent)
        assert len(found) == 6 and all(pid != os.getpid() for pid, _ in found)
    finally:
        pool.close()


def test_a_matcher_survives_pickling_and_stays_immutable() -> None:
    matcher = compile_topics(topics_from(NORAD))
    copy = pickle.loads(pickle.dumps(matcher))
    assert copy.score("NORAD review", "In Ottawa.", "en") == matcher.score(
        "NORAD review", "In Ottawa.", "en"
    )
    assert copy.topic_ids == ("norad",)
    with pytest.raises(AttributeError):
        copy.topics = ()


async def test_a_matcher_that_cannot_be_pickled_is_left_to_the_caller() -> None:
    class Local:  # defined in a function: pickle cannot name it
        def score(self, title: str, summary: str, lang: str | None = None) -> list[TopicMatch]:
            raise AssertionError("never called in a worker")

    pool = ParsePool(1)
    try:
        number = pool.share(Local())
        parsed = await pool.run(
            parse_and_score, BODY, "https://w.example/f", None, "en", NOW, 100, number
        )
        assert len(parsed.items) == 1 and parsed.matches is None  # scoring is the caller's
        # the next picklable matcher is the workers' again
        norad = compile_topics(topics_from(NORAD))
        again = pool.share(norad)
        parsed = await pool.run(
            parse_and_score, BODY, "https://w.example/f", None, "en", NOW, 100, again
        )
        assert parsed.matches is not None and [m.topic for m in parsed.matches[0]] == ["norad"]
    finally:
        pool.close()


DAEMON = textwrap.dedent(
    """
    import asyncio, sys
    from monitor.parse_pool import ParsePool
    from tests import worker_probe

    async def main():
        pool = ParsePool(1)
        pid, _ = await pool.run(worker_probe.whoami)
        print(pid, flush=True)
        sys.stdin.read()  # until killed

    asyncio.run(main())
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_workers_end_when_the_daemon_is_killed() -> None:
    daemon = subprocess.Popen(
        [sys.executable, "-c", DAEMON],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert daemon.stdout is not None
        worker = int(daemon.stdout.readline())
        assert _alive(worker)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        wait_until(lambda: not _alive(worker), 10.0, "the worker to end with the daemon")
    finally:
        daemon.kill()
        daemon.wait()


STOPPING = textwrap.dedent(
    """
    import asyncio, os
    from monitor.parse_pool import ParsePool, stop_forkserver
    from tests import worker_probe

    async def main():
        pool = ParsePool(1)
        _, server = await pool.run(worker_probe.whoami)
        pool.close()
        print(os.path.exists(f"/proc/{server}"), flush=True)  # kept for the next pool
        stop_forkserver()
        print(os.path.exists(f"/proc/{server}"), flush=True)  # ended and reaped
        again = ParsePool(1)
        _, other = await again.run(worker_probe.whoami)  # a new one when needed
        again.close()
        print(other != server, flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_process_that_forks_workers_is_stopped_and_reaped_on_demand() -> None:
    done = subprocess.run(
        [sys.executable, "-c", STOPPING],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "True"]
