"""Crash test of a signal's delivery: a real ``monitor run`` killed with SIGKILL while it
sends a story surge, then started again; the surge arrives once.

The daemon (tick 0.5 s, a signal pass every second) polls four outlets on the test feed
server that carry one story, published now; its signal pass finds the story surging and the
outbox sends the surge to a webhook channel on the test receiver. The first run dies at
``before_send`` (the surge's message is recorded, nothing sent) or ``after_send`` (the
receiver accepted it, the outbox has not yet recorded that the delivery is done), through
``MONITOR_TEST_CRASH_AT`` as in ``tests/test_crash.py``. The second run must send what is
left and decide nothing twice: one surge request in all, one delivery, one signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.receiver import Receiver
from tests.support import wait_until, write_config
from tests.test_crash import _store
from tests.test_signals_farm import STORY

pytestmark = pytest.mark.slow

HOOK_SECRET = "signal-crash-signing-secret-0123456789"
#: a bound on waiting for each run's events, not a wait
BOUND_S = 120


def _start(folder: Path, config: Path, log: Path, crash_at: str | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_TEST_CRASH_AT"}
    env["HOOK_SECRET"] = HOOK_SECRET
    if crash_at:
        env["MONITOR_TEST_CRASH_AT"] = crash_at
    with log.open("w") as sink:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "monitor", "--config", str(config)),
                *("run", "--tick", "0.5", "--log-level", "DEBUG"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
        )


@pytest.mark.parametrize("point", ["before_send", "after_send"])
def test_a_surge_killed_while_it_is_sent_arrives_once_after_restart(
    tmp_path: Path, rx: Receiver, point: str
) -> None:
    published = datetime.now(UTC)
    with FeedServer() as server:
        feeds = [
            server.feed(
                f"/o{i}.xml",
                rss_feed(
                    f"Outlet {i}",
                    [
                        SampleItem(
                            STORY.title,
                            link=f"https://o{i}.example.org/tariffs",
                            summary=STORY.summary,
                            published=published,
                        )
                    ],
                ),
            )
            for i in range(4)
        ]
        listed = ", ".join(
            f'{{url: "{u}", name: "Outlet {i}", lang: en}}' for i, u in enumerate(feeds)
        )
        config = write_config(
            tmp_path,
            f"""
            delivery: {{lease: 1s}}
            signals: {{every: 1s}}
            channels:
              - name: hook
                type: webhook
                url: "{rx.url("/hook")}"
                secret: "${{HOOK_SECRET}}"
            feeds: [{listed}]
            """,
        )
        first, second = tmp_path / "first.log", tmp_path / "second.log"
        proc = _start(tmp_path, config, first, point)
        try:
            exit_code = proc.wait(timeout=BOUND_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert exit_code == -signal.SIGKILL, first.read_text(errors="replace")
        assert len(rx.requests) == (1 if point == "after_send" else 0)
        with _store(tmp_path) as store:
            (pending,) = store.deliveries()
            assert (pending.kind, pending.status) == ("story.surge", "pending")

        proc = _start(tmp_path, config, second, None)
        try:
            with _store(tmp_path) as store:

                def sent() -> bool:
                    rows = store.deliveries()
                    return bool(rows) and all(d.status == "sent" for d in rows)

                wait_until(sent, BOUND_S, "the surge to be sent", detail=second.read_text)
                # three more signal passes: none may decide or send the surge again
                after = _passes(second)
                wait_until(
                    lambda: _passes(second) >= after + 3,
                    BOUND_S,
                    "three signal passes after the send",
                    detail=second.read_text,
                )
                deliveries = store.deliveries()
                fired = store.signals.fired()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    surges = [r for r in rx.requests if r.json()["event"] == "story.surge"]
    assert len(surges) == 1, [r.json()["event"] for r in rx.requests]
    assert [d.kind for d in deliveries] == ["story.surge"]
    assert [s.kind for s in fired] == ["story.surge"]
    assert surges[0].header("Idempotency-Key") == deliveries[0].key
    assert surges[0].json()["signal"]["details"]["count"] == 4


def _passes(log: Path) -> int:
    """Signal passes the run has finished, as its log says."""
    return log.read_text(errors="replace").count("signal pass:")
