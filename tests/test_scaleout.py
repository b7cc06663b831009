"""Several `monitor run` workers sharing one PostgreSQL database.

Three real worker processes poll 500 feeds served by the project's test feed server, for
several cycles and across a digest window; one worker is killed with SIGKILL while it holds
feeds. Every feed is polled once per cycle, no item is stored twice, one digest is sent per
channel and window, and the killed worker's feeds are polled by the others once their lease
expires.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.cadence import policy_from_settings
from monitor.config import load_config
from monitor.fetch import Fetcher
from monitor.outbox import Outbox
from monitor.pipeline import Pipeline, PollReport
from monitor.scheduler import Service
from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.support import wait_until, write_config

POSTGRES_URL = os.environ.get("MONITOR_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="scale-out tests need PostgreSQL: set MONITOR_TEST_POSTGRES_URL "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
)

FEEDS = 500
INTERVAL_S = 4.0
# longer than any poll here may take: a poll that outlives its lease is taken for dead and
# its feed polled again by another worker, sooner than the interval (on a machine running
# slowly, polls of the first cycle, 500 new feeds written by three workers starting at once,
# took up to 3.3 s: with a lease of 3 s, their feeds were polled twice)
LEASE_S = 8.0


@pytest.fixture
def database() -> Iterator[str]:
    assert POSTGRES_URL
    schema = f"scale_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _feeds(server: FeedServer) -> list[str]:
    urls = []
    for n in range(FEEDS):
        topic = "NORAD review" if n % 10 == 0 else "Weather outlook"
        items = [
            SampleItem(f"{topic}: report {n}-{k}", link=f"https://news.example.org/{n}/{k}")
            for k in range(2)
        ]
        urls.append(server.feed(f"/feed/{n}.xml", rss_feed(f"Feed {n}", items)))
    return urls


@pytest.mark.slow
def test_three_workers_share_the_feeds_and_the_digests(tmp_path: Path, database: str) -> None:
    with FeedServer(latency_s=0.1) as server:
        urls = _feeds(server)
        feeds = "".join(f'  - {{url: "{u}", name: "F{i}"}}\n' for i, u in enumerate(urls))
        cfg = write_config(
            tmp_path,
            f"""
            polling:
              interval: {INTERVAL_S}s
              min_interval: {INTERVAL_S}s
              max_interval: {INTERVAL_S}s
              jitter: 0%
              timeout: 2s
              deadline: 2.5s
              lease: {LEASE_S}s
              concurrency: 50
              per_host: 50          # the test server is one host standing in for many
            channels:
              - {{name: console, type: console, digest: "* * * * *"}}
            feeds:
            """,
        )
        cfg.write_text(cfg.read_text() + feeds, encoding="utf-8")
        env = {**os.environ, "MONITOR_DATABASE_URL": database}
        # migrate once before the workers start, as an operator would
        subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(cfg), "feeds", "--format", "json"],
            check=True,
            env=env,
            capture_output=True,
            timeout=60,
        )
        engine = sa.create_engine(database)
        logs = [tmp_path / f"worker{i}.log" for i in range(3)]
        workers = []
        for log in logs:
            sink = log.open("w")
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "monitor", "--config", str(cfg), "run", "--tick", "0.5"],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=tmp_path,
                )
            )
        victim = workers[0]
        killed_at: float | None = None
        held: set[str] = set()
        cycles = 0

        def leases_of_the_victim() -> set[str]:
            """The feeds the victim holds, once the first cycle is done and the second under
            way (so that the gaps measured below span whole cycles)."""
            nonlocal cycles
            cycles = min(server.count(f"/feed/{n}.xml") for n in range(FEEDS))
            if cycles < 1:
                return set()
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT url FROM feeds WHERE lease_owner LIKE :me"),
                    {"me": f"%:{victim.pid}"},
                ).all()
            return {r.url for r in rows}

        def sent_digests() -> int:
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        sa.text(
                            "SELECT count(*) FROM deliveries "
                            "WHERE kind = 'digest' AND status = 'sent'"
                        )
                    ).scalar_one()
                )

        def done() -> bool:
            """Three cycles of every feed, the killed worker's feeds polled again, and a
            digest window (a minute boundary) crossed and its digest sent."""
            if any(server.count(f"/feed/{n}.xml") < 3 for n in range(FEEDS)):
                return False
            assert killed_at is not None
            if any(
                not any(r.at > killed_at for r in server.requests(url[url.index("/feed/") :]))
                for url in held
            ):
                return False
            return sent_digests() > 0

        try:
            # once the first cycle is done, kill a worker that holds leases
            held = wait_until(
                leases_of_the_victim, 60, "the worker to kill to hold a feed", every=0.05
            )
            victim.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            victim.wait(timeout=5)
            # and those it claimed between that reading and its death: a lease outlives its
            # holder by up to LEASE_S, so its polls that died are the leases still its own
            held |= leases_of_the_victim()
            # how long cycles take depends on the machine's load: wait for them, bounded
            wait_until(done, 180, "three cycles, the dead worker's feeds and a digest", every=0.5)
        finally:
            for w in workers[1:]:
                w.send_signal(signal.SIGTERM)
            codes = [w.wait(timeout=20) for w in workers[1:]]
            if victim.poll() is None:
                victim.kill()
            victim.wait(timeout=5)
        # the whole log of a worker that did not stop cleanly: its last lines tell why
        failed = [
            f"worker {i + 1} exited {code}:\n{logs[i + 1].read_text()[-6000:]}"
            for i, code in enumerate(codes)
            if code != 0
        ]
        assert not failed, "\n\n".join(failed)

        polls: dict[str, list[float]] = {}
        for n, url in enumerate(urls):
            polls[url] = sorted(r.at for r in server.requests(f"/feed/{n}.xml"))

    # every feed was polled in several cycles, never twice in one cycle
    for url, times in polls.items():
        assert len(times) >= 3, (url, times)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        if url in held:
            # its poll died with the worker: polled again once the lease expired, then on time
            after = [t for t in times if t > killed_at]
            assert after, (url, times)
            continue
        assert min(gaps) >= INTERVAL_S * 0.8, (url, gaps)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM feed_items")).scalar_one()
        items = conn.execute(sa.text("SELECT count(*) FROM items")).scalar_one()
        distinct = conn.execute(sa.text("SELECT count(DISTINCT url) FROM items")).scalar_one()
        digests = conn.execute(
            sa.text("SELECT window_end, status FROM deliveries WHERE kind = 'digest'")
        ).all()
        matches = conn.execute(sa.text("SELECT count(*) FROM matches")).scalar_one()
    engine.dispose()
    assert count == FEEDS * 2 and items == FEEDS * 2 and distinct == FEEDS * 2
    assert matches == FEEDS // 10 * 2
    # one digest per window, sent once, by one worker
    windows = [d.window_end for d in digests]
    assert windows and len(windows) == len(set(windows))
    assert all(d.status == "sent" for d in digests)
    printed = sum(log.read_text().count("Policy Monitor digest") for log in logs[1:])
    printed += logs[0].read_text().count("Policy Monitor digest")
    assert printed == len(digests), (printed, digests)


async def test_feeds_due_together_are_split_between_the_workers(
    tmp_path: Path, database: str
) -> None:
    """Two workers claim in turn, as their ticks fall: the first to claim takes its share of
    what is due, not everything (before, it took all 30 feeds every round and the other
    worker none)."""
    feeds, rounds = 30, 4
    with FeedServer() as server:
        urls = [
            server.feed(f"/s/{n}.xml", rss_feed(f"S{n}", [SampleItem(f"Item {n}")]))
            for n in range(feeds)
        ]
        listed = "".join(f'  - {{url: "{u}"}}\n' for u in urls)
        path = write_config(
            tmp_path,
            f"""
            database: "{database}"
            polling: {{interval: 10s, jitter: 0%, per_host: 50}}
            feeds:
            """,
        )
        path.write_text(path.read_text() + listed, encoding="utf-8")
        cfg = load_config(path, environ={})
        now = [datetime(2026, 12, 1, 12, tzinfo=UTC)]
        polled: dict[str, list[PollReport]] = {"a": [], "b": []}
        stores = [Store.open(cfg.database_url) for _ in polled]
        services: list[Service] = []
        async with Fetcher(per_host=50) as fetcher:
            for owner, store in zip(polled, stores, strict=True):
                pipeline = Pipeline(
                    store,
                    fetcher,
                    lambda: services[0].current_matcher(),
                    policy_from_settings(cfg.polling),
                    owner=owner,
                    clock=lambda: now[0],
                    on_poll=polled[owner].append,
                )
                services.append(
                    Service(cfg, store, pipeline, Outbox(store, {}, ()), clock=lambda: now[0])
                )
            stores[0].sync_feeds(cfg.feeds, now[0])
            try:
                first_round: dict[str, int] = {}
                for _ in range(rounds):
                    for _tick in range(2):  # a tick of each, then the next ones
                        for service in services:  # one claims, then the other, at once
                            await service.poll_tick()
                        for service in services:
                            await service.poller.idle()
                    first_round = first_round or {o: len(r) for o, r in polled.items()}
                    now[0] += timedelta(seconds=11)  # every feed is due again
            finally:
                for service in services:
                    service.pipeline.close()
                for store in stores:
                    store.close()
    assert sum(len(r) for r in polled.values()) == feeds * rounds, "each feed once a round"
    # in the first round the second worker was not known yet; after it the polls are shared
    later = {owner: len(reports) - first_round[owner] for owner, reports in polled.items()}
    assert min(later.values()) >= 0.3 * feeds * (rounds - 1), f"polls per worker: {later}"
