"""The one poll driver against real feed servers and a SQLite file: slots bound how many polls
run at once, a round is reported when its last poll ends (even one that fails unforeseen),
and a backlog refills freed slots without waiting for the next tick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from monitor.cadence import policy_from_settings
from monitor.config import load_config
from monitor.fetch import Fetcher
from monitor.model import FeedState
from monitor.pipeline import CycleReport, Pipeline, PollReport
from monitor.poller import Poller
from monitor.score.engine import compile_topics
from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.support import write_config


class Watched(Pipeline):
    """The real pipeline, counting the polls in flight; a feed named ``boom`` raises."""

    running = 0
    most = 0
    gate: asyncio.Event | None = None

    async def poll_feed(self, feed: FeedState) -> PollReport:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if feed.name == "boom":
                raise RuntimeError("an unforeseen fault")
            return await super().poll_feed(feed)
        finally:
            self.running -= 1


@asynccontextmanager
async def _rig(tmp_path: Path, names: list[str]) -> AsyncIterator[tuple[Watched, list[str]]]:
    """A feed server with one feed per name, a store that knows them as due, and the real
    pipeline over them (watched); closed on the way out."""
    with FeedServer() as server:
        urls = [
            server.feed(
                f"/{n}.xml", rss_feed(n, [SampleItem(f"{n} story", link=f"https://x.example/{n}")])
            )
            for n in names
        ]
        feeds = "\n".join(
            f'  - {{url: "{u}", name: {n}}}' for u, n in zip(urls, names, strict=True)
        )
        cfg = load_config(write_config(tmp_path, f"feeds:\n{feeds}\n"), environ={})
        store = Store.open(cfg.database_url)
        matcher = compile_topics(cfg.topics)
        async with Fetcher() as fetcher:
            pipeline = Watched(store, fetcher, lambda: matcher, policy_from_settings(cfg.polling))
            try:
                store.sync_feeds(cfg.feeds, datetime.now(UTC))
                yield pipeline, urls
            finally:
                pipeline.close()
                store.close()


async def test_slots_bound_the_polls_and_one_round_reports_them_all(tmp_path: Path) -> None:
    names = [f"f{k}" for k in range(7)]
    rounds: list[CycleReport] = []
    async with _rig(tmp_path, names) as (pipeline, urls):
        poller = Poller(pipeline, capacity=3, on_round=rounds.append)
        report = await poller.run_once(urls=urls)
    assert sorted(p.name for p in report.polls) == names
    assert all(p.outcome == "ok" for p in report.polls), report.polls
    assert pipeline.most == 3  # never more than the slots, and the slots were used
    assert rounds == [report] and poller.busy == 0


async def test_a_round_ends_when_its_last_poll_fails_unforeseen(tmp_path: Path) -> None:
    async with _rig(tmp_path, ["fine", "boom"]) as (pipeline, urls):
        poller = Poller(pipeline, capacity=1)
        # one slot: "boom" runs last, alone, and raises
        report = await asyncio.wait_for(poller.run_once(urls=urls), timeout=60)
    assert [p.name for p in report.polls] == ["fine"]
    assert poller.busy == 0


async def test_a_backlog_refills_freed_slots_before_the_next_tick(tmp_path: Path) -> None:
    names = [f"d{k}" for k in range(6)]
    rounds: list[CycleReport] = []
    async with _rig(tmp_path, names) as (pipeline, _urls):
        pipeline.gate = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()
        poller = Poller(pipeline, capacity=2, on_round=rounds.append, tasks=tasks)
        await poller.refill()  # one tick's claim: two of the six due feeds
        assert poller.busy == 2
        pipeline.gate.set()
        await poller.idle()
        while tasks:  # refills started by the backlog, and the polls they started
            await asyncio.wait(set(tasks))
            await poller.idle()
    polled = sorted(p.name for r in rounds for p in r.polls)
    assert polled == names  # all six, from one tick
    assert pipeline.most == 2
