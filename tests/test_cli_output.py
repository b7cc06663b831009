"""Output for people, from the ``monitor`` command run as a real process with its output piped
(not a terminal, as under grep, a pager or a cron mail): nothing wraps, times are in the
configured zone, newest first means newest first, and ``--version`` answers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor import __version__
from monitor.ingest import save_items
from monitor.model import FeedUpdate, Item, Reason, TopicMatch
from monitor.store import Store
from tests.support import write_config

NOW = datetime(2026, 12, 6, 11, 5, tzinfo=UTC)
LONG_NAME = "Department of National Defence and Canadian Armed Forces news releases and speeches"


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,  # pipes: not a terminal
        text=True,
        timeout=60,
        env=env,
        cwd=config.parent,
    )


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout) == (0, f"monitor {__version__}\n")


def test_check_prints_one_line_per_problem_when_piped(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
        channels:
          - {name: team, type: console, topics: [norad, canda], digest: "every day at noon"}
        feeds:
          - {url: "https://news.example.org/feed.xml", name: News, intervall: 10m}
        """,
    )
    result = monitor(config, "check")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    problems, summary = lines[:-1], lines[-1]
    assert "3 problem(s)" in summary, result.stderr
    assert len(problems) == 3, result.stderr
    for line in problems:
        assert re.match(rf"{re.escape(str(config))}:\d+: \S", line), line
        assert len(line) > 100 or "intervall" in line  # long messages, still one line each


def _stored(tmp_path: Path) -> Path:
    """A configuration in America/Toronto and a database with one long-named feed whose two
    matched items were matched in the opposite order of their publication."""
    config = write_config(
        tmp_path,
        f"""
        timezone: America/Toronto
        feeds:
          - {{url: "https://news.example.org/feed.xml", name: "{LONG_NAME}"}}
        channels:
          - {{name: console, type: console}}
        """,
    )
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        store.sync_feeds([_Spec()], NOW)
        [feed] = store.feeds()
        store.record_poll(
            feed.id,
            FeedUpdate(polled_at=NOW, next_poll_at=NOW + timedelta(minutes=15), success=True),
        )
        for n, (title, published, matched) in enumerate(
            [
                ("Older story, matched last", NOW - timedelta(days=2), NOW),
                ("Newest story, matched first", NOW - timedelta(hours=1), NOW - timedelta(days=1)),
            ]
        ):
            key = f"k{n}"
            item = Item(
                key=key,
                feed_url=feed.url,
                title=f"NORAD: {title} " + "with a long headline " * 4,
                summary="NORAD radars.",
                url=f"https://news.example.org/{key}",
                published=published,
                lang="en",
                content_hash=f"h{key}",
            )
            reason = Reason("NORAD", "title", 0, 4.0, "group:norad")
            match = TopicMatch("norad", 4.0, "digest", (reason,), False)
            save_items(store, feed.id, [item], [], {key: [match]}, matched)
    finally:
        store.close()
    return config


class _Spec:
    url = "https://news.example.org/feed.xml"
    name = LONG_NAME
    lang = "en"
    interval = None


def test_feeds_table_is_one_line_a_feed_in_the_configured_zone(tmp_path: Path) -> None:
    config = _stored(tmp_path)
    result = monitor(config, "feeds")
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if LONG_NAME in line]
    assert "2026-12-06 06:05 EST" in row  # last success, 11:05 UTC
    assert "2026-12-06 06:20 EST" in row  # next poll
    assert "+00:00" not in result.stdout
    data = json.loads(monitor(config, "feeds", "--format", "json").stdout)
    assert data[0]["next_poll_at"] == "2026-12-06T11:20:00+00:00"  # scripts keep UTC


def test_matches_are_newest_first_and_one_line_each(tmp_path: Path) -> None:
    config = _stored(tmp_path)
    result = monitor(config, "matches")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "NORAD:" in line]
    assert len(rows) == 2, result.stdout  # one line per item, headline unbroken
    assert "Newest story" in rows[0] and "Older story" in rows[1]
    data = json.loads(monitor(config, "matches", "--format", "json").stdout)
    assert [m["title"].split(",")[0] for m in data] == ["NORAD: Newest story", "NORAD: Older story"]
