"""The daemon's delivery jobs: digests when their window closes, alert batches, the outbox.

Owns: scheduling each channel's digest job (one APScheduler date job, rescheduled after every
run, sooner after a failure: ``jobs.retry_at``), building alerts and flushing the outbox. What
a digest holds and when it is sent are decided by ``outbox``, ``digest`` and ``schedule``.
Must not import cli.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from apscheduler.triggers.date import DateTrigger

from monitor import jobs, schedule
from monitor.channels import ChannelSpec
from monitor.scheduler.health import JobHealth


class DeliveryJobs(JobHealth):
    """The jobs that build and send what channels receive."""

    async def build_alerts(self) -> None:
        now = self.clock()
        built = False
        for channel in self.cfg.channels:
            if channel.alerts and await self.outbox.build_alerts(channel, now) is not None:
                built = True
        if built:
            await self.flush()

    async def flush(self) -> None:
        for report in await self.outbox.flush():
            self.metrics.observe_delivery(report)

    async def digest_job(self, name: str) -> None:
        """Build and send the channel's digest if a window closed, then schedule the next run:
        whatever this run does, the job keeps its schedule (a failed run is tried again
        sooner, after a growing wait, see ``jobs.retry_at``)."""
        try:
            channel = self.cfg.channel(name)
        except KeyError:
            return
        try:
            window = await self.outbox.due_digest_windows(channel, self.clock())
            if window is not None:
                await self.outbox.build_digest(channel, window)
                await self.flush()
        except Exception:
            failures = self.health.jobs.get(f"digest:{name}", jobs.JobState()).failures + 1
            self._schedule_digest(channel, failures=failures)
            raise
        self._schedule_digest(channel)

    def _schedule_digests(self, *, catch_up: bool) -> None:
        sched = self._scheduler
        if sched is None:
            return
        wanted = {f"digest:{c.name}" for c in self.cfg.channels if c.digest}
        for job in sched.get_jobs():
            if job.id.startswith("digest:") and job.id not in wanted:
                job.remove()
        for channel in self.cfg.channels:
            if channel.digest:
                self._schedule_digest(channel, at=self.clock() if catch_up else None)

    def _schedule_digest(
        self, channel: ChannelSpec, at: datetime | None = None, *, failures: int = 0
    ) -> None:
        sched = self._scheduler
        if sched is None or self._stopping or not channel.digest:
            return
        now = self.clock()
        regular = schedule.next_digest_at(channel.digest, self.cfg.timezone, now)
        when = at or jobs.retry_at(
            failures, now, regular, base_s=self.retry_s, cap_s=30 * self.retry_s
        )
        sched.add_job(
            self._job(_bind(self.digest_job, channel.name), f"digest:{channel.name}"),
            DateTrigger(run_date=when, timezone=UTC),
            id=f"digest:{channel.name}",
            replace_existing=True,
            misfire_grace_time=None,
            # the run that schedules this one is still finishing when a short retry wait ends;
            # with one instance allowed, APScheduler would skip this run and drop the job
            max_instances=2,
        )


def _bind(
    fn: Callable[[str], Coroutine[Any, Any, None]], arg: str
) -> Callable[[], Coroutine[Any, Any, None]]:
    async def bound() -> None:
        await fn(arg)

    bound.__name__ = f"{fn.__name__}({arg})"
    return bound
