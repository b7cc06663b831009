"""What a cold cycle holds in memory: write batches bounded by their items as well as their
polls; and freed memory handed back to the system (glibc's malloc_trim where there is one),
asked for by the write queue after its batches at most once a second (a trickle of small
batches costs nothing), on the database thread, and never at a poll's expense."""

from __future__ import annotations

import asyncio
import gc
import random
import sys
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor import ingest
from monitor.ingest import RELEASE_EVERY_S, WRITE_BATCH, WRITE_BATCH_ITEMS, WriteQueue
from monitor.memory import YOUNG_COLLECTION_EVERY, collect_less_often, release_free_memory
from monitor.plan import Poll, Rules

NOW = datetime(2026, 12, 7, tzinfo=UTC)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc")
def test_glibc_is_asked_to_release_its_free_pages() -> None:
    assert release_free_memory() is True
    assert release_free_memory() is True  # as often as wanted


class Rig:
    """A write queue whose database thread is a list of the calls it ran, on a clock the
    test moves."""

    def __init__(self, fail_release: bool = False) -> None:
        self.now = 0.0
        self.calls: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_release = fail_release
        self.queue = WriteQueue(
            None,  # type: ignore[arg-type]  # the fake database thread never reaches a store
            self.in_db,
            lambda: Rules(),
            random.Random(1),
            release=self.release,
            clock=lambda: self.now,
        )

    async def in_db(self, fn: Callable[..., Any], *args: Any) -> Any:
        await self.gate.wait()
        if fn is ingest.write_polls:
            polls = args[1]
            self.calls.append(f"write {len(polls)}")
            return [f"written {p.feed_id}" for p in polls]
        return fn(*args)

    def release(self) -> None:
        self.calls.append("release")
        if self.fail_release:
            raise OSError("no")

    async def write(self, *feeds: int, items: Sequence[int] = ()) -> list[Any]:
        """Polls of these feeds, written together; ``items``: how many items each carries."""
        counts = list(items) or [0] * len(feeds)
        return await asyncio.gather(
            *(
                self.queue.write(Poll(f, NOW, items=[None] * n))  # type: ignore[list-item]
                for f, n in zip(feeds, counts, strict=True)
            )
        )


async def test_batches_release_at_most_once_a_second() -> None:
    rig = Rig()
    assert await rig.write(1) == ["written 1"]
    assert rig.calls == ["write 1", "release"]
    # within the second: the batches are written, nothing is released
    rig.now += RELEASE_EVERY_S / 2
    await rig.write(2)
    await rig.write(3, 4)
    assert rig.calls == ["write 1", "release", "write 1", "write 2"]
    # a second after the last release: the next batch releases again
    rig.now += RELEASE_EVERY_S
    rig.calls.clear()
    await rig.write(5)
    assert rig.calls == ["write 1", "release"]


async def test_polls_queued_meanwhile_are_written_after_the_release() -> None:
    rig = Rig()
    rig.gate.clear()  # the database is busy
    first = asyncio.ensure_future(rig.write(1))
    await asyncio.sleep(0)
    later = asyncio.ensure_future(rig.write(2, 3))
    await asyncio.sleep(0)
    rig.gate.set()
    assert await first == ["written 1"]
    assert await later == ["written 2", "written 3"]
    assert rig.calls == ["write 1", "release", "write 2"]


async def test_a_failed_release_loses_no_poll(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig(fail_release=True)
    assert await rig.write(1) == ["written 1"]
    rig.now += RELEASE_EVERY_S
    assert await rig.write(2) == ["written 2"]
    assert rig.calls == ["write 1", "release", "write 1", "release"]
    assert "could not hand freed memory back" in caplog.text


async def test_a_batch_holds_at_most_so_many_items_and_polls() -> None:
    rig = Rig()
    rig.now = -1.0  # no release in the way
    big = WRITE_BATCH_ITEMS * 3 // 5
    await rig.write(1, 2, 3, 4, items=[big, big, 0, WRITE_BATCH_ITEMS - 2 * big])
    assert rig.calls == ["write 1", "write 3"]  # the second poll would pass the items' bound
    rig.calls.clear()
    await rig.write(5, items=[WRITE_BATCH_ITEMS * 2])  # more than the bound: alone
    await rig.write(*range(WRITE_BATCH + 6))  # polls of unchanged feeds: the polls' bound
    assert rig.calls == ["write 1", f"write {WRITE_BATCH}", "write 6"]


# -- the garbage collector of a process that polls ------------------------------------------


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_a_polling_process_collects_less_often_and_still_frees_cycles() -> None:
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        collect_less_often()
        assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, 10, 10)
        gc.set_threshold(10 * YOUNG_COLLECTION_EVERY, 10, 10)
        collect_less_often()  # a threshold set higher is left alone
        assert gc.get_threshold()[0] == 10 * YOUNG_COLLECTION_EVERY
        gc.set_threshold(700, 10, 10)
        collect_less_often()
        gc.collect()
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: its reference counts never reach zero
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None
        # enough new containers kept alive for the youngest generation's pass to run by itself
        kept = [[n] for n in range(2 * YOUNG_COLLECTION_EVERY)]
        assert gone() is None
        del kept
    finally:
        gc.set_threshold(*saved)


async def test_the_poller_the_commands_make_sets_it(tmp_path: Path) -> None:
    from monitor.cli.runtime import make_pipeline
    from monitor.config import load_config
    from monitor.fetch import Fetcher
    from monitor.score import compile_topics
    from monitor.store import Store
    from tests.support import write_config

    cfg = load_config(write_config(tmp_path))
    saved = gc.get_threshold()
    store = Store.open(f"sqlite:///{tmp_path / 'm.db'}")
    fetcher = Fetcher()
    try:
        gc.set_threshold(700, 10, 10)
        pipeline = make_pipeline(cfg, store, fetcher, lambda: compile_topics(cfg.topics))
        assert gc.get_threshold()[0] == YOUNG_COLLECTION_EVERY
        pipeline.close()
    finally:
        gc.set_threshold(*saved)
        await fetcher.aclose()
        store.close()
