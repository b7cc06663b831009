"""End to end for what ingest keeps and shows: the per-document entry cap, ``monitor items``
and OPML import/export, run as the ``monitor`` command against feeds served on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.feedserver import FeedServer, rss_feed
from tests.support import write_config
from tests.test_cli import monitor


def test_entries_past_the_cap_are_logged_and_shown_in_feeds(tmp_path: Path) -> None:
    with FeedServer() as server:
        url = server.feed("/archive.xml", rss_feed("Archive", [f"Episode {n}" for n in range(12)]))
        cfg = write_config(
            tmp_path,
            f"""
            polling: {{max_entries: 5}}
            feeds:
              - {{url: "{url}", name: Archive}}
            """,
        )
        polled = monitor(cfg, "poll", "--once")
    assert polled.returncode == 0, polled.stderr
    assert "5 new item(s)" in polled.stdout
    assert "7 entries past polling.max_entries" in polled.stderr
    [feed] = json.loads(monitor(cfg, "feeds", "--format", "json").stdout)
    assert feed["entries_cut"] == 7
    table = monitor(cfg, "feeds")
    assert "7 entries past polling.max_entries not read" in " ".join(table.stdout.split())
