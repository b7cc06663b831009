"""Hot reload against a running daemon: a real `monitor run` process and real file edits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.support import TEST_WATCHLIST, wait_for, write_config

NEW_TOPIC = """
  - id: exercises
    name: Military exercises
    description: Exercises by the armed forces.
    threshold: 2
    groups:
      exercise:
        weight: 2
        terms: [military exercise*, wargame*]
"""


@pytest.mark.slow
def test_edits_are_validated_and_swapped_in_while_running(tmp_path: Path) -> None:
    with FeedServer() as server:
        first = server.feed(
            "/a.xml",
            rss_feed(
                "A",
                [
                    SampleItem(
                        "Navy begins a military exercise off Halifax",
                        link="https://news.example.org/a",
                    )
                ],
            ),
        )
        second = server.feed(
            "/b.xml",
            rss_feed(
                "B",
                [
                    SampleItem(
                        "Army wargames planned near Wainwright", link="https://news.example.org/b"
                    )
                ],
            ),
        )
        feeds = f'feeds:\n  - {{url: "{first}", name: A}}\n'
        cfg = write_config(tmp_path, feeds)
        watchlist = tmp_path / "watchlists" / "test.yaml"
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(cfg), "run", "--tick", "0.5"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
                env={**os.environ, "COLUMNS": "200"},
            )
            try:
                assert wait_for(log, "outcome=ok", 30), log.read_text()
                # a broken edit: reported with file and line, the daemon keeps running
                mark = len(log.read_text())
                watchlist.write_text(
                    TEST_WATCHLIST.replace("threshold: 2\n    alert_at: 6", "threshold: high"),
                    encoding="utf-8",
                )
                assert wait_for(log, "configuration change rejected", 20, mark), log.read_text()
                assert f"{watchlist}:" in log.read_text()[mark:]
                assert proc.poll() is None
                # a good edit: a new topic and a new feed; the new feed is scored with it
                mark = len(log.read_text())
                watchlist.write_text(TEST_WATCHLIST + NEW_TOPIC, encoding="utf-8")
                cfg.write_text(
                    cfg.read_text() + f'  - {{url: "{second}", name: B}}\n', encoding="utf-8"
                )
                assert wait_for(log, "configuration reloaded", 20, mark), log.read_text()
                assert wait_for(log, "b.xml", 20, mark), log.read_text()
            finally:
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=10)
        assert code == 0, log.read_text()
        out = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(cfg), "matches", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        found = {(m["title"], m["topic"]) for m in json.loads(out.stdout)}
        # the feed polled before the edit was scored with the old topics (no match); the one
        # added with the edit was scored with the new topic
        assert found == {("Army wargames planned near Wainwright", "exercises")}, found
