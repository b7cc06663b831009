"""How signals look: each kind's own message in Slack, email, webhook JSON and the console,
and the foot of a digest (updated items, source notices). Feed text inside a signal is as
untrusted as an item's: it arrives cleaned and escaped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.digest import build_digest, build_signal_message, digest_from_json, digest_to_json
from monitor.model import Signal
from monitor.render import (
    SCHEMA_VERSION,
    console_text,
    email_message,
    slack_messages,
    webhook_payload,
)
from monitor.store import Store
from tests.support import write_config

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOSTILE = "<!channel> *Ministry*\x1b[31m \u202eevil"


def surge(level: int = 1) -> Signal:
    return Signal(
        kind="story.surge",
        key=f"story.surge:{level}",
        subject="story-1",
        title="Tariffs — surging",
        fired_at=NOW,
        topics=("tariffs",),
        details={
            "story": "story-1",
            "level": level,
            "count": 5,
            "in_window": 5,
            "threshold": 4,
            "window_s": 21600.0,
            "previous_count": 5 if level == 2 else None,
            "outlets": [
                {
                    "name": HOSTILE if i == 0 else f"Outlet {i}",
                    "feed_url": f"https://o{i}.example.org/feed",
                    "first_seen": NOW.isoformat(),
                    "title": "Canada answers tariffs",
                    "url": "javascript:alert(1)" if i == 1 else f"https://o{i}.example.org/a",
                }
                for i in range(5)
            ],
        },
    )


def spike() -> Signal:
    return Signal(
        kind="topic.spike",
        key="topic.spike:1",
        subject="norad",
        title="12 matches in 24 h (6.0× its daily mean)",
        fired_at=NOW,
        topics=("norad",),
        details={
            "topic": "norad",
            "count": 12,
            "baseline_days": 14,
            "daily": [2] * 14,
            "mean": 2.0,
            "sd": 0.0,
            "threshold": 6.243,
            "min_count": 5,
            "top_stories": [{"story": "s", "title": "NORAD radar", "url": None, "outlets": 3}],
        },
    )


def notice(state: str = "failing") -> Signal:
    return Signal(
        kind="source.health",
        key=f"source.health:{state}",
        subject="https://ministry.example.org/feed",
        title=f"{HOSTILE} has been failing since 2026-03-02 06:00 UTC",
        fired_at=NOW,
        details={
            "feed_url": "https://ministry.example.org/feed",
            "feed_name": HOSTILE,
            "state": state,
            "previous_state": "ok",
            "since": NOW.isoformat(),
            "error": "HTTP 503 from <server>",
            "consecutive_failures": 7,
            "median_gap_s": None,
            "quiet_for_s": None,
        },
    )


def updated() -> Signal:
    return Signal(
        kind="item.updated",
        key="item.updated:1",
        subject="42",
        title="NORAD review opens as Canada weighs counter-tariffs",
        fired_at=NOW,
        topics=("norad", "tariffs"),
        details={
            "item": 42,
            "title": "NORAD review opens as Canada weighs counter-tariffs",
            "previous_title": "NORAD review opens",
            "url": "https://wire.example.org/review",
            "feed_url": "https://wire.example.org/feed",
            "feed_name": "Wire",
            "changes": [{"topic": "tariffs", "change": "new", "after": "digest"}],
        },
    )


@pytest.mark.parametrize("signal", [surge(), surge(2), spike(), notice(), notice("ok"), updated()])
def test_each_signal_has_its_own_message_everywhere(signal: Signal) -> None:
    message = build_signal_message("hook", signal, now=NOW, topic_names={"norad": "NORAD"})
    again = digest_from_json(digest_to_json(message))
    assert again == message  # what the outbox keeps is what is sent

    body = webhook_payload(message)
    assert body["schema_version"] == SCHEMA_VERSION == 2
    assert body["event"] == signal.kind and body["signal"]["kind"] == signal.kind
    text = json.dumps(body)
    assert "\\u001b" not in text and "\u202e" not in text
    assert "javascript:" not in text

    (slack,) = slack_messages(message)
    section = slack["blocks"][1]["text"]["text"]
    assert "<!channel>" not in section and "\x1b" not in section
    assert slack["blocks"][0]["type"] == "header"

    mail = email_message(message, sender="monitor@example.org", to=["a@example.org"])
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<!channel>" not in html and "javascript:" not in html
    assert mail["Subject"].startswith("[monitor] ")

    shown = console_text(message)
    assert "\x1b" not in shown and shown.startswith("Policy Monitor ")


def test_the_words_say_what_fired_and_why() -> None:
    s = console_text(build_signal_message("hook", surge(), now=NOW))
    assert "story surge" in s and "5 outlets (5 within 6 h; a surge is 4)" in s
    f = console_text(build_signal_message("hook", surge(2), now=NOW))
    assert "follow-up" in f and "5 at the first alert" in f
    p = console_text(build_signal_message("hook", spike(), now=NOW, topic_names={"norad": "NORAD"}))
    assert "NORAD: 12 matches in 24 h" in p and "mean 2.0/day" in p and "NORAD radar (3" in p
    n = console_text(build_signal_message("hook", notice(), now=NOW))
    assert "source failing" in n and "HTTP 503" in n
    u = console_text(build_signal_message("hook", updated(), now=NOW))
    assert "Was: NORAD review opens" in u and "now matches tariffs (digest)" in u


def test_a_digest_lists_updated_items_and_source_notices_at_its_foot() -> None:
    digest = build_digest(
        "mail", [], window_start=None, window_end=NOW, signals=[updated(), notice()]
    )
    text = console_text(digest)
    assert text.index("Updated:") < text.index("Sources:")
    assert "now matches tariffs" in text
    mail = email_message(digest, sender="monitor@example.org", to=["a@example.org"])
    plain = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Updated" in plain and "Sources" in plain and "Source failing" in plain
    assert ">updated<" in html and "Sources</h2>" in html
    blocks = [
        b["text"]["text"]
        for m in slack_messages(digest)
        for b in m["blocks"]
        if "text" in b and b["type"] == "section"
    ]
    assert any(b.startswith("*Updated*") for b in blocks)
    assert any(b.startswith("*Sources*") for b in blocks)
    body = webhook_payload(digest)
    assert body["event"] == "digest"
    assert [u["subject"] for u in body["updates"]] == ["42"]
    assert [n["details"]["state"] for n in body["notices"]] == ["failing"]


@pytest.mark.slow
def test_monitor_signals_says_what_fired_and_why(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        recent = datetime.now(UTC)
        for s in (surge(), spike(), notice()):
            assert store.signals.record(replace(s, fired_at=recent)) is not None
        assert store.signals.record(replace(surge(), fired_at=recent)) is None  # once per key
        store.signals.record(replace(updated(), fired_at=recent - timedelta(days=9)))
    finally:
        store.close()
    env = {**os.environ, "COLUMNS": "250"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "signals", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )

    table = run()
    assert table.returncode == 0, table.stderr
    assert (
        "Story surge" in table.stdout and "5 outlets (5 within 6 h; a surge is 4)" in table.stdout
    )
    assert "mean 2.0/day" in table.stdout and "Source failing" in table.stdout
    assert "Updated item" not in table.stdout  # nine days ago: before --since 7d
    assert "1 source.health, 1 story.surge, 1 topic.spike" in table.stdout
    listed = json.loads(run("--since", "30d", "--format", "json").stdout)
    assert [s["kind"] for s in listed] == [
        "item.updated",
        "story.surge",
        "topic.spike",
        "source.health",
    ]
    only = json.loads(run("--kind", "topic.spike", "--format", "json").stdout)
    assert [s["details"]["count"] for s in only] == [12]
    wrong = run("--kind", "surge")
    assert wrong.returncode == 2 and "--kind must be one of story.surge" in wrong.stderr
