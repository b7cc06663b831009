"""Crash test of the delivery outbox: a real ``monitor run`` killed with SIGKILL at each step of
sending, then started again.

Each scenario runs the daemon (tick 0.5 s) against a feed on the test feed server and a webhook
channel pointing at the test receiver. The first run dies at one point: ``after_build`` (the
digest or alert is recorded), ``before_send``, ``after_send`` (the receiver accepted it and the
outbox noted the accepted part, but not yet that the delivery is done) through the
``MONITOR_TEST_CRASH_AT`` switch, or ``during_send``: the receiver holds the request open and
the test kills the process. The second run, without the switch, must deliver every match, each
delivery under one idempotency key. A repeat is allowed only where the process died while the
receiver had the request and before its answer was recorded (``during_send``): that is the
at-least-once-with-idempotency contract, and the repeat carries the same key and the same body.

Both kinds are covered: alert batches (built on a poll tick) and scheduled digests (cron
``* * * * *``, so a scenario may wait for the next minute). A delivery claimed before the crash
is sent again when its lease ends: the scenarios set ``delivery.lease`` to one second, so the
second run finds it free at its first flush. The eight scenarios run side by side; their
figures are printed as a table (``pytest -s tests/test_crash.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.model import Delivery
from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.receiver import Receiver, Reply
from tests.support import wait_until, write_config

pytestmark = pytest.mark.slow

POINTS = ("after_build", "before_send", "during_send", "after_send")
KINDS = ("alert", "digest")
#: requests the receiver had when the first run died
RECEIVED = {"after_build": 0, "before_send": 0, "during_send": 1, "after_send": 1}
#: repeats under one key: only where the process died before the receiver's answer was recorded
REPEATS = {"after_build": 0, "before_send": 0, "during_send": 1, "after_send": 0}
#: how long a claimed delivery is leased to the worker sending it (``delivery.lease``)
LEASE = "1s"
#: the longest the second run may need: start, then the first flush (the flush job runs every
#: 15 s); a bound on waiting for the event, not a wait
RECOVERY_BOUND_S = 90
HOOK_SECRET = "crash-test-signing-secret-0123456789"

#: fresh news, so that its alerts are sent at once (the feed's first poll may alert: see below)
PUBLISHED = datetime.now(UTC)
NEWS = [
    SampleItem(
        "NORAD review: Canada weighs radar costs",
        link="https://news.example.org/norad-radar",
        summary="The NORAD modernization plan is under review.",
        published=PUBLISHED,
    ),
    SampleItem(
        "NORAD commander warns of radar gaps in the Arctic",
        link="https://news.example.org/norad-gaps",
        summary="NORAD said the North Warning System needs replacing.",
        published=PUBLISHED,
    ),
    SampleItem(
        "Canada answers U.S. steel tariffs with counter-tariffs",
        link="https://news.example.org/tariffs",
        summary="Ottawa announced counter-tariffs on American goods.",
        published=PUBLISHED,
    ),
]


@dataclass
class Outcome:
    """What one scenario saw; the figures of the report."""

    kind: str
    point: str
    first_exit: int | None = None
    second_exit: int | None = None
    runs: int = 0
    recovery_s: float = 0.0
    deliveries: list[Delivery] = field(default_factory=list)
    requests_by_key: Counter[str] = field(default_factory=Counter)
    bodies_by_key: dict[str, set[bytes]] = field(default_factory=dict)
    delivered_ids: list[int] = field(default_factory=list)  # one body per key
    expected_ids: list[int] = field(default_factory=list)
    after_crash: tuple[int, list[str]] = (0, [])  # (requests received, outbox statuses)
    logs: str = ""

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.requests_by_key.values())


class Scenario:
    """One kind (alert or digest) killed at one point, then restarted."""

    def __init__(self, kind: str, point: str, folder: Path) -> None:
        self.kind, self.point, self.folder = kind, point, folder
        folder.mkdir()

    def _start(self, config: Path, log: Path, crash_at: str | None) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_TEST_CRASH_AT"}
        env["HOOK_SECRET"] = HOOK_SECRET
        if crash_at:
            env["MONITOR_TEST_CRASH_AT"] = crash_at
        with log.open("w") as sink:
            return subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(config), "run", "--tick", "0.5"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                env=env,
            )

    def run(self) -> Outcome:
        out = Outcome(self.kind, self.point)
        with FeedServer() as feeds, Receiver() as rx:
            feed = feeds.feed("/news.xml", rss_feed("Wire", NEWS))
            when = "alerts: true" if self.kind == "alert" else 'digest: "* * * * *"'
            config = write_config(
                self.folder,
                f"""
                delivery: {{lease: {LEASE}}}
                polling: {{first_poll_alerts: true}}
                feeds:
                  - {{url: "{feed}", name: Wire, lang: en}}
                channels:
                  - name: hook
                    type: webhook
                    url: "{rx.url("/hook")}"
                    secret: "${{HOOK_SECRET}}"
                    {when}
                """,
            )
            first_log, second_log = self.folder / "first.log", self.folder / "second.log"
            try:
                out.first_exit = self._crash(config, first_log, rx)
                out.runs += 1
                with _store(self.folder) as store:
                    out.after_crash = (len(rx.requests), [d.status for d in store.deliveries()])
                out.second_exit, out.recovery_s = self._recover(config, second_log, rx)
                out.runs += 1
            finally:
                out.logs = "\n".join(
                    f"--- {p.name}\n{p.read_text(errors='replace')}"
                    for p in (first_log, second_log)
                    if p.exists()
                )
            with _store(self.folder) as store:
                out.deliveries = store.deliveries()
                out.expected_ids = sorted(
                    m.id
                    for m in store.matches(limit=None)
                    if self.kind == "digest" or m.severity == "alert"
                )
            for r in rx.requests:
                key = r.header("Idempotency-Key") or "(none)"
                out.requests_by_key[key] += 1
                out.bodies_by_key.setdefault(key, set()).add(r.body)
            for bodies in out.bodies_by_key.values():
                body = next(iter(bodies))
                for m in json.loads(body)["matches"]:
                    out.delivered_ids.extend(m["match_ids"])
        return out

    def _crash(self, config: Path, log: Path, rx: Receiver) -> int:
        """The first run, until it dies at the chosen point; returns its exit status."""
        if self.point == "during_send":
            rx.script(Reply(hang=True))
            proc = self._start(config, log, None)
            try:
                wait_until(
                    lambda: len(rx.requests) >= 1,
                    150,
                    "the request to hang",
                    every=0.1,
                    detail=log.read_text,
                )
                proc.send_signal(signal.SIGKILL)
                return proc.wait(timeout=10)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        proc = self._start(config, log, self.point)
        try:
            return proc.wait(timeout=150)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def _recover(self, config: Path, log: Path, rx: Receiver) -> tuple[int, float]:
        """The second run, until the outbox has sent everything; returns its exit status and
        the seconds from its start until everything was sent."""
        started = time.monotonic()
        proc = self._start(config, log, None)
        try:
            with _store(self.folder) as store:

                def done() -> bool:
                    rows = store.deliveries()
                    return bool(rows) and all(d.status == "sent" for d in rows)

                # a delivery claimed before the crash is free again once its lease ran out
                wait_until(
                    done,
                    RECOVERY_BOUND_S,
                    "every delivery to be sent",
                    every=0.1,
                    detail=log.read_text,
                )
                took = time.monotonic() - started
            proc.send_signal(signal.SIGTERM)
            return proc.wait(timeout=15), took
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


class _store:
    """The scenario's database, opened for reading between and during runs (the daemon has
    created it; opening does not migrate, as Alembic's setup is not safe across threads)."""

    _opening = threading.Lock()

    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder / 'monitor.db'}"

    def __enter__(self) -> Store:
        with self._opening:
            self.store = Store.open(self.url, upgrade=False)
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def _table(outcomes: list[Outcome]) -> str:
    head = (
        f"{'kind':<7} {'kill point':<12} {'runs':>4} {'1st exit':>8} {'deliveries':>10} "
        f"{'requests':>8} {'keys':>4} {'dup by key':>10} {'matches':>9} {'all sent after':>14}"
    )
    rows = [head, "-" * len(head)]
    for o in outcomes:
        rows.append(
            f"{o.kind:<7} {o.point:<12} {o.runs:>4} {o.first_exit!s:>8} {len(o.deliveries):>10} "
            f"{sum(o.requests_by_key.values()):>8} {len(o.requests_by_key):>4} "
            f"{o.duplicates:>10} {f'{len(set(o.delivered_ids))}/{len(o.expected_ids)}':>9} "
            f"{o.recovery_s:>13.0f}s"
        )
    return "\n".join(rows)


def test_sigkill_at_any_point_loses_nothing_and_repeats_only_under_the_same_key(
    tmp_path: Path,
) -> None:
    scenarios = [Scenario(k, p, tmp_path / f"{k}-{p}") for k in KINDS for p in POINTS]
    with ThreadPoolExecutor(len(scenarios)) as pool:
        outcomes = list(pool.map(Scenario.run, scenarios))
    print("\nSIGKILL during delivery, then restart:\n" + _table(outcomes))

    for o in outcomes:
        where = f"{o.kind} killed {o.point}:\n{o.logs}"
        assert o.first_exit == -signal.SIGKILL, where
        if o.point != "during_send":
            assert f"fault injection: killing the process at {o.point}" in o.logs, where
        received, statuses = o.after_crash
        # the crash left the delivery recorded and unsent in the outbox
        assert statuses == ["pending"], where
        assert received == RECEIVED[o.point], where
        assert o.second_exit == 0, where
        # every match delivered, each in one delivery, every delivery sent under one key
        assert o.expected_ids, where
        assert sorted(o.delivered_ids) == o.expected_ids, where
        assert [d.status for d in o.deliveries] == ["sent"] * len(o.deliveries), where
        assert sorted(o.requests_by_key) == sorted(d.key for d in o.deliveries), where
        # a repeat is the same request again: same key and byte-for-byte the same body
        assert all(len(bodies) == 1 for bodies in o.bodies_by_key.values()), where
        assert o.duplicates == REPEATS[o.point], where
        if o.kind == "alert":
            assert all(d.kind == "alert" for d in o.deliveries), where
        else:
            assert all(d.kind == "digest" for d in o.deliveries), where
