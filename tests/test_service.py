"""The daemon as a service: status endpoint, metrics, JSON logs without secrets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from monitor.config import load_config
from monitor.fetch import Fetcher
from monitor.outbox import Outbox
from monitor.scheduler import Service
from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.support import ALERTS_FROM_ANY_POLL, wait_for, wait_until, write_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_healthz_metrics_and_json_logs_without_secrets(tmp_path: Path) -> None:
    port = _free_port()
    secret_token = "S3CRET-TOKEN-do-not-log"
    with FeedServer() as server:
        feed = server.feed(
            "/f.xml",
            rss_feed(
                "F",
                [
                    SampleItem(
                        "NORAD review: Canada weighs radar costs",
                        link="https://news.example.org/n",
                        summary="The NORAD modernization plan is under review.",
                    )
                ],
            ),
        )
        cfg = write_config(
            tmp_path,
            f"""
            status: {{listen: "127.0.0.1:{port}"}}
            {ALERTS_FROM_ANY_POLL}
            feeds:
              - {{url: "{feed}", name: F}}
            channels:
              - name: hook
                type: webhook
                url: "http://127.0.0.1:9/hook?token={secret_token}"
                secret: "${{HOOK_SECRET}}"
                alerts: true
                digest: "* * * * *"
            """,
        )
        log = tmp_path / "run.log"
        env = {**os.environ, "HOOK_SECRET": "another-secret-value-1234"}
        with log.open("w") as sink:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "monitor",
                    "--config",
                    str(cfg),
                    "run",
                    "--tick",
                    "0.5",
                    "--log-format",
                    "json",
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
                env=env,
            )
            try:

                def metrics_after_a_poll() -> str:
                    try:
                        _status, body = _get(f"http://127.0.0.1:{port}/metrics")
                    except OSError:
                        return ""
                    return body if 'monitor_polls_total{outcome="ok"} 1.0' in body else ""

                body = wait_until(
                    metrics_after_a_poll, 30, "/metrics to count a poll", detail=log.read_text
                )
                assert "monitor_fetch_seconds_bucket" in body
                assert 'monitor_matches_total{topic="norad"} 1.0' in body
                assert "monitor_outbox_deliveries" in body
                status, health = _get(f"http://127.0.0.1:{port}/healthz")
                assert status == 200, health
                assert json.loads(health)["status"] == "ok"
                assert _get(f"http://127.0.0.1:{port}/nope")[0] == 404
                # the search job takes the stored item into the pages' text index
                reader = Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", upgrade=False)
                try:
                    wait_until(
                        lambda: not reader.text_index.pending(), 20, "the search job to index"
                    )
                    assert reader.text_index.indexed()
                finally:
                    reader.close()
                # let the webhook delivery fail at least once (port 9 refuses)
                assert wait_for(log, '"deliver"', 20), log.read_text()
            finally:
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=10)
    text = log.read_text()
    assert code == 0, text
    lines = [line for line in text.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    polls = [e for e in events if e.get("event") == "poll"]
    assert polls and {"feed", "outcome", "status", "items", "duration_ms"} <= set(polls[0])
    assert any(e.get("event") == "deliver" for e in events), text
    assert secret_token not in text
    assert "another-secret-value-1234" not in text


async def test_health_is_503_when_the_scheduler_stalls(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path), environ={})
    store = Store.open(cfg.database_url)
    now = [datetime(2026, 11, 20, 12, tzinfo=UTC)]
    async with Fetcher() as fetcher, httpx.AsyncClient():
        from monitor.cli.runtime import cadence_policy
        from monitor.pipeline import Pipeline

        pipeline = Pipeline(store, fetcher, lambda: service.current_matcher(), cadence_policy(cfg))
        service = Service(
            cfg, store, pipeline, Outbox(store, {}, cfg.channels), clock=lambda: now[0], tick_s=5
        )
        await service.poll_tick()
        ok, details = await service.check_health()
        assert ok, details
        now[0] += timedelta(minutes=5)
        ok, details = await service.check_health()
        assert not ok and "has not ticked" in str(details["reason"])
        store.close()
        ok, _ = await service.check_health()
        pipeline.close()
    await asyncio.sleep(0)


async def test_polls_the_database_will_not_store_make_the_daemon_unhealthy_until_one_is(
    tmp_path: Path,
) -> None:
    import sqlite3

    from monitor.cli.runtime import cadence_policy
    from monitor.pipeline import Pipeline
    from tests.support import until

    def rename(old: str, new: str) -> None:  # as a full disk, every write of items fails
        conn = sqlite3.connect(tmp_path / "monitor.db", timeout=30)
        with conn:
            conn.execute(f"ALTER TABLE {old} RENAME TO {new}")
        conn.close()

    with FeedServer() as server:
        news = [SampleItem("NORAD review: Canada weighs radar costs", link="https://n.example/1")]
        url = server.feed("/f.xml", rss_feed("F", news))
        cfg = load_config(
            write_config(tmp_path, f'feeds:\n  - {{url: "{url}", name: F}}\n'), environ={}
        )
        store = Store.open(cfg.database_url)
        now = [datetime.now(UTC)]
        async with Fetcher() as fetcher:
            pipeline = Pipeline(
                store,
                fetcher,
                lambda: service.current_matcher(),
                cadence_policy(cfg),
                clock=lambda: now[0],
            )
            service = Service(
                cfg, store, pipeline, Outbox(store, {}, cfg.channels), clock=lambda: now[0]
            )
            store.sync_feeds(list(cfg.feeds), now[0])

            async def poll_round() -> None:
                now[0] += timedelta(hours=7)  # past any backoff: the feed is due again
                await service.poll_tick()
                await until(lambda: not service.poller.busy, "the round of polls to end")

            rename("items", "items_away")
            for _ in range(3):
                await poll_round()
                [feed] = store.feeds()
                assert feed.last_error_kind == "database", feed
            ok, details = await service.check_health()
            assert not ok and "poll-writes" in str(details["reason"]), details
            assert "cannot store this poll" in str(details["reason"])

            rename("items_away", "items")
            await poll_round()
            ok, details = await service.check_health()
            assert ok, details
            assert "failing_jobs" not in details
            assert store.item(url="https://n.example/1") is not None
            pipeline.close()
        store.close()


async def test_a_stop_the_database_refuses_to_record_still_stops_and_says_what_is_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A stop gives back the feeds this worker holds; a database that refuses it (here the
    feeds table is gone) leaves leases that expire on their own: the daemon says so and
    stops, instead of ending with a traceback."""
    import sqlite3

    from monitor.cli.runtime import cadence_policy
    from monitor.pipeline import Pipeline
    from tests.support import until

    with FeedServer() as server:
        url = server.feed("/f.xml", rss_feed("F", [SampleItem("NORAD review", link="https://n/1")]))
        cfg = load_config(
            write_config(tmp_path, f'feeds:\n  - {{url: "{url}", name: F}}\n'), environ={}
        )
        store = Store.open(cfg.database_url)
        async with Fetcher() as fetcher:
            pipeline = Pipeline(
                store, fetcher, lambda: service.current_matcher(), cadence_policy(cfg)
            )
            service = Service(cfg, store, pipeline, Outbox(store, {}, cfg.channels), tick_s=0.2)
            stop = asyncio.Event()
            running = asyncio.create_task(service.run(stop))
            try:
                await until(
                    lambda: server.count("/f.xml") > 0 and not service.poller.busy, "a poll"
                )
                conn = sqlite3.connect(tmp_path / "monitor.db", timeout=30)
                with conn:
                    conn.execute("ALTER TABLE feeds RENAME TO feeds_away")
                conn.close()
                stop.set()
                await asyncio.wait_for(running, 30)  # returns: no exception
            finally:
                stop.set()
                pipeline.close()  # its parse workers, whatever the outcome
        store.close()
    warned = [r.getMessage() for r in caplog.records if "cannot give back" in r.getMessage()]
    assert warned and "polling.lease" in warned[0], warned


def test_a_stopping_daemon_closes_every_part_even_when_one_close_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from monitor.cli.run_cmd import _close_all

    closed: list[str] = []

    def broken() -> None:
        raise OSError("the pipe to a worker is closed")

    _close_all(("the article job", broken), ("the parse workers", lambda: closed.append("pool")))
    assert closed == ["pool"]  # the parse workers are stopped all the same
    [record] = [r for r in caplog.records if "closing the article job failed" in r.getMessage()]
    assert record.exc_info is not None and "pipe to a worker" in str(record.exc_info[1])
