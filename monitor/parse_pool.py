"""Parse workers: the processes that turn fetched bodies into items, and score them.

Owns: the worker processes (started, stopped when a body overruns its parse deadline,
replaced when they die or after a number of bodies; forked from a small process that loads
only what they run), and the job each body gets in a worker:
parse, normalise, story signatures, event profiles and, when the worker holds the pipeline's
current matcher, the matcher's scores. All of that is CPU work, spread here over the cores,
so the database thread only triages, decides what the scores mean for alerts now, and
writes. Decides nothing itself. Must not import store, fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from monitor.errors import ParseCrash, ParseTimeout
from monitor.events import profile as event_profile
from monitor.events import profile_to_bytes
from monitor.model import MAX_ENTRIES, Item, TopicMatch
from monitor.stories import StorySignature, signature_to_bytes

if TYPE_CHECKING:  # pebble is imported with the first pool: a poll that parses nothing
    from pebble import ProcessExpired, ProcessPool  # (all 304s) does not load it

#: Most seconds one body may take to parse before its worker is stopped and replaced, plus
#: PARSE_S_PER_MB for each megabyte of the body (ordinary feeds parse at 1-3 s a megabyte).
PARSE_DEADLINE_S = 10.0
PARSE_S_PER_MB = 5.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h
#: How much lower than the daemon's the workers' CPU priority is (``nice``). When the cores are
#: busy, the daemon's database thread, which every parsed body waits for, comes first and the
#: workers take what is left; on an idle machine they run at full speed all the same. A cold
#: cycle of 1,000 feeds on two cores took 30.9 s instead of 34.4 (docs/benchmarks.md).
WORKER_NICENESS = 10

#: What the process that starts the workers (multiprocessing's forkserver) loads once, before
#: forking them: the program's main module, this module, what only the workers run (the feed
#: parser and the normaliser: feedparser, lxml) and the matcher's (with pysbd, which the
#: daemon loads only if it scores a text itself). A worker is a fork of that small process,
#: not of the daemon, whose store, web pages, scheduler and caches a worker would otherwise
#: carry in its memory (and which grow as the daemon runs).
WORKER_MODULES = (
    "__main__",
    "monitor.parse_pool",
    "monitor.parse",
    "monitor.normalize",
    "monitor.score.engine",
    "pysbd",
)

T = TypeVar("T")


class MatcherLike(Protocol):
    def score(
        self, title: str, summary: str, lang: str | None = None, body: str = ""
    ) -> list[TopicMatch]: ...


#: In a worker: the matcher it was started with, and its number (see ParsePool.share).
_matcher: tuple[int, MatcherLike] | None = None


def worker_context() -> BaseContext:
    """How workers are started: forked by a forkserver that has loaded :data:`WORKER_MODULES`
    (where there is none, spawned: each worker loads what it needs itself)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # the forkserver reads the list when it starts (once a process, as a rule)
    context.set_forkserver_preload(list(WORKER_MODULES))
    atexit.unregister(stop_forkserver)
    atexit.register(stop_forkserver)
    return context


def stop_forkserver() -> None:
    """Stop multiprocessing's forkserver, if it runs, and wait for it to end (the next pool
    starts another). Done at exit, so that this process reaps it: the workers' CPU time is
    then counted in this process's children's, as that of children's children."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is not None:
        stop()


def _packed(number: int, matcher: MatcherLike) -> tuple[int, bytes] | None:
    """The matcher as the workers receive it (pickled once, not once per worker), or ``None``
    when it cannot be pickled: the workers then leave scoring to the caller."""
    try:
        return number, pickle.dumps(matcher, pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError):
        return None


def parse_for_store(
    body: bytes,
    feed_url: str,
    content_type: str | None,
    lang: str | None,
    now: datetime,
    max_entries: int = MAX_ENTRIES,
) -> tuple[list[Item], dict[str, StorySignature], int]:
    """Parse a body into items, their story signatures by item key, and how many entries
    were past ``max_entries`` (shingling is CPU work too, and the store needs it for every new
    item).

    The parser and the normaliser (feedparser, lxml) are imported here, where they are used:
    in a worker, and by the forkserver before it forks workers (:data:`WORKER_MODULES`); the
    daemon, which only hands bodies over, does not load them."""
    from monitor.normalize import normalize_with_signature
    from monitor.parse import parse_feed

    parsed = parse_feed(body, url=feed_url, content_type=content_type, max_entries=max_entries)
    items: list[Item] = []
    signatures: dict[str, StorySignature] = {}
    for entry in parsed.entries:
        item, sig = normalize_with_signature(
            entry, feed_url=feed_url, feed_link=parsed.link, lang=lang, now=now
        )
        items.append(item)
        signatures[item.key] = sig
    return items, signatures, parsed.cut


class Parsed(NamedTuple):
    """What a parse worker returns for a feed's body: its items, their story signatures and
    event profiles by item key, how many entries were past the cap, and each item's matches
    by the worker's matcher (``None``: the caller scores them itself).

    Signatures and profiles travel as bytes (``monitor.stories.signature_to_bytes``,
    ``monitor.events.profile_to_bytes``): a fifth of the memory of their decoded form while
    the poll waits for the database, and far cheaper to unpickle on the event loop."""

    items: list[Item]
    signatures: dict[str, bytes]
    cut: int
    matches: list[list[TopicMatch]] | None
    profiles: dict[str, bytes]


def parse_and_score(
    body: bytes,
    feed_url: str,
    content_type: str | None,
    lang: str | None,
    now: datetime,
    max_entries: int,
    matcher: int,
) -> Parsed:
    """:func:`parse_for_store`, each item's event profile, and each item's matches by the
    worker's matcher when it is matcher number ``matcher``."""
    items, signatures, cut = parse_for_store(body, feed_url, content_type, lang, now, max_entries)
    sketches = {key: signature_to_bytes(sig) for key, sig in signatures.items()}
    profiles = {i.key: profile_to_bytes(event_profile(i.title, i.summary)) for i in items}
    if _matcher is None or _matcher[0] != matcher:
        return Parsed(items, sketches, cut, None, profiles)
    score = _matcher[1].score
    matches = [score(i.title, i.summary, i.lang) for i in items]
    return Parsed(items, sketches, cut, matches, profiles)


def _worker_setup(matcher: tuple[int, bytes] | None = None) -> None:
    """In each parse worker: keep the matcher to score with (none if it cannot be unpickled
    here: the caller then scores), end with the daemon even when it is killed, and leave
    Ctrl-C (sent to the whole process group) to the daemon, which stops the workers itself."""
    global _matcher
    _matcher = None
    if matcher is not None:
        try:
            _matcher = matcher[0], pickle.loads(matcher[1])
        except Exception:  # a class this process cannot import: scored by the caller
            _matcher = None
    # no handler of the daemon's may run here, whichever way the worker was started
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            # the parent is the forkserver, which ends when the daemon does (even killed)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    if os.getppid() == 1:  # the daemon (or the forkserver) died before this worker was set up
        os._exit(0)
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # pragma: no cover - a platform without priorities: the same priority
        pass


class ParsePool:
    """Where parsing runs: worker processes (parsing is CPU-bound, and a process can be stopped
    where a thread cannot).

    Each body gets at most ``deadline_s`` of a worker's time, plus ``s_per_mb`` for each
    megabyte of it (``size`` in :meth:`run`). A body that takes longer (a
    shape of markup some parser is slow on) has its worker killed and replaced, and its feed
    gets a :class:`ParseTimeout`; the other bodies go on in the other workers meanwhile. A
    worker that dies (killed for its memory, say) is replaced too, and its body's feed gets a
    :class:`ParseCrash`. Each worker is replaced after ``max_tasks`` bodies, so whatever a
    parser keeps between documents (lxml's names, feedparser's caches) cannot grow for ever.

    Workers are forked by a forkserver that has loaded only :data:`WORKER_MODULES`, so a
    worker's memory is what parsing needs, whatever the daemon holds when it starts one.

    Workers score too, with the matcher given to :meth:`share` (sent to them pickled; one that
    cannot be pickled is not sent, and the caller scores): the workers are started with
    it, and a new matcher (a reload) retires them, letting them finish the bodies they hold,
    and starts new ones with it.

    ``run`` is bounded by ``workers`` so a burst of large feeds cannot pile up bodies.
    pebble's process pool keeps the workers and enforces the deadline: it is the pool that
    stops a worker in the middle of a task, which the standard library's pools cannot.
    """

    def __init__(
        self,
        workers: int,
        *,
        deadline_s: float = PARSE_DEADLINE_S,
        s_per_mb: float = PARSE_S_PER_MB,
        max_tasks: int = 500,
    ) -> None:
        self.workers = max(1, workers)
        self.deadline_s = deadline_s
        self.s_per_mb = s_per_mb
        self.max_tasks = max_tasks
        self._pool: ProcessPool | None = None
        self._retired: list[ProcessPool] = []
        self._shared: tuple[int, MatcherLike] | None = None
        self._sent: tuple[int, bytes] | None = None  # the shared matcher, as workers get it
        self._slots = asyncio.Semaphore(self.workers * 2)
        self._running: ProcessPool | None = None  # the pool whose workers have started
        self._starting = asyncio.Lock()

    def share(self, matcher: MatcherLike) -> int:
        """The number under which workers score with ``matcher``; a matcher other than the
        last one shared retires the running workers (they finish what they hold). Matchers
        are told apart by identity: share the same object for as long as it is current."""
        if self._shared is not None and self._shared[1] is matcher:
            return self._shared[0]
        self._shared = (self._shared[0] + 1 if self._shared else 1, matcher)
        self._sent = _packed(*self._shared)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()  # takes no more bodies; its workers end when their bodies are done
            self._retired.append(pool)
        self._retired = [p for p in self._retired if not _ended(p)]
        return self._shared[0]

    def _get(self) -> ProcessPool:
        # a pool not running yet is being started under ``_starting`` (asking whether it is
        # active would wait for that on the event loop)
        if self._pool is not None and self._pool is self._running and not self._pool.active:
            self._stop()  # broken (its manager failed): start afresh
        if self._pool is None:
            from pebble import ProcessPool

            self._pool = ProcessPool(
                self.workers,
                max_tasks=self.max_tasks,
                initializer=_worker_setup,
                initargs=(self._sent,),
                context=worker_context(),
            )
        return self._pool

    def deadline(self, size: int) -> float:
        """The most seconds a body of ``size`` bytes may take to parse."""
        return self.deadline_s + self.s_per_mb * size / 1_000_000

    async def run(self, fn: Callable[..., T], *args: object, size: int = 0) -> T:
        """``fn(*args)`` in a worker, given at most :meth:`deadline` of ``size`` seconds."""
        deadline = self.deadline(size)
        async with self._slots:
            future = await self._schedule(fn, args, deadline)
            from pebble import ProcessExpired  # loaded by the pool that took the body

            try:
                # cancelling this (the daemon stopping) cancels the task, which stops its worker
                return await asyncio.wrap_future(future)
            except ProcessExpired as exc:
                raise ParseCrash(
                    f"the parse worker died while parsing this body ({_exit_reason(exc)}); "
                    "a new worker was started"
                ) from None
            except TimeoutError:
                if not future.done() or future.cancelled():
                    raise
                raise ParseTimeout(
                    f"parse timed out: the body took longer than {deadline:.3g} s to parse, "
                    "so its worker was stopped and replaced (markup some parser is slow on, or "
                    "a very large body)"
                ) from None

    async def _schedule(
        self, fn: Callable[..., T], args: tuple[object, ...], deadline: float
    ) -> Any:
        try:
            return await self._schedule_once(fn, args, deadline)
        except RuntimeError:
            # the pool this body was given to was closed or broke before it took the body
            # (a reload while its workers were starting, a failed manager): once more, on
            # the pool that is current now
            if self._pool is not None and self._pool is self._running:
                if not self._pool.active:
                    self._stop()
            return await self._schedule_once(fn, args, deadline)

    async def _schedule_once(
        self, fn: Callable[..., T], args: tuple[object, ...], deadline: float
    ) -> Any:
        pool = self._get()
        if pool is self._running:
            return pool.schedule(fn, args, timeout=deadline)
        # a pool's first body starts its workers (and the first pool the forkserver, which
        # loads the workers' modules first): a wait kept off the event loop
        async with self._starting:
            pool = self._get()  # the pool may have changed while this body waited
            if pool is self._running:
                return pool.schedule(fn, args, timeout=deadline)
            future = await asyncio.to_thread(pool.schedule, fn, args, timeout=deadline)
            self._running = pool
        return future

    def _stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()  # tasks still running are abandoned; workers are killed, not awaited
            pool.join()

    def close(self) -> None:
        self._stop()
        while self._retired:
            pool = self._retired.pop()
            pool.stop()
            pool.join()


def _ended(pool: ProcessPool) -> bool:
    """Whether a retired pool has finished its bodies (it is then stopped and joined)."""
    try:
        pool.join(timeout=0)
    except TimeoutError:
        return False
    return True


def _exit_reason(exc: ProcessExpired) -> str:
    code = exc.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
