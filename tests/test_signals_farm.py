"""Signals through the real parts: feeds served on 127.0.0.1, fetched, parsed, scored and
stored in a SQLite file by the pipeline; the signal pass; the outbox; a webhook receiver on
127.0.0.1. The clock is the test's, moved between polls, so days pass in a second.

Each scenario counts what the receiver got by its ``event``: one surge and one follow-up
for a story that reaches 5 then 10 outlets; one spike after 14 quiet days; one notice when a
feed has failed for 6 hours and one when it is back, none in between; one when a feed falls
silent; one ``item.updated`` event for an amended item, which the next digest shows.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.cadence import CadencePolicy
from monitor.channels import WebhookChannel
from monitor.config import Config, load_config
from monitor.deliver.webhook import WebhookSender
from monitor.fetch import Fetcher
from monitor.metrics import Metrics
from monitor.outbox import Outbox
from monitor.pipeline import Pipeline
from monitor.poller import run_cycle
from monitor.score.engine import compile_topics
from monitor.signalling import SignalPass, SignalRules
from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.receiver import Receiver
from tests.support import write_config

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
HOOK_SECRET = "signals-test-signing-secret-0123456789"

STORY = SampleItem(
    "Canada answers U.S. steel tariffs with counter-tariffs on American goods",
    summary=(
        "Ottawa announced counter-tariffs of 25 per cent on a list of American goods worth "
        "billions of dollars on Tuesday, answering the steel and aluminium tariffs that "
        "Washington imposed last week, the finance minister told reporters in the capital."
    ),
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Farm:
    """The running parts of one scenario."""

    cfg: Config
    store: Store
    clock: Clock
    pipeline: Pipeline
    outbox: Outbox
    signals: SignalPass
    server: FeedServer
    rx: Receiver
    metrics: Metrics

    async def poll(self, urls: Sequence[str]) -> None:
        await run_cycle(self.pipeline, urls=list(urls))

    async def signal_pass(self) -> None:
        self.metrics.observe_signals(await self.signals.run())
        for report in await self.outbox.flush():
            self.metrics.observe_delivery(report)
            assert report.outcome == "sent", report

    def events(self) -> Counter[str]:
        return Counter(r.json()["event"] for r in self.rx.requests)

    def bodies(self, event: str) -> list[dict[str, Any]]:
        return [r.json() for r in self.rx.requests if r.json()["event"] == event]


@pytest.fixture
async def farm(tmp_path: Path, rx: Receiver, request: pytest.FixtureRequest) -> AsyncIterator[Farm]:
    channel_extra = getattr(request, "param", "")
    cfg = load_config(
        write_config(
            tmp_path,
            f"""
            channels:
              - name: hook
                type: webhook
                url: "{rx.url("/hook")}"
                secret: "{HOOK_SECRET}"
                notices: true
                {channel_extra}
            """,
        )
    )
    clock = Clock(NOW)
    store = Store.open(f"sqlite:///{tmp_path / 'signals.db'}")
    fetcher = Fetcher(timeout_s=2.0, deadline_s=5.0, max_bytes=500_000)
    matcher = compile_topics(cfg.topics)
    pipeline = Pipeline(
        store,
        fetcher,
        lambda: matcher,
        CadencePolicy(interval_s=900.0, jitter=0.0),
        clock=clock,
        rng=random.Random(5),
    )
    (hook,) = cfg.channels
    assert isinstance(hook, WebhookChannel)
    async with httpx.AsyncClient() as client:
        outbox = Outbox(store, {"hook": WebhookSender(hook, client)}, cfg.channels, clock=clock)
        rules = SignalRules.from_settings(cfg.signals)
        signals = SignalPass(store, outbox, rules, [t.id for t in cfg.topics], clock=clock)
        try:
            with FeedServer() as server:
                yield Farm(cfg, store, clock, pipeline, outbox, signals, server, rx, Metrics())
        finally:
            signals.close()
            pipeline.close()
            await fetcher.aclose()
            store.close()


def outlet_feed(farm: Farm, i: int, *, story: bool) -> str:
    filler = SampleItem(
        f"Outlet {i} weather: a mild week ahead",
        link=f"https://o{i}.example.org/weather",
        published=NOW - D,
    )
    items = [filler]
    if story:
        published = farm.clock.now - MIN
        items.insert(
            0,
            SampleItem(
                STORY.title,
                link=f"https://o{i}.example.org/tariffs",
                summary=STORY.summary,
                published=published,
            ),
        )
    return farm.server.feed(f"/o{i}.xml", rss_feed(f"Outlet {i}", items))


async def test_a_story_in_five_outlets_surges_once_and_follows_up_once_at_ten(
    farm: Farm,
) -> None:
    urls = [outlet_feed(farm, i, story=False) for i in range(10)]
    farm.store.sync_feeds([_Spec(u, f"Outlet {i}") for i, u in enumerate(urls)], farm.clock.now)
    await farm.poll(urls)  # the feeds' backlog: nothing about the story yet
    await farm.signal_pass()

    farm.clock.now += 20 * MIN
    for i in range(3):
        outlet_feed(farm, i, story=True)
    await farm.poll(urls)
    await farm.signal_pass()
    assert farm.events()["story.surge"] == 0  # three outlets: not yet

    farm.clock.now += 20 * MIN
    for i in range(3, 5):
        outlet_feed(farm, i, story=True)
    await farm.poll(urls)
    await farm.signal_pass()
    farm.clock.now += MIN
    await farm.signal_pass()  # a second pass decides the same, and sends nothing more
    assert farm.events()["story.surge"] == 1
    (surge,) = farm.bodies("story.surge")
    assert surge["schema_version"] == 2
    details = surge["signal"]["details"]
    assert (details["level"], details["count"]) == (1, 5)
    assert sorted(o["name"] for o in details["outlets"]) == [f"Outlet {i}" for i in range(5)]
    assert all(o["first_seen"] for o in details["outlets"])
    assert surge["signal"]["topics"] == ["tariffs"]

    farm.clock.now += 20 * MIN
    for i in range(5, 8):
        outlet_feed(farm, i, story=True)
    await farm.poll(urls)
    await farm.signal_pass()
    assert farm.events()["story.surge"] == 1  # 8 outlets: not yet twice 5

    farm.clock.now += 20 * MIN
    for i in range(8, 10):
        outlet_feed(farm, i, story=True)
    await farm.poll(urls)
    await farm.signal_pass()
    farm.clock.now += H
    await farm.poll(urls)
    await farm.signal_pass()
    assert farm.events()["story.surge"] == 2
    follow = farm.bodies("story.surge")[1]["signal"]["details"]
    assert (follow["level"], follow["count"], follow["previous_count"]) == (2, 10, 5)
    assert len({r.header("Idempotency-Key") for r in farm.rx.requests}) == len(farm.rx.requests)
    assert b'monitor_signals_total{kind="story.surge"} 2.0' in farm.metrics.render()


@dataclass(frozen=True)
class _Spec:
    url: str
    name: str | None = None
    lang: str | None = "en"
    interval: float | None = None


async def test_a_topic_spikes_once_after_fourteen_ordinary_days(farm: Farm) -> None:
    url = farm.server.feed("/wire.xml", rss_feed("Wire", []))
    farm.store.sync_feeds([_Spec(url, "Wire")], farm.clock.now)
    published: list[SampleItem] = []

    def norad(n: int, day: int) -> SampleItem:
        return SampleItem(
            f"NORAD item {n} of day {day}: radar review {n * 7919 % 1000}",
            link=f"https://wire.example.org/norad-{day}-{n}",
            summary=f"Day {day}, note {n}: the NORAD review goes on.",
            published=farm.clock.now - MIN,
        )

    for day in range(15):  # two NORAD items a day, for fifteen days
        published[:0] = [norad(n, day) for n in range(2)]
        farm.server.feed("/wire.xml", rss_feed("Wire", published[:40]))
        await farm.poll([url])
        await farm.signal_pass()
        farm.clock.now += D
    assert farm.events()["topic.spike"] == 0
    published[:0] = [norad(n, 99) for n in range(12)]  # twelve in one day
    farm.server.feed("/wire.xml", rss_feed("Wire", published[:40]))
    await farm.poll([url])
    await farm.signal_pass()
    for _ in range(3):  # more passes that day: no second notice
        farm.clock.now += 2 * H
        await farm.signal_pass()
    assert farm.events()["topic.spike"] == 1
    (spike,) = farm.bodies("topic.spike")
    d = spike["signal"]["details"]
    assert d["count"] == 12 and d["baseline_days"] == 14
    assert d["daily"] == [2] * 14 and d["mean"] == 2.0
    assert d["top_stories"] and d["top_stories"][0]["title"].startswith("NORAD item")


async def test_a_failing_feed_gets_one_notice_after_six_hours_and_one_when_back(
    farm: Farm,
) -> None:
    good = rss_feed("Ministry", [SampleItem("Ministry statement", published=NOW - D)])
    url = farm.server.feed("/ministry.xml", good)
    farm.store.sync_feeds([_Spec(url, "Ministry")], farm.clock.now)
    await farm.poll([url])
    await farm.signal_pass()
    farm.server.error("/ministry.xml", 503)
    seen: list[int] = []
    for _ in range(9):  # failing for nine hours, polled and judged every hour
        farm.clock.now += H
        await farm.poll([url])
        await farm.signal_pass()
        seen.append(farm.events()["source.health"])
    assert seen == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    farm.server.feed("/ministry.xml", good)
    for _ in range(3):
        farm.clock.now += H
        await farm.poll([url])
        await farm.signal_pass()
    assert farm.events()["source.health"] == 2
    failing, back = (b["signal"]["details"] for b in farm.bodies("source.health"))
    assert failing["state"] == "failing" and "503" in failing["error"]
    assert (back["state"], back["previous_state"]) == ("ok", "failing")


async def test_a_feed_that_falls_silent_gets_one_notice(farm: Farm) -> None:
    url = farm.server.feed("/press.xml", rss_feed("Press", []))
    farm.store.sync_feeds([_Spec(url, "Press")], farm.clock.now)
    items: list[SampleItem] = []
    for n in range(8):  # an item every six hours for two days
        items.insert(
            0,
            SampleItem(
                f"Press release {n}",
                link=f"https://press.example.org/{n}",
                published=farm.clock.now - MIN,
            ),
        )
        farm.server.feed("/press.xml", rss_feed("Press", items))
        await farm.poll([url])
        await farm.signal_pass()
        farm.clock.now += 6 * H
    for _ in range(12):  # then nothing new for three days, polled every six hours
        await farm.poll([url])
        await farm.signal_pass()
        farm.clock.now += 6 * H
    assert farm.events()["source.health"] == 1
    (silent,) = (b["signal"]["details"] for b in farm.bodies("source.health"))
    assert silent["state"] == "silent" and silent["median_gap_s"] == 6 * 3600


@pytest.mark.parametrize("farm", ['digest: "0 * * * *"'], indirect=True)
async def test_an_amended_item_is_updated_in_the_next_digest_and_one_webhook(
    farm: Farm,
) -> None:
    url = farm.server.feed(
        "/wire.xml",
        rss_feed(
            "Wire",
            [
                SampleItem(
                    "NORAD review opens in Ottawa",
                    link="https://wire.example.org/review",
                    guid="review-1",
                    published=NOW - MIN,
                )
            ],
        ),
    )
    farm.store.sync_feeds([_Spec(url, "Wire")], farm.clock.now)
    await farm.poll([url])
    await farm.signal_pass()
    (hook,) = farm.cfg.channels
    first = await farm.outbox.build_digest(hook, farm.clock.now + MIN)
    assert first is not None and not first.signals
    await farm.outbox.flush()

    farm.clock.now += H
    farm.server.feed(
        "/wire.xml",
        rss_feed(
            "Wire",
            [
                SampleItem(
                    "NORAD review opens in Ottawa as Canada weighs counter-tariffs",
                    link="https://wire.example.org/review",
                    guid="review-1",
                    summary="Canada may answer U.S. tariffs during the NORAD review.",
                    published=NOW - MIN,
                )
            ],
        ),
    )
    await farm.poll([url])
    await farm.signal_pass()
    farm.clock.now += MIN
    await farm.signal_pass()
    assert farm.events()["item.updated"] == 1
    (event,) = farm.bodies("item.updated")
    d = event["signal"]["details"]
    # the new words add a topic, and NORAD named twice reaches the topic's alert_at
    assert {(c["topic"], c["change"]) for c in d["changes"]} == {
        ("norad", "raised"),
        ("tariffs", "new"),
    }
    assert d["previous_title"] == "NORAD review opens in Ottawa"

    farm.clock.now += H
    second = await farm.outbox.build_digest(hook, farm.clock.now + MIN)
    assert second is not None
    await farm.outbox.flush()
    digests = farm.bodies("digest")
    assert len(digests) == 2
    (update,) = digests[1]["updates"]
    assert update["details"]["changes"] == d["changes"]
    assert update["title"].startswith("NORAD review opens in Ottawa as Canada")
    assert digests[0]["updates"] == []
    # shown once: a third digest has no update to show
    farm.clock.now += H
    assert await farm.outbox.build_digest(hook, farm.clock.now + MIN) is None
