"""The daemon's health: each job's runs and failures, ``/healthz`` and the gauges of ``/metrics``.

Owns: wrapping a job so that it is tracked for shutdown and its failures are recorded, and
logged when its state changes (the rules are ``monitor.jobs``'); whether the daemon is healthy
(the scheduler ticks, no job fails past its threshold, the database answers); the gauges.
Must not import cli.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from monitor import jobs
from monitor.errors import MonitorError
from monitor.scheduler.base import ServiceState

log = logging.getLogger("monitor.run")


class JobHealth(ServiceState):
    """The daemon's jobs as /healthz and /metrics see them."""

    def _job(
        self, fn: Callable[[], Coroutine[Any, Any, None]], name: str
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        """Wrap a job so it is tracked for shutdown, and a failure of it is recorded (for
        /healthz and /metrics) and logged when the job's state changes, never fatal."""

        async def run() -> None:
            if self._stopping:
                return
            task = asyncio.current_task()
            if task is not None:
                self._inflight.add(task)
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._job_ran(name, exc)
            else:
                self._job_ran(name, None)
            finally:
                if task is not None:
                    self._inflight.discard(task)

        run.__name__ = fn.__name__
        return run

    def _job_ran(self, name: str, exc: Exception | None) -> None:
        """Record one run of job ``name``; log only when its state changes (the first failure
        with its traceback, reaching the failure threshold, the first success after)."""
        error = None if exc is None else (str(exc) or type(exc).__name__)
        before = self.health.jobs.get(name, jobs.JobState())
        state, change = jobs.after_run(before, self.clock(), error, threshold=self.failing_after)
        self.health.jobs[name] = state
        self.metrics.job_failures.labels(name).set(state.failures)
        fields = {"event": "job", "job": name, "failures": state.failures}
        if change == "failing":
            # a bug shows its traceback; a known failure (database, network) its message
            log.error(
                "job %s failed: %s",
                name,
                error,
                exc_info=None if isinstance(exc, MonitorError) else exc,
                extra={"fields": {**fields, "state": "failing", "error": error}},
            )
        elif change == "unhealthy":
            log.error(
                "%s; the daemon reports itself unhealthy until it succeeds",
                jobs.describe(name, state),
                extra={"fields": {**fields, "state": "unhealthy", "error": error}},
            )
        elif change == "recovered":
            log.info(
                "job %s succeeds again after %d failure(s)",
                name,
                before.failures,
                extra={"fields": {**fields, "state": "ok", "after_failures": before.failures}},
            )
        elif exc is not None:
            log.debug("job %s failed again: %s", name, error, extra={"fields": fields})

    def gauges(self) -> dict[str, object]:
        feeds = self.store.feeds(configured_only=True)
        return {
            "outbox": self.store.outbox_depth(),
            "feeds": len(feeds),
            "unhealthy": sum(1 for f in feeds if f.unhealthy or f.disabled_reason),
        }

    async def check_health(self) -> tuple[bool, dict[str, object]]:
        """Healthy when the scheduler ticks and the database answers."""
        now = self.clock()
        details: dict[str, object] = {
            "started_at": self.health.started_at.isoformat(timespec="seconds"),
            "last_tick_at": _iso(self.health.last_tick_at),
            "last_cycle_at": _iso(self.health.last_cycle_at),
        }
        if self.health.reload_errors:
            details["config_problems"] = self.health.reload_errors
        failing = {n: s for n, s in sorted(self.health.jobs.items()) if s.failures}
        if failing:
            details["failing_jobs"] = {n: jobs.describe(n, s) for n, s in failing.items()}
        stale = timedelta(seconds=max(3 * self.tick_s, 30.0))
        last = self.health.last_tick_at or self.health.started_at
        if now - last > stale:
            details["reason"] = f"the scheduler has not ticked since {last.isoformat()}"
            return False, details
        broken = [n for n, s in failing.items() if jobs.unhealthy(s, threshold=self.failing_after)]
        if broken:
            details["reason"] = "; ".join(jobs.describe(n, failing[n]) for n in broken)
            return False, details
        try:
            await asyncio.wait_for(self.db(self.store.ping), timeout=5)
        except (MonitorError, TimeoutError) as exc:
            details["reason"] = f"the database does not answer: {exc or 'timeout'}"
            return False, details
        return True, details


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
