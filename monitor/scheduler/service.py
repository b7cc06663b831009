"""The daemon: starts the jobs of ``monitor run``, polls, and stops within a grace period.

Owns: the lifecycle (start the web pages, schedule the jobs, wait, let in-flight work finish,
give leases back) and the polling jobs: a tick has the poller (``monitor.poller``, the same
driver ``poll --once`` and ``demo`` use) fill its free slots with due feeds, and hears of
each poll and round; article text, signal passes, the pages' text index and pruning.
Health, delivery jobs and reload are the parts it is built from (``health``, ``delivery``,
``reload``). Must not import cli.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor import jobs
from monitor.config import Config
from monitor.configio import watched_files
from monitor.enrich import ArticleEnricher
from monitor.errors import MonitorError, StoreError
from monitor.metrics import Metrics
from monitor.outbox import Outbox
from monitor.pipeline import CycleReport, Pipeline, PollReport
from monitor.poller import Poller
from monitor.scheduler.base import Health
from monitor.scheduler.reload import Reloading, mtimes, signal_rules
from monitor.score.engine import Matcher, compile_topics
from monitor.signalling import SignalPass
from monitor.store import Store
from monitor.web import WebContext, WebServer, make_app

log = logging.getLogger("monitor.run")

#: the name under which polls the database would not store are reported, as a job's failures
WRITES = "poll-writes"

# a worker that has not ticked for this long (or 3 of its ticks) no longer gets a share
WORKER_LIVE_S = 30.0


class Service(Reloading):
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
        #: the process's one way to the database, shared with the pipeline
        self.db = pipeline.db
        self.signals = SignalPass(
            store, outbox, signal_rules(cfg), [t.id for t in cfg.topics], clock=clock, db=self.db
        )
        self.health = Health(started_at=clock())
        self.metrics = metrics or Metrics(self.gauges)
        self.status: WebServer | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        #: the poll driver: slots (polling.concurrency), backlog and rounds
        self.poller = Poller(
            pipeline,
            capacity=cfg.polling.concurrency,
            tick_s=tick_s,
            on_poll=self._polled,
            on_round=self._round_ended,
            tasks=self._inflight,
        )
        self._mtimes = mtimes(watched_files(cfg))
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
        await self.db(self.store.sync_feeds, self._feed_specs(), self.clock())
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
                        db=self.db,
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
        self.poller.stopping = True
        # no new runs, but the jobs running now finish within the grace period: the
        # scheduler's shutdown cancels the runs it started, so it comes after the wait
        sched.pause()
        pending = {t for t in self._inflight if not t.done()}
        if pending:
            log.info("stopping: waiting for %d job(s) in flight", len(pending))
            _done, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)
        sched.shutdown(wait=False)
        if self.status is not None:
            await self.status.stop()
        # feeds claimed but not finished go back to the pool now, not when the lease expires,
        # and the worker leaves the database's list; a database that refuses either costs the
        # other workers a wait, not a feed
        for step, refused in (
            (
                self.store.release_leases,
                "cannot give back the feeds this worker holds (%s): other workers poll them "
                "once their lease ends (polling.lease)",
            ),
            (self.store.leave, "cannot remove this worker from the database's list: %s"),
        ):
            try:
                await self.db(step, self.pipeline.owner)
            except MonitorError as exc:
                log.warning(refused, exc)
        self.signals.close()
        log.info("stopped", extra={"fields": {"event": "stop"}})

    # -- jobs --------------------------------------------------------------------------------

    async def poll_tick(self) -> None:
        """Claim as many due feeds as there are free polling slots, and start polling them.

        Polls run on their own; a slow feed holds one slot, not the whole cycle. Several
        workers sharing a database each claim what is due, and a feed is claimed by one.
        """
        self.health.last_tick_at = self.clock()
        try:
            live = max(WORKER_LIVE_S, 3 * self.tick_s)
            self.poller.workers = await self.pipeline.heartbeat(live)
        except MonitorError as exc:  # the claim below reports the database too
            log.warning("cannot record this worker's heartbeat: %s", exc)
        await self.poller.refill()
        if any(c.alerts for c in self.cfg.channels):
            await self.build_alerts()

    def _polled(self, report: PollReport) -> None:
        # a poll the database would not store is the daemon's trouble more than the feed's
        if report.error_kind == "database":
            self._job_ran(WRITES, StoreError(report.error or "database error"))
        elif report.outcome != "error":
            self._job_ran(WRITES, None)

    def _round_ended(self, done: CycleReport) -> None:
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

    async def signal_pass(self) -> None:
        """Decide what fired (surges, spikes, source notices, updated items), record the
        messages due, and send them."""
        fired = await self.signals.run(self.cfg.channels)
        self.metrics.observe_signals(fired)
        await self.flush()

    async def index_text(self) -> None:
        """Bring the pages' text index up to date with the items stored since the last run."""
        added = await self.db(self.store.text_index.catch_up)
        if added:
            log.debug("indexed %d item(s) for search", added)

    async def prune(self) -> None:
        now = self.clock()
        keep = timedelta(seconds=self.cfg.retention.unmatched_items)
        removed = await self.db(
            self.store.prune, unmatched_before=now - keep, bands_before=now - timedelta(days=7)
        )
        if removed is None:
            log.info("another worker is pruning", extra={"fields": {"event": "prune"}})
            return
        log.info("pruned", extra={"fields": {"event": "prune", "items": removed}})
