"""The byte budget: how many fetched bodies (and bytes) may wait between fetched and stored.

Owns: :class:`ByteBudget`, the asyncio bound the pipeline holds each body under while it is
parsed and written. Decides nothing about feeds. Must not import store, fetch, deliver,
pipeline, scheduler or cli.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

#: Most bytes of fetched bodies between fetched and stored (their parsed items take a few times
#: as much memory): a burst of large feeds waits here instead of filling the memory.
INGEST_BYTES = 8 * 1024 * 1024


class ByteBudget:
    """At most ``slots`` holders and ``limit`` bytes held at once, granted in arrival order.

    A holder larger than three quarters of the budget (a large body) counts as three quarters,
    and large holders go one at a time, waiting for their turn outside the queue: the last
    quarter stays for the small ones, so a large body being parsed (for as long as its parse
    deadline) never holds up every other feed. Memory stays within one large body and a
    quarter of the budget.
    """

    def __init__(self, limit: int, *, slots: int) -> None:
        self.limit = limit
        self.slots = slots
        self.used = 0
        self.holders = 0
        self.large = limit - limit // 4
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._large_turn = asyncio.Lock()

    def _fits(self, size: int) -> bool:
        return self.holders == 0 or (self.holders < self.slots and self.used + size <= self.limit)

    def _take(self, size: int) -> None:
        self.used += size
        self.holders += 1

    def _release(self, size: int) -> None:
        self.used -= size
        self.holders -= 1
        while self._waiters and self._fits(self._waiters[0][0]):
            waiting, granted = self._waiters.popleft()
            if not granted.cancelled():
                self._take(waiting)
                granted.set_result(None)

    @contextlib.asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        if size > self.large:
            async with self._large_turn, self._hold(self.large):
                yield
        else:
            async with self._hold(size):
                yield

    @contextlib.asynccontextmanager
    async def _hold(self, size: int) -> AsyncIterator[None]:
        if self._waiters or not self._fits(size):
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append((size, granted))
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():  # granted, then cancelled
                    self._release(size)
                raise
        else:
            self._take(size)
        try:
            yield
        finally:
            self._release(size)
