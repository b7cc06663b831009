"""The daemon's clock: APScheduler jobs that poll, build digests and alerts, send, reload.

Owns: when things run. A poll tick claims the feeds that are due (their next poll time is
stored per feed by ``cadence``); one job per channel fires when its digest window closes (the
cron is read by ``monitor.schedule``); the outbox is flushed after each build and on a timer
for retries; configuration files are watched and reloaded; new items are added to the pages'
text index; old items are pruned. Stopping lets in-flight work finish within a grace
period. Must not import cli.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from monitor import cadence, jobs, schedule
from monitor.channels import ChannelSpec
from monitor.config import Config
from monitor.configio import watched_files
from monitor.enrich import ArticleEnricher
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.fetch import Fetcher
from monitor.metrics import Metrics
from monitor.model import FeedState
from monitor.outbox import Outbox
from monitor.pipeline import CycleReport, Pipeline
from monitor.score.engine import Matcher, compile_topics
from monitor.signalling import SignalPass, SignalRules
from monitor.store import Store
from monitor.web import WebContext, WebServer, make_app

log = logging.getLogger("monitor.run")

#: the name under which polls the database would not store are reported, as a job's failures
WRITES = "poll-writes"


@dataclass
class Health:
    """What /healthz and /metrics report about the running daemon."""

    started_at: datetime
    last_tick_at: datetime | None = None
    last_cycle_at: datetime | None = None
    last_cycle_duration_s: float | None = None
    last_reload_at: datetime | None = None
    reload_errors: list[str] = field(default_factory=list)
    jobs: dict[str, jobs.JobState] = field(default_factory=dict)


class Service:
    """Runs the jobs of ``monitor run`` until asked to stop."""

    def __init__(
        self,
        cfg: Config,
        store: Store,
        pipeline: Pipeline,
        outbox: Outbox,
        *,
        reload_config: Callable[[], Config] | None = None,
        metrics: Metrics | None = None,
        tick_s: float = 5.0,
        flush_s: float = 15.0,
        watch_s: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        failing_after: int = jobs.FAILING_AFTER,
        retry_s: float = 30.0,
        enricher: ArticleEnricher | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.pipeline = pipeline
        self.outbox = outbox
        self.enricher = enricher
        self.reload_config = reload_config
        self.tick_s = tick_s
        self.flush_s = flush_s
        self.watch_s = watch_s
        self.clock = clock
        self.failing_after = failing_after
        self.retry_s = retry_s  # first wait before a failed digest job runs again (at most 30x)
        self.matcher: Matcher = compile_topics(cfg.topics)
        self.signals = SignalPass(
            store, outbox, _signal_rules(cfg), [t.id for t in cfg.topics], clock=clock
        )
        self.health = Health(started_at=clock())
        self.metrics = metrics or Metrics(self.gauges)
        self.status: WebServer | None = None
        self.capacity = max(1, cfg.polling.concurrency)
        self._polls: set[asyncio.Task[None]] = set()
        self._claiming = False
        self._backlog = False
        self._refill_at = max(1, self.capacity // 4)  # free slots worth a claim between ticks
        self._workers = 1  # workers sharing the database, as of the last tick
        self._started: deque[datetime] = deque()  # when this worker claimed its recent polls
        self._round = CycleReport(started_at=self.health.started_at)
        self._round_t0 = time.monotonic()
        self._scheduler: AsyncIOScheduler | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._mtimes = _mtimes(watched_files(cfg))
        self._stopping = False
        self._scrubber = cfg.scrubber()
        self._scrubbed = cfg

    def scrub(self, text: str) -> str:
        """``text`` without the secrets of this configuration or of any earlier one."""
        if self._scrubbed is not self.cfg:
            self._scrubber.include(self.cfg.scrubber())
            self._scrubbed = self.cfg
        return self._scrubber(text)

    # -- the matcher the pipeline uses: swapped atomically on reload ---------------------------

    def current_matcher(self) -> Matcher:
        return self.matcher

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, grace_s: float = 4.0) -> None:
        """Start the jobs, wait for ``stop``, then let in-flight work finish for ``grace_s``."""
        await asyncio.to_thread(self.store.sync_feeds, self._feed_specs(), self.clock())
        # next polls stored under other settings (or by an older version) are brought within
        # the current ones
        moved = await self.pipeline.replan()
        if moved:
            log.info(
                "re-planned %d stored next poll(s) for the current polling settings",
                moved,
                extra={"fields": {"event": "replan", "feeds": moved}},
            )
        if self.cfg.status.listen:
            host, _, port = self.cfg.status.listen.rpartition(":")
            try:
                app = make_app(
                    WebContext(
                        self.store,
                        lambda: self.cfg,
                        self.check_health,
                        self.metrics.render,
                        scrub=self.scrub,
                        clock=self.clock,
                    )
                )
                self.status = WebServer(host.strip("[]"), int(port), app)
                await self.status.start()
            # alerts matter more than metrics: run on without them (a port out of range is
            # an OverflowError, a host that is not one a ValueError or an OSError)
            except (OSError, OverflowError, ValueError) as exc:
                log.error(
                    "cannot serve the web pages, /healthz and /metrics on %s: %s",
                    self.cfg.status.listen,
                    exc,
                )
                self.status = None
        sched = AsyncIOScheduler(timezone=UTC)
        self._scheduler = sched
        now = datetime.now(UTC)
        common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 60}
        sched.add_job(
            self._job(self.poll_tick, "poll"),
            "interval",
            seconds=self.tick_s,
            id="poll",
            next_run_time=now,
            **common,
        )
        sched.add_job(
            self._job(self.flush, "flush"),
            "interval",
            seconds=self.flush_s,
            id="flush",
            next_run_time=now + timedelta(seconds=1),
            **common,
        )
        if self.reload_config is not None:
            sched.add_job(
                self._job(self.check_reload, "reload"),
                "interval",
                seconds=self.watch_s,
                id="reload",
                **common,
            )
        if self.enricher is not None:
            sched.add_job(
                self._job(self.enrich, "articles"),
                "interval",
                seconds=self.tick_s,
                id="articles",
                next_run_time=now + timedelta(seconds=self.tick_s / 2),
                **common,
            )
        sched.add_job(
            self._job(self.signal_pass, "signals"),
            "interval",
            seconds=self.cfg.signals.every,
            id="signals",
            next_run_time=now + timedelta(seconds=2),
            **common,
        )
        sched.add_job(
            self._job(self.index_text, "search"),
            "interval",
            seconds=self.tick_s,
            id="search",
            next_run_time=now + timedelta(seconds=3),
            **common,
        )
        sched.add_job(
            self._job(self.prune, "prune"),
            "interval",
            hours=6,
            id="prune",
            next_run_time=now + timedelta(minutes=1),
            **common,
        )
        self._schedule_digests(catch_up=True)
        sched.start()
        log.info(
            "started",
            extra={
                "fields": {
                    "event": "start",
                    "feeds": len(self.cfg.feeds),
                    "channels": len(self.cfg.channels),
                    "topics": len(self.cfg.topics),
                }
            },
        )
        await stop.wait()
        self._stopping = True
        sched.shutdown(wait=False)
        pending = {t for t in self._inflight if not t.done()}
        if pending:
            log.info("stopping: waiting for %d job(s) in flight", len(pending))
            _done, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)
        if self.status is not None:
            await self.status.stop()
        # feeds claimed but not finished go back to the pool now, not when the lease expires
        await asyncio.to_thread(self.store.release_leases, self.pipeline.owner)
        try:
            await asyncio.to_thread(self.store.leave, self.pipeline.owner)
        except MonitorError as exc:
            log.warning("cannot remove this worker from the database's list: %s", exc)
        await asyncio.to_thread(self.signals.close)  # lets a pass in flight finish
        log.info("stopped", extra={"fields": {"event": "stop"}})

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

    # -- jobs --------------------------------------------------------------------------------

    async def poll_tick(self) -> None:
        """Claim as many due feeds as there are free polling slots, and start polling them.

        Polls run on their own; a slow feed holds one slot, not the whole cycle. Several
        workers sharing a database each claim what is due, and a feed is claimed by one.
        """
        self.health.last_tick_at = self.clock()
        try:
            self._workers = await self.pipeline.heartbeat(max(WORKER_LIVE_S, 3 * self.tick_s))
        except MonitorError as exc:  # the claim below reports the database too
            log.warning("cannot record this worker's heartbeat: %s", exc)
        await self._refill()
        if any(c.alerts for c in self.cfg.channels):
            await self.build_alerts()

    async def _refill(self) -> None:
        """Fill the free polling slots with due feeds (one claim at a time)."""
        if self._claiming or self._stopping:
            return
        free = self.capacity - len(self._polls)
        if free <= 0:
            return
        self._claiming = True
        try:
            # with other workers, claim this worker's share of what is due (cadence decides)
            limit = free
            if self._workers > 1:
                # the work of about one round of ticks: what is due, what was polled lately
                now = self.clock()
                while self._started and self._started[0] < now - timedelta(seconds=self.tick_s):
                    self._started.popleft()
                due, busy = await self.pipeline.count_due(self.tick_s)
                mine = max(len(self._started), len(self._polls))
                limit = cadence.claim_size(free, due, busy=busy, mine=mine, workers=self._workers)
            feeds = await self.pipeline.claim(limit=limit) if limit else []
            self._started.extend(self.clock() for _ in feeds)
        finally:
            self._claiming = False
        # a batch that filled the free slots means more may be due: refill as slots free up,
        # not at the next tick (a share leaves the rest to the other workers)
        self._backlog = limit == free and len(feeds) == free
        for feed in feeds:
            if not self._round.polls:
                self._round = CycleReport(started_at=self.clock())
                self._round_t0 = time.monotonic()
            task = asyncio.create_task(self._poll(feed), name=f"poll {feed.id}")
            self._polls.add(task)
            self._inflight.add(task)
            task.add_done_callback(self._polls.discard)
            task.add_done_callback(self._inflight.discard)

    async def _poll(self, feed: FeedState) -> None:
        try:
            report = await self.pipeline.poll_feed(feed)
        except Exception:
            log.exception("polling %s failed", feed.id)
            return
        finally:
            if self._backlog and self.capacity - len(self._polls) + 1 >= self._refill_at:
                self._backlog = False
                refill = asyncio.create_task(self._refill(), name="refill")
                self._inflight.add(refill)
                refill.add_done_callback(self._inflight.discard)
        self._round.polls.append(report)
        # a poll the database would not store is the daemon's trouble more than the feed's
        if report.error_kind == "database":
            self._job_ran(WRITES, StoreError(report.error or "database error"))
        elif report.outcome != "error":
            self._job_ran(WRITES, None)
        if len(self._polls) <= 1:  # this was the last poll in flight: the round is over
            done = self._round
            done.duration_s = time.monotonic() - self._round_t0
            self._round = CycleReport(started_at=self.clock())
            self.health.last_cycle_at = self.clock()
            self.health.last_cycle_duration_s = done.duration_s
            self.metrics.observe_cycle(done, self.clock().timestamp())
            log.info(
                "cycle",
                extra={
                    "fields": {
                        "event": "cycle",
                        "feeds": len(done.polls),
                        "failed": len(done.failed),
                        "new_items": done.new_items,
                        "new_matches": done.new_matches,
                        "duration_ms": round(done.duration_s * 1000),
                    }
                },
            )

    async def enrich(self) -> None:
        """A round of article text: fetch the pages of new items that want it, score them
        again; a match found only now may be an alert."""
        if self.enricher is None or self._stopping:
            return
        report = await self.enricher.run()
        if report.new_matches and any(c.alerts for c in self.cfg.channels):
            await self.build_alerts()

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

    async def signal_pass(self) -> None:
        """Decide what fired (surges, spikes, source notices, updated items), record the
        messages due, and send them."""
        fired = await self.signals.run(self.cfg.channels)
        self.metrics.observe_signals(fired)
        await self.flush()

    # -- health ------------------------------------------------------------------------------

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
            await asyncio.wait_for(asyncio.to_thread(self.store.ping), timeout=5)
        except (MonitorError, TimeoutError) as exc:
            details["reason"] = f"the database does not answer: {exc or 'timeout'}"
            return False, details
        return True, details

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

    async def check_reload(self) -> None:
        assert self.reload_config is not None
        current = _mtimes(watched_files(self.cfg))
        if current == self._mtimes:
            return
        self._mtimes = current
        try:
            new = await asyncio.to_thread(self.reload_config)
            matcher = compile_topics(new.topics)
        except ConfigError as exc:
            self.health.reload_errors = [str(p) for p in exc.problems]
            self.metrics.reload_errors.set(len(exc.problems))
            log.error(
                "configuration change rejected; the last good configuration keeps running:\n%s",
                "\n".join(self.health.reload_errors),
                extra={
                    "fields": {
                        "event": "reload",
                        "outcome": "rejected",
                        "problems": len(exc.problems),
                    }
                },
            )
            return
        # one assignment each: a poll in progress keeps the matcher it started with
        self.matcher = matcher
        old, self.cfg = self.cfg, new
        self._apply_polling(new)
        self.pipeline.sources = new.sources()
        self.outbox.channels = {c.name: c for c in new.channels}
        self.outbox.lease_s = new.delivery.lease
        self.outbox.topic_names = {t.id: t.name for t in new.topics}
        self.signals.rules = _signal_rules(new)
        self.signals.topics = tuple(t.id for t in new.topics)
        self._mtimes = _mtimes(watched_files(new))
        self.health.reload_errors = []
        self.metrics.reload_errors.set(0)
        self.health.last_reload_at = self.clock()
        await asyncio.to_thread(self.store.sync_feeds, self._feed_specs(), self.clock())
        replanned = await self.pipeline.replan()
        self._schedule_digests(catch_up=False)
        pending = _needs_restart(old, new)
        fields: dict[str, object] = {
            "event": "reload",
            "outcome": "ok",
            "topics": len(new.topics),
            "feeds": len(new.feeds),
            "channels": len(new.channels),
            "replanned": replanned,
        }
        if pending:
            fields["needs_restart"] = ",".join(pending)
        log.info("configuration reloaded", extra={"fields": fields})
        if pending:
            log.warning(
                "%s changed: the running daemon keeps the old value until it is restarted",
                ", ".join(pending),
                extra={"fields": {"event": "reload", "needs_restart": ",".join(pending)}},
            )

    def _apply_polling(self, new: Config) -> None:
        """Swap in the polling settings that apply without a restart: cadence (every next
        poll is re-planned after this), timeouts, the size cap and the lease."""
        p = new.polling
        self.pipeline.policy = cadence.policy_from_settings(p)
        self.pipeline.lease_s = p.lease
        if isinstance(self.pipeline.fetcher, Fetcher):
            self.pipeline.fetcher.retune(
                timeout_s=p.timeout, deadline_s=p.deadline, max_bytes=p.max_bytes
            )

    async def index_text(self) -> None:
        """Bring the pages' text index up to date with the items stored since the last run."""
        added = await asyncio.to_thread(self.store.text_index.catch_up)
        if added:
            log.debug("indexed %d item(s) for search", added)

    async def prune(self) -> None:
        now = self.clock()
        keep = timedelta(seconds=self.cfg.retention.unmatched_items)
        removed = await asyncio.to_thread(
            self.store.prune, unmatched_before=now - keep, bands_before=now - timedelta(days=7)
        )
        if removed is None:
            log.info("another worker is pruning", extra={"fields": {"event": "prune"}})
            return
        log.info("pruned", extra={"fields": {"event": "prune", "items": removed}})

    # -- digest scheduling -------------------------------------------------------------------

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

    def _feed_specs(self) -> list[Any]:
        return [f for f in self.cfg.feeds if f.enabled]


# a worker that has not ticked for this long (or 3 of its ticks) no longer gets a share
WORKER_LIVE_S = 30.0

# settings read when the daemon starts; a reload that changes one says it needs a restart
RESTART_ONLY = ("polling.concurrency", "polling.per_host", "polling.parse_workers")


def _needs_restart(old: Config, new: Config) -> list[str]:
    """The start-only settings that ``new`` changes."""
    changed = [
        name
        for name in RESTART_ONLY
        if getattr(old.polling, name.split(".")[1]) != getattr(new.polling, name.split(".")[1])
    ]
    if old.database_url != new.database_url:
        changed.append("database")
    if old.status.listen != new.status.listen:
        changed.append("status.listen")
    return changed


def _signal_rules(cfg: Config) -> SignalRules:
    return SignalRules.from_settings(cfg.signals, [t.id for t in cfg.topics if t.urgent])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _bind(
    fn: Callable[[str], Coroutine[Any, Any, None]], arg: str
) -> Callable[[], Coroutine[Any, Any, None]]:
    async def bound() -> None:
        await fn(arg)

    bound.__name__ = f"{fn.__name__}({arg})"
    return bound


def _mtimes(paths: tuple[str, ...]) -> dict[str, float | None]:
    """Modification times (and sizes) of the files; a file that appears or goes away shows
    as a changed key."""
    out: dict[str, float | None] = {}
    for p in paths:
        try:
            out[p] = os.stat(p).st_mtime_ns / 1e9
        except OSError:
            out[p] = None
    return out
