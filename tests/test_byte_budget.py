"""The bound on fetched bodies waiting to be parsed and stored (monitor.budget.ByteBudget)."""

from __future__ import annotations

import asyncio

from monitor.budget import ByteBudget


async def _hold(
    budget: ByteBudget, size: int, log: list[str], name: str, gate: asyncio.Event
) -> None:
    async with budget.hold(size):
        log.append(f"+{name}")
        assert budget.used <= budget.limit
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


async def test_large_bodies_go_one_at_a_time_and_leave_a_quarter_for_small_ones() -> None:
    budget = ByteBudget(100, slots=8)
    log: list[str] = []
    gates = {n: asyncio.Event() for n in ("small", "big", "huge", "late")}
    sizes = {"small": 10, "big": 1_000, "huge": 80, "late": 15}
    tasks = {}
    for name in ("small", "big", "huge", "late"):
        tasks[name] = asyncio.create_task(_hold(budget, sizes[name], log, name, gates[name]))
        await _settle()
    # the big one counts as three quarters (75) and goes beside the small one; the huge one
    # (over three quarters too) waits for its turn without blocking the late small one
    assert log == ["+small", "+big", "+late"]
    assert (budget.used, budget.holders) == (10 + 75 + 15, 3)
    gates["small"].set()
    gates["late"].set()
    await _settle()
    assert log[-2:] == ["-small", "-late"] and "+huge" not in log
    gates["big"].set()
    await _settle()
    assert log[-2:] == ["-big", "+huge"] and budget.used == 75
    gates["huge"].set()
    await asyncio.gather(*tasks.values())
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
