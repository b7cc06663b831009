"""Commands that only read run on the parts of the configuration they read.

A watchlist typo must not hide the feeds' health, and a channel's secret that is not set in
this shell must not stop `explain`, `eval` or `matches`: each needs the database and the
watchlists (or less) and warns about the rest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import TEST_WATCHLIST, write_config

CHANNELS = """
feeds:
  - {url: "http://127.0.0.1:9/a.xml", name: A}
channels:
  - {name: console, type: console}
  - {name: team, type: slack, webhook_url: "${READING_TEST_SLACK_URL}"}
  - {name: hook, type: webhook, url: "https://h.example.org/x", secret: "${READING_TEST_SECRET}"}
"""


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("READING_TEST_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "COLUMNS": "250"},
        cwd=config.parent,
    )


def test_feeds_runs_while_a_watchlist_has_a_mistake(tmp_path: Path) -> None:
    broken = TEST_WATCHLIST.replace("threshold: 2\n    alert_at: 6", "threshold: high")
    cfg = write_config(tmp_path, CHANNELS, watchlist=broken)
    shown = monitor(cfg, "feeds", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert [f["url"] for f in json.loads(shown.stdout)] == ["http://127.0.0.1:9/a.xml"]
    assert "warning: " in shown.stderr and "threshold" in shown.stderr
    assert "monitor check" in shown.stderr
    # check and run still refuse it, with the same problem
    checked = monitor(cfg, "check")
    assert checked.returncode == 2 and "threshold" in checked.stderr


def test_explain_eval_and_matches_run_without_the_channels_secrets(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, CHANNELS)
    explained = monitor(
        cfg, "explain", "--title", "Ottawa weighs NORAD upgrade", "--format", "json"
    )
    assert explained.returncode == 0, explained.stderr
    assert {e["topic"] for e in json.loads(explained.stdout)} == {"norad", "tariffs"}
    # one warning line per missing secret, and one line saying what they mean
    warnings = [ln for ln in explained.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 3, explained.stderr
    assert sum("READING_TEST_SLACK_URL" in ln for ln in warnings) == 1
    assert sum("READING_TEST_SECRET" in ln for ln in warnings) == 1

    matched = monitor(cfg, "matches", "--format", "json")
    assert matched.returncode == 0, matched.stderr
    assert json.loads(matched.stdout) == []

    labelled = tmp_path / "labels.jsonl"
    labelled.write_text(
        json.dumps(
            {
                "id": "a1",
                "title": "Canada answers U.S. tariffs with counter-tariffs",
                "summary": "Ottawa announced counter-tariffs.",
                "lang": "en",
                "labels": {"tariffs": 2, "norad": 0},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    evaluated = monitor(cfg, "eval", str(labelled), "--format", "json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "READING_TEST_SLACK_URL" in evaluated.stderr


def test_a_reading_command_still_refuses_a_broken_part_it_needs(tmp_path: Path) -> None:
    broken = TEST_WATCHLIST.replace("threshold: 2\n    alert_at: 6", "threshold: high")
    cfg = write_config(tmp_path, CHANNELS, watchlist=broken)
    explained = monitor(cfg, "explain", "--title", "NORAD")
    assert explained.returncode == 2
    assert "threshold" in explained.stderr
    assert "READING_TEST" not in explained.stderr  # only the problems of the parts it needs
