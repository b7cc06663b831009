"""How async code reaches the database: one executor for the whole process.

Owns: running a blocking store call off the event loop (``await db(fn, *args)``) and the
threads that do it. The runtime (``monitor.cli.runtime``) makes one ``DbExecutor`` and hands it
to every part that calls the store from async code: the pipeline, the outbox, the article
job, the signal pass, the daemon's jobs and the web pages. None of them makes threads of its
own or calls the store on the event loop; a part built without one (in a test, say) makes a
private one and closes it with itself.

The executor has a few threads, so that a page or a delivery never waits behind a batch of
polls being written; polls' writes stay serial because the pipeline's write queue runs one
batch at a time, not because of the thread count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

#: threads of the process's executor: the poll writer, the outbox, the signal pass, the
#: article job, and two for web pages and the daemon's other jobs
THREADS = 6


class DbExecutor:
    """Runs store calls on a pool of threads: ``await db(store.method, arg, key=value)``."""

    def __init__(self, threads: int = THREADS, *, name: str = "monitor-db") -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kw: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(fn, *args, **kw))

    def close(self) -> None:
        """Wait for calls in flight, then stop the threads."""
        self._pool.shutdown(wait=True)
