"""The queue in front of a batch write: what arrives while a batch is written goes in the
next one, each value gets its own result, and a failed write fails only its batch."""

from __future__ import annotations

import asyncio

import pytest

from monitor.batching import Coalescer


async def test_values_arriving_during_a_write_go_together_in_the_next() -> None:
    batches: list[list[int]] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def write(values: list[int]) -> list[int]:
        batches.append(values)
        started.set()
        if len(batches) == 1:
            await release.wait()  # the first batch is slow: others queue meanwhile
        return [v * 10 for v in values]

    queue: Coalescer[int, int] = Coalescer(write, take=lambda queued: min(len(queued), 3))
    first = asyncio.create_task(queue.submit(1))
    await started.wait()
    # queued (each task's first step) before the writer wakes: tasks run in order
    rest = [asyncio.create_task(queue.submit(v)) for v in (2, 3, 4, 5)]
    release.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50]
    assert batches == [[1], [2, 3, 4], [5]]  # a lone value at once, then at most 3 a batch


async def test_a_write_that_fails_fails_its_batch_only_and_results_can_be_exceptions() -> None:
    async def write(values: list[int]) -> list[int | BaseException]:
        if 0 in values:
            raise RuntimeError("the whole batch was refused")
        return [ValueError(v) if v < 0 else v for v in values]

    queue: Coalescer[int, int] = Coalescer(write, take=lambda queued: 1)
    with pytest.raises(RuntimeError, match="refused"):
        await queue.submit(0)
    with pytest.raises(ValueError):
        await queue.submit(-1)
    assert await queue.submit(7) == 7
