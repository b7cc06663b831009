"""Writing what waits together: values that arrive while a batch is being written go in the next.

Owns: :class:`Coalescer`, the queue in front of a batch write. The first value submitted
starts a writer, which takes every value queued while the last batch was being written; so
batches grow exactly as large as the writing is slow, and a lone value is written at once.
The poll writer (``monitor.ingest.WriteQueue``) and the article pass's outcomes
(``monitor.enrich``) use it. Decides nothing; must not import store, fetch, deliver,
pipeline, scheduler or cli.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

V = TypeVar("V")
R = TypeVar("R")


class Coalescer(Generic[V, R]):
    """``await submit(value)`` is ``value``'s result from ``write``, which takes a batch of
    values and returns one result (or exception) a value, in order.

    ``take(queued)`` says how many of the values queued the next batch takes (at least one);
    ``after()`` runs after each batch, its results handed out. When ``write`` raises, every
    value of its batch gets that exception and the writer goes on with the next batch; when
    the writer is cancelled, so are all the values still waiting.
    """

    def __init__(
        self,
        write: Callable[[list[V]], Awaitable[Sequence[R | BaseException]]],
        *,
        take: Callable[[Sequence[V]], int],
        after: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._write = write
        self._take = take
        self._after = after
        self._queued: list[tuple[V, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, value: V) -> R:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._queued.append((value, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_queued())
        return await done

    async def _write_queued(self) -> None:
        batch: list[tuple[V, asyncio.Future[R]]] = []
        try:
            while self._queued:
                count = max(1, self._take([v for v, _ in self._queued]))
                batch = self._queued[:count]
                del self._queued[:count]
                try:
                    results = await self._write([v for v, _ in batch])
                except Exception as exc:  # a bug, say: every value of the batch reports it
                    results = [exc] * len(batch)
                for (_, done), result in zip(batch, results, strict=True):
                    if done.done():  # its waiter was cancelled meanwhile
                        continue
                    if isinstance(result, BaseException):
                        done.set_exception(result)
                    else:
                        done.set_result(result)
                del results
                batch = []  # freed before ``after`` runs
                if self._after is not None:
                    await self._after()
        except BaseException:
            # cancelled (the process is ending): whoever waits stops waiting
            for _, done in (*batch, *self._queued):
                done.cancel()
            self._queued.clear()
            raise
