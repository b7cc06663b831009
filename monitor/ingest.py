"""Writing polls: read → decide → write, and the queue that batches polls for it.

Owns: the order of one batch's write, run on the database thread: ask the store what it knows
of the polls' items, let :mod:`monitor.plan` decide (pure), ask again what the decision needs,
and have the store write the plan in one transaction; a batch that fails is written again
feed by feed, so one feed's failure never loses another's poll. And :class:`WriteQueue`,
which gathers the polls waiting while the database is busy into the next batch. Decides
nothing itself. Must not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from monitor import plan, storyplan
from monitor.batching import Coalescer
from monitor.errors import StoreError
from monitor.events import EventProfile
from monitor.intents import Facts, FeedWrite, Known, SaveResult
from monitor.memory import release_free_memory
from monitor.model import Item, TopicMatch
from monitor.plan import MatcherLike, Poll, Rules
from monitor.store import Store
from monitor.stories import StorySignature

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Most polls written in one transaction.
WRITE_BATCH = 64
#: Most items of those polls in one transaction (a poll with more is written alone): what a
#: batch holds while it is placed and written (signatures, event profiles, rows) grows with
#: its new items, and 64 polls of a cold cycle are some 2,000 of them. Polls of unchanged
#: feeds carry none, so a warm cycle's batches are as large as before.
WRITE_BATCH_ITEMS = 1000
#: Parsed polls that may wait for the database besides those the parse workers hold: some
#: 600 new items of a cold cycle, ready when the batch being written ends (the polls of
#: unchanged feeds carry none and do not wait among them). 32 held 7 MB more at the cold
#: cycle's peak at the same CPU in two pairs of runs, 40 held 13 MB more for cycles within the
#: noise of these (docs/benchmarks.md).
WRITE_AHEAD = 20
#: Least seconds between two returns of freed memory to the system after batches
#: (:func:`monitor.memory.release_free_memory`): a cold cycle's stream of batches returns
#: what each freed, and a trickle of small batches costs next to nothing.
RELEASE_EVERY_S = 1.0


def write_polls(
    store: Store, polls: Sequence[Poll], rules: Rules, rng: random.Random
) -> list[FeedWrite | StoreError]:
    """Write several feeds' polls (new and changed items, matches, outcomes) in one
    transaction; when that fails, each in a transaction of its own, a feed's failure returned
    in its place."""
    if not polls:
        return []
    try:
        return list(_write(store, polls, rules, rng))
    except StoreError as exc:
        if len(polls) == 1:
            return [exc]
        log.warning("a batch of %d polls failed (%s); writing them one by one", len(polls), exc)
    out: list[FeedWrite | StoreError] = []
    for poll in polls:
        out += write_polls(store, [poll], rules, rng)
    return out


def _write(
    store: Store, polls: Sequence[Poll], rules: Rules, rng: random.Random
) -> tuple[FeedWrite, ...]:
    asked = plan.known_questions(polls)
    ordered = plan.sort(polls, store.known(asked) if asked else Known())
    facts = Facts()
    if any(ordered.new) or any(ordered.changed):
        facts = store.facts(
            urls=ordered.urls,
            keys=ordered.story_keys(),
            since=plan.since(polls),
            depth=plan.CARRIERS_PER_KEY,
            amended=ordered.amended(polls),
            terms=ordered.event_terms(),
            event_since=plan.event_since(polls),
            event_depth=plan.TERM_CARRIERS,
        )
    placing = storyplan.pick(polls, ordered, facts)
    candidates = store.story_candidates(placing.wanted) if placing.wanted else {}
    storied = storyplan.place(polls, placing, candidates, facts)
    stored_events = store.event_candidates(storied.wanted) if storied.wanted else {}
    decided = plan.decide(polls, ordered, facts, placing, storied, stored_events, rules, rng)
    store.write(decided)
    return decided.feeds


def save_items(
    store: Store,
    feed_id: int,
    new: Sequence[Item],
    changed: Sequence[Item],
    scored: Mapping[str, Sequence[TopicMatch]],
    now: datetime,
    *,
    signatures: Mapping[str, StorySignature] | None = None,
    profiles: Mapping[str, EventProfile] | None = None,
) -> SaveResult:
    """Store one feed's items (``new`` and ``changed`` as they are sorted against the store)
    with the given matches, the way a poll stores them, recording no poll (tools, tests)."""
    poll = Poll(feed_id, now, (*new, *changed), signatures or {}, scored, profiles=profiles or {})
    (written,) = write_polls(store, [poll], Rules(), random.Random(0))
    if isinstance(written, StoreError):
        raise written
    return written.saved


@dataclass(frozen=True, slots=True)
class Scored:
    """One poll's items' matches as a parse worker found them, with the matcher it used."""

    matcher: MatcherLike
    matches: dict[str, list[TopicMatch]]


def _batch_size(queued: Sequence[tuple[Poll, object]]) -> int:
    """How many of the first polls queued the next batch takes: at most :data:`WRITE_BATCH`
    polls and :data:`WRITE_BATCH_ITEMS` items, and at least one poll."""
    items = 0
    for n, (poll, *_) in enumerate(queued[:WRITE_BATCH]):
        items += len(poll.items)
        if items > WRITE_BATCH_ITEMS and n > 0:
            return n
    return min(len(queued), WRITE_BATCH)


class WriteQueue:
    """Polls waiting for the database, written in batches (see :meth:`write`).

    ``in_db`` runs a function on the database thread; ``rules`` gives the rules of the next
    batch (the matcher and policy as reloaded). After a batch, on the database thread, the
    memory it freed is handed back to the system with ``release``, at most once every
    :data:`RELEASE_EVERY_S` seconds of ``clock``."""

    def __init__(
        self,
        store: Store,
        in_db: Callable[..., Awaitable[Any]],
        rules: Callable[[], Rules],
        rng: random.Random,
        *,
        release: Callable[[], object] = release_free_memory,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._in_db = in_db
        self._rules = rules
        self._rng = rng
        self._release = release
        self._clock = clock
        self._released_at = -RELEASE_EVERY_S
        self._queue: Coalescer[tuple[Poll, Scored | None], FeedWrite] = Coalescer(
            self._write_batch, take=_batch_size, after=self._released
        )

    async def write(self, poll: Poll, scored: Scored | None = None) -> FeedWrite:
        """Write a poll with the others waiting: one transaction for all of them
        (``monitor.batching.Coalescer``: a lone poll is written at once).

        ``scored``: its items' matches as a parse worker found them (used when the worker's
        matcher is still the current one).
        """
        return await self._queue.submit((poll, scored))

    async def _write_batch(
        self, batch: list[tuple[Poll, Scored | None]]
    ) -> list[FeedWrite | StoreError]:
        rules = self._rules()
        polls = [
            replace(
                poll,
                matches=scored.matches
                if scored is not None and scored.matcher is rules.matcher
                else None,
            )
            for poll, scored in batch
        ]
        written: list[FeedWrite | StoreError] = await self._in_db(
            write_polls, self.store, polls, rules, self._rng
        )
        return written

    async def _released(self) -> None:
        """Hand the memory a batch freed back to the system, at most once a
        :data:`RELEASE_EVERY_S`."""
        now = self._clock()
        if now - self._released_at < RELEASE_EVERY_S:
            return
        self._released_at = now
        try:
            await self._in_db(self._release)
        except Exception as exc:  # the polls are written: this only costs memory
            log.warning("could not hand freed memory back to the system: %s", exc)
