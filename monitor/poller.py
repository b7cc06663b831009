"""The one poll driver: slots, backlog and rounds, for ``monitor run``, ``poll --once`` and
``demo`` alike.

Owns: how many polls run at once (``capacity`` slots), claiming due feeds to fill the free
slots (this worker's share when several share the database: ``cadence.claim_size``), starting
each poll on its own task so a slow feed holds one slot and not the others, refilling as slots
free up while more is due (the backlog), and rounds: a round runs from the first poll started
while none ran to the end of the last, and is reported as one ``CycleReport``.
``run_once`` is a whole round on demand (what ``poll --once`` and ``demo`` run); the daemon's
tick calls ``refill`` and hears of each poll and each round through callbacks. The polls
themselves are the pipeline's (fetch, parse, write). Must not import cli or scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from monitor import cadence
from monitor.model import FeedState
from monitor.pipeline import CycleReport, Pipeline, PollReport

log = logging.getLogger("monitor.run")

#: the most feeds one round on demand claims (``run_once``)
ONCE_LIMIT = 5000


class Poller:
    """Polls the pipeline's feeds in ``capacity`` slots (see the module's docstring).

    ``on_poll`` hears of each finished poll, ``on_round`` of each finished round; ``tasks``
    (when given) also holds every task started, so that a stop can wait for them.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        capacity: int,
        tick_s: float = 5.0,
        on_poll: Callable[[PollReport], None] | None = None,
        on_round: Callable[[CycleReport], None] | None = None,
        tasks: set[asyncio.Task[None]] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.capacity = max(1, capacity)
        self.tick_s = tick_s
        self.on_poll = on_poll
        self.on_round = on_round
        self.tasks = tasks
        #: workers sharing the database, as of the last heartbeat
        self.workers = 1
        self.stopping = False
        self._polls: set[asyncio.Task[object]] = set()
        self._queued: deque[FeedState] = deque()  # claimed, waiting for a free slot
        self._claiming = False
        self._backlog = False
        self._refill_at = max(1, self.capacity // 4)  # free slots worth a claim between ticks
        self._started: deque[datetime] = deque()  # when this worker claimed its recent polls
        self._round = CycleReport(started_at=pipeline.clock())
        self._round_t0 = time.monotonic()
        self._round_over: asyncio.Future[CycleReport] | None = None  # awaited by run_once

    @property
    def busy(self) -> int:
        """Polls running now."""
        return len(self._polls)

    async def idle(self) -> None:
        """Wait until no poll runs or waits for a slot."""
        while self._polls or self._queued:
            if self._polls:
                await asyncio.wait(set(self._polls))
            else:
                self._start_queued()

    async def refill(self) -> None:
        """Fill the free slots with due feeds (one claim at a time)."""
        if self._claiming or self.stopping:
            return
        free = self.capacity - len(self._polls) - len(self._queued)
        if free <= 0:
            return
        self._claiming = True
        try:
            limit = free
            if self.workers > 1:
                # the work of about one round of ticks: what is due, what was polled lately
                now = self.pipeline.clock()
                while self._started and self._started[0] < now - timedelta(seconds=self.tick_s):
                    self._started.popleft()
                due, busy = await self.pipeline.count_due(self.tick_s)
                mine = max(len(self._started), len(self._polls))
                limit = cadence.claim_size(free, due, busy=busy, mine=mine, workers=self.workers)
            feeds = await self.pipeline.claim(limit=limit) if limit else []
        finally:
            self._claiming = False
        # a batch that filled the free slots means more may be due: refill as slots free up,
        # not at the next tick (a share leaves the rest to the other workers)
        self._backlog = limit == free and len(feeds) == free
        self._start(feeds)

    async def run_once(
        self, *, urls: Sequence[str] | None = None, limit: int = ONCE_LIMIT
    ) -> CycleReport:
        """One round on demand: claim the due feeds (or the given ones, due or not), poll
        them in the slots, and return the round's report once the last has ended."""
        feeds = await self.pipeline.claim(limit=limit, urls=urls)
        if not feeds:
            return CycleReport(started_at=self.pipeline.clock())
        over = self._round_over = asyncio.get_running_loop().create_future()
        try:
            self._start(feeds)
            return await over
        finally:
            self._round_over = None

    def _start(self, feeds: Sequence[FeedState]) -> None:
        self._started.extend(self.pipeline.clock() for _ in feeds)
        self._queued.extend(feeds)
        self._start_queued()

    def _start_queued(self) -> None:
        while self._queued and len(self._polls) < self.capacity:
            feed = self._queued.popleft()
            if not self._polls and not self._round.polls:
                self._round = CycleReport(started_at=self.pipeline.clock())
                self._round_t0 = time.monotonic()
            task = self._track(asyncio.create_task(self._poll(feed), name=f"poll {feed.id}"))
            self._polls.add(task)
            task.add_done_callback(self._polls.discard)

    async def _poll(self, feed: FeedState) -> None:
        try:
            report = await self.pipeline.poll_feed(feed)
        except Exception:
            log.exception("polling %s failed", feed.id)
            self._ended(None)
            return
        self._ended(report)

    def _ended(self, report: PollReport | None) -> None:
        """A poll ended: count it, start what waits for its slot, close the round if it was
        the last, and claim more when a backlog is worth it."""
        me = asyncio.current_task()
        if me is not None:
            self._polls.discard(me)
        if report is not None:
            self._round.polls.append(report)
            if self.on_poll is not None:
                self.on_poll(report)
        self._start_queued()
        if not self._polls and not self._queued:  # the last poll in flight: the round is over
            done = self._round
            done.duration_s = time.monotonic() - self._round_t0
            self._round = CycleReport(started_at=self.pipeline.clock())
            if self.on_round is not None:
                self.on_round(done)
            if self._round_over is not None and not self._round_over.done():
                self._round_over.set_result(done)
        if self._backlog and self.capacity - len(self._polls) >= self._refill_at:
            self._backlog = False
            self._track(asyncio.create_task(self.refill(), name="refill"))

    def _track(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        """Keep ``task`` in ``tasks`` (when given) while it runs, so a stop can wait for it."""
        if self.tasks is not None:
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return task


async def run_cycle(
    pipeline: Pipeline, *, urls: Sequence[str] | None = None, limit: int = ONCE_LIMIT
) -> CycleReport:
    """Claim the due feeds (or the given ones) and poll them all at once: one round of a
    poller with a slot for each."""
    return await Poller(pipeline, capacity=limit).run_once(urls=urls, limit=limit)
