"""The bound on fetched bodies waiting to be parsed and stored (monitor.pipeline.ByteBudget)."""

from __future__ import annotations

import asyncio

from monitor.pipeline import ByteBudget


async def _hold(
    budget: ByteBudget, size: int, log: list[str], name: str, gate: asyncio.Event
) -> None:
    async with budget.hold(size):
        log.append(f"+{name}")
        assert budget.used <= budget.limit or budget.holders == 1
        assert budget.holders <= budget.slots
        await gate.wait()
        log.append(f"-{name}")


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_bytes_and_holders_are_bounded_and_granted_in_order() -> None:
    budget = ByteBudget(100, slots=3)
    log: list[str] = []
    gates = {n: asyncio.Event() for n in "abcde"}
    sizes = {"a": 60, "b": 30, "c": 50, "d": 5, "e": 5}
    tasks = [asyncio.create_task(_hold(budget, sizes[n], log, n, gates[n])) for n in "abcde"]
    await _settle()
    # a and b fit (90 bytes); c does not, and d and e wait behind it (arrival order)
    assert log == ["+a", "+b"] and (budget.used, budget.holders) == (90, 2)
    gates["a"].set()
    await _settle()
    # a gone: c (50) fits with b (30); d fits too (85 bytes), then the slots are full
    assert log == ["+a", "+b", "-a", "+c", "+d"] and budget.holders == 3
    for n in "bcde":
        gates[n].set()
    await asyncio.gather(*tasks)
    assert log[-1] == "-e" and "+e" in log
    assert (budget.used, budget.holders) == (0, 0)


async def test_a_body_larger_than_the_budget_goes_through_alone() -> None:
    budget = ByteBudget(100, slots=4)
    log: list[str] = []
    small, big = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_hold(budget, 10, log, "small", small))
    await _settle()
    second = asyncio.create_task(_hold(budget, 1_000, log, "big", big))
    await _settle()
    assert log == ["+small"]  # the big one waits for the small one to finish...
    small.set()
    await _settle()
    assert log == ["+small", "-small", "+big"]  # ...then goes through alone
    big.set()
    await asyncio.gather(first, second)
    assert (budget.used, budget.holders) == (0, 0)


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    budget = ByteBudget(100, slots=2)
    log: list[str] = []
    gate, never = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold(budget, 90, log, "a", gate))
    await _settle()
    waiter = asyncio.create_task(_hold(budget, 50, log, "b", never))
    third = asyncio.create_task(_hold(budget, 50, log, "c", gate))
    await _settle()
    waiter.cancel()
    gate.set()
    await asyncio.gather(holder, third)
    assert waiter.cancelled() and "+b" not in log and "+c" in log
    assert (budget.used, budget.holders) == (0, 0)
