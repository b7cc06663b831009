"""Polls happen at the configured interval, in practice: real feed servers, a SQLite file,
`monitor poll --once` and `monitor feeds`, and a running service reloading its settings.

The configured interval (global or a feed's own) is the longest gap between polls unless the
user opts into adaptive slowing; server hints lengthen a gap only within their bound; a reload
or a restart re-plans next polls stored under other settings; `monitor feeds` says why each
next poll is when it is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.cadence import policy_from_settings
from monitor.config import load_config
from monitor.fetch import Fetcher
from monitor.outbox import Outbox
from monitor.pipeline import Pipeline
from monitor.poller import run_cycle
from monitor.scheduler import Service
from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.support import write_config
from tests.test_cli import monitor

ITEMS = [SampleItem("Weather outlook for the week", link="https://news.example.org/w")]


def _feeds(cfg: Path) -> dict[str, dict[str, Any]]:
    out = monitor(cfg, "feeds", "--format", "json")
    assert out.returncode == 0, out.stderr
    return {f["name"]: f for f in json.loads(out.stdout)}


def _gap_s(feed: dict[str, Any]) -> float:
    polled = datetime.fromisoformat(feed["last_polled_at"])
    return (datetime.fromisoformat(feed["next_poll_at"]) - polled).total_seconds()


@pytest.mark.slow
def test_the_configured_interval_is_the_longest_gap_after_a_304(tmp_path: Path) -> None:
    with FeedServer() as server:
        plain = server.feed("/plain.xml", rss_feed("Plain", ITEMS))
        own = server.feed("/own.xml", rss_feed("Own", ITEMS))
        cached = server.feed(
            "/cached.xml", rss_feed("Cached", ITEMS), cache_control="public, max-age=86400"
        )
        cfg = write_config(
            tmp_path,
            f"""
            polling: {{interval: 1m}}
            feeds:
              - {{url: "{plain}", name: plain}}
              - {{url: "{own}", name: own, interval: 30s}}
              - {{url: "{cached}", name: cached}}
            """,
        )
        for _ in range(2):  # the second poll is answered 304 Not Modified
            out = monitor(cfg, "poll", "--once", "--all")
            assert out.returncode == 0, out.stderr
        assert server.count("/plain.xml") == 2
        feeds = _feeds(cfg)
    assert 0 < _gap_s(feeds["plain"]) <= 60
    assert feeds["plain"]["next_poll_reason"] == "interval"
    assert 0 < _gap_s(feeds["own"]) <= 30
    # a day's max-age lengthens the gap, but only to twice the interval
    assert 60 < _gap_s(feeds["cached"]) <= 120
    assert feeds["cached"]["next_poll_reason"] == "max-age"
    table = monitor(cfg, "feeds")
    assert "why" in table.stdout and "max-age" in table.stdout, table.stdout


@pytest.mark.slow
def test_a_restart_replans_next_polls_stored_further_out(tmp_path: Path) -> None:
    with FeedServer() as server:
        url = server.feed("/f.xml", rss_feed("F", ITEMS))
        cfg = write_config(
            tmp_path,
            f"""
            polling: {{interval: 1m}}
            feeds:
              - {{url: "{url}", name: F}}
            """,
        )
        assert monitor(cfg, "poll", "--once").returncode == 0
        assert server.count("/f.xml") == 1
        # as an older version left it: polled two minutes ago, next poll six hours out
        now = datetime.now(UTC)
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE feeds SET last_polled_at = :polled, next_poll_at = :next"),
                {
                    "polled": (now - timedelta(minutes=2)).replace(tzinfo=None),
                    "next": (now + timedelta(hours=6)).replace(tzinfo=None),
                },
            )
        engine.dispose()
        out = monitor(cfg, "poll", "--once")  # only what is due
        assert out.returncode == 0, out.stderr
        assert server.count("/f.xml") == 2, "the feed is due at its interval, not in 6 h"
        assert 0 < _gap_s(_feeds(cfg)["F"]) <= 60


def _write(path: Path, text: str) -> None:
    """Write a config file and make sure its modification time moves."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


async def test_a_reload_applies_polling_settings_and_replans(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FeedServer(latency_s=0.5) as server:
        url = server.feed("/f.xml", rss_feed("F", ITEMS))
        body = """
            polling: {{interval: {interval}, timeout: {timeout}, deadline: 10s, concurrency: {c}}}
            feeds:
              - {{url: "{url}", name: F}}
            """
        cfg_path = write_config(tmp_path, body.format(interval="1h", timeout="5s", c=10, url=url))
        cfg = load_config(cfg_path, environ={})
        store = Store.open(cfg.database_url)
        async with Fetcher(timeout_s=cfg.polling.timeout) as fetcher:
            pipeline = Pipeline(
                store, fetcher, lambda: service.current_matcher(), policy_from_settings(cfg.polling)
            )
            service = Service(
                cfg,
                store,
                pipeline,
                Outbox(store, {}, cfg.channels),
                reload_config=lambda: load_config(cfg_path, environ={}),
            )
            try:
                store.sync_feeds(cfg.feeds, datetime.now(UTC))
                first = (await run_cycle(pipeline)).polls
                assert [p.outcome for p in first] == ["ok"]
                (feed,) = store.feeds()
                assert feed.last_polled_at and feed.next_poll_at
                assert (feed.next_poll_at - feed.last_polled_at) > timedelta(minutes=50)

                # the interval falls to 1 minute and the timeout below the server's latency
                text = body.format(interval="1m", timeout="0.2s", c=20, url=url)
                _write(cfg_path, write_config(tmp_path, text).read_text())
                with caplog.at_level(logging.INFO, logger="monitor.run"):
                    await service.check_reload()
                (feed,) = store.feeds()
                assert feed.next_poll_at is not None and feed.last_polled_at is not None
                assert feed.next_poll_at - feed.last_polled_at <= timedelta(minutes=1)
                reloaded = [r for r in caplog.records if r.getMessage() == "configuration reloaded"]
                assert reloaded and reloaded[-1].fields["replanned"] == 1  # type: ignore[attr-defined]
                assert "polling.concurrency" in caplog.text and "restart" in caplog.text

                second = (await run_cycle(pipeline, urls=[url])).polls
                assert [p.error_kind for p in second] == ["timeout"], second
                assert "0.2 s" in (second[0].error or "")
            finally:
                pipeline.close()
                store.close()
    await asyncio.sleep(0)
