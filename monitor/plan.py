"""Deciding what a batch of polls writes: the *decide* of read → decide → write.

Owns: turning parsed polls and the known state the store answered (:mod:`monitor.intents`)
into one :class:`~monitor.intents.WritePlan`: which items are new, changed or seen
(``monitor.dedupe``), which new item is a copy of a stored one by its canonical URL, which
story each new item joins (``monitor.storyplan``), each new or changed
item's matches and which of them count as new, and each feed's next poll and health
(``monitor.cadence``). Pure: values in, values out; no clock, no I/O, no environment (``now``
comes with each poll, randomness with ``rng``). Must not import store, fetch, deliver,
pipeline, scheduler or cli.

The known state comes in four answers, because each question depends on the answer before:

1. :func:`sort` takes :class:`~monitor.intents.Known` (stored hashes of the items' keys, and
   the keys of their URLs) and sorts each poll's items; :class:`Sorted` says what to ask next;
2. ``monitor.storyplan.pick`` takes :class:`~monitor.intents.Facts` (stored items by URL,
   recent carriers of the story keys and of the event terms, the stored items changed ones
   amend) and picks each new item's story candidates; its ``Placing`` names the stored items
   whose signatures it needs;
3. ``monitor.storyplan.place`` takes those signatures, gives each new item its story and picks
   its event candidates (``monitor.eventplan``); its ``Storied`` names the stored items whose
   event profiles it needs;
4. :func:`decide` takes those profiles and returns the plan.

:func:`plan` runs the four at once when every answer is at hand (tests, tools).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from monitor import cadence, eventplan, events, stories
from monitor.dedupe import match_changes, triage
from monitor.intents import (
    Amend,
    Facts,
    FeedWrite,
    Known,
    Link,
    MatchWrites,
    NewItem,
    SaveResult,
    StoredEvent,
    StoredText,
    WritePlan,
)
from monitor.model import FeedState, FetchResult, Item, TopicMatch
from monitor.score.freshness import hold_stale_alerts
from monitor.storyplan import Placing, Storied, pick, place, stored_signature

#: How far back a new item looks for stored copies of its story.
STORY_WINDOW = timedelta(days=3)
#: Most recent carriers of each story key a new item's candidates are picked from.
CARRIERS_PER_KEY = stories.KEY_DEPTH
#: Most recent carriers of each event term an item's event candidates are picked from.
TERM_CARRIERS = events.EVENT_DEPTH


class MatcherLike(Protocol):
    def score(
        self, title: str, summary: str, lang: str | None = None, body: str = ""
    ) -> list[TopicMatch]: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """A poll's fetch, from which its feed's next poll is planned: the feed as claimed, what
    fetching it returned, and how many entries were past the cap."""

    feed: FeedState
    result: FetchResult
    cut: int | None = None


@dataclass(frozen=True, slots=True)
class Poll:
    """One feed's poll as parsed.

    ``signatures`` and ``profiles``: story signatures and event profiles by item key, as the
    parse workers made them, decoded or as bytes (``monitor.stories.signature_to_bytes``,
    ``monitor.events.profile_to_bytes``: a fifth of the memory while the poll waits for the
    database); missing ones are made here. ``matches``: each item's matches by key, as the
    parse workers scored them with the current matcher (``None``, or a missing key: scored
    here with :attr:`Rules.matcher`). ``backlog``: the feed's first poll, whose matches never
    alert. ``outcome``: the fetch to plan the next poll from (``None``: no poll to record).
    """

    feed_id: int
    now: datetime
    items: Sequence[Item] = ()
    signatures: Mapping[str, stories.StorySignature | bytes] = field(default_factory=dict)
    matches: Mapping[str, Sequence[TopicMatch]] | None = None
    backlog: bool = False
    outcome: Outcome | None = None
    profiles: Mapping[str, events.EventProfile | bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rules:
    """The settings a plan follows. ``alert_max_age_s``: alerts of items older than this are
    held for the digest (``None``: matches are written as they come)."""

    policy: cadence.CadencePolicy | None = None
    matcher: MatcherLike | None = None
    alert_max_age_s: float | None = None


# --- 1. sorting items against stored hashes -------------------------------------------------


def known_questions(polls: Sequence[Poll]) -> list[tuple[int, str, str | None]]:
    """What :class:`~monitor.intents.Known` must answer: (feed id, key, URL) of every item."""
    return [(p.feed_id, i.key, i.url) for p in polls for i in p.items]


@dataclass(frozen=True, slots=True)
class Sorted:
    """Each poll's new and changed items (in poll order), and what to ask the store next.

    ``signatures`` and ``profiles``: the story signature of each new and changed item and the
    event profile of each new one, by (poll's position, item key), decoded or made once."""

    new: tuple[tuple[Item, ...], ...]
    changed: tuple[tuple[Item, ...], ...]
    seen: tuple[int, ...]
    signatures: Mapping[tuple[int, str], stories.StorySignature] = field(default_factory=dict)
    profiles: Mapping[tuple[int, str], events.EventProfile] = field(default_factory=dict)

    @property
    def urls(self) -> set[str]:
        """Canonical URLs of the new items: are they stored already (another feed)?"""
        return {i.url for items in self.new for i in items if i.url}

    def amended(self, polls: Sequence[Poll]) -> list[tuple[int, str]]:
        """(feed id, key) of the changed items: the stored items they amend."""
        return [
            (p.feed_id, i.key) for p, items in zip(polls, self.changed, strict=True) for i in items
        ]

    def story_keys(self) -> set[int]:
        """The candidate keys of the new items' stories."""
        return {
            k for n, items in enumerate(self.new) for i in items for k in self.signature(n, i).keys
        }

    def event_terms(self) -> set[int]:
        """The event terms of the new items: the store reads their recent carriers."""
        return {
            t for n, items in enumerate(self.new) for i in items for t in self.profile(n, i).terms
        }

    def signature(self, n: int, item: Item) -> stories.StorySignature:
        """The story signature of a new or changed item of the ``n``-th poll."""
        found = self.signatures.get((n, item.key))
        return found if found is not None else stories.signature(item.title, item.summary)

    def profile(self, n: int, item: Item) -> events.EventProfile:
        """The event profile of a new item of the ``n``-th poll."""
        found = self.profiles.get((n, item.key))
        return found if found is not None else events.profile(item.title, item.summary)


def sort(polls: Sequence[Poll], known: Known) -> Sorted:
    """Sort each poll's items into new, changed and seen (``monitor.dedupe.triage``)."""
    new, changed, seen = [], [], []
    signatures: dict[tuple[int, str], stories.StorySignature] = {}
    profiles: dict[tuple[int, str], events.EventProfile] = {}
    for n, p in enumerate(polls):
        hashes = {
            i.key: known.hashes[(p.feed_id, i.key)]
            for i in p.items
            if (p.feed_id, i.key) in known.hashes
        }
        by_url = {
            i.url: known.by_url[(p.feed_id, i.url)]
            for i in p.items
            if i.url and (p.feed_id, i.url) in known.by_url
        }
        t = triage(p.items, hashes, by_url)
        new.append(t.new)
        changed.append(t.changed)
        seen.append(t.seen)
        for item in (*t.new, *t.changed):
            signatures[(n, item.key)] = _signature(p, item)
        for item in t.new:
            profiles[(n, item.key)] = _profile(p, item)
    return Sorted(tuple(new), tuple(changed), tuple(seen), signatures, profiles)


def since(polls: Sequence[Poll]) -> datetime:
    """The earliest first sighting a stored story candidate may have."""
    return min(p.now for p in polls) - STORY_WINDOW


def event_since(polls: Sequence[Poll]) -> datetime:
    """The earliest first sighting a stored event candidate may have."""
    return min(p.now for p in polls) - events.EVENT_WINDOW


# --- 4. the plan ------------------------------------------------------------------------------


def decide(
    polls: Sequence[Poll],
    ordered: Sorted,
    facts: Facts,
    placing: Placing,
    storied: Storied,
    stored_events: Mapping[int, StoredEvent],
    rules: Rules,
    rng: random.Random,
) -> WritePlan:
    """What the batch writes: new items with their stories, events and matches, every new
    item's link to its feed, changed items' amendments, and each feed's poll outcome.

    ``stored_events``: event and profile of the items :attr:`Storied.wanted` names."""
    events_of = eventplan.assign(storied.fresh, storied.events, stored_events)
    topics: list[list[str]] = [[] for _ in polls]
    new_items: list[NewItem] = []
    for (n, item), sig, story, fresh, event in zip(
        placing.fresh, placing.signatures, storied.stories, storied.fresh, events_of, strict=True
    ):
        p = polls[n]
        found = tuple(_matches(p, item, rules))
        topics[n] += [m.topic for m in found]  # a new item has no stored matches
        # the bytes the parse workers sent, when they did: what encoding the decoded gives
        sketch, terms = p.signatures.get(item.key), p.profiles.get(item.key)
        new_items.append(
            NewItem(
                item,
                story,
                fresh.new_story,
                sketch if isinstance(sketch, bytes) else stories.signature_to_bytes(sig),
                tuple(sorted(set(sig.keys))),
                found,
                p.now,
                event,
                terms if isinstance(terms, bytes) else events.profile_to_bytes(fresh.profile),
                fresh.profile.terms,
                fresh.at,
            )
        )
    links = tuple(
        Link(
            polls[n].feed_id,
            item.key,
            item.content_hash,
            polls[n].now,
            stored=owner if owner >= 0 else None,
            fresh=-1 - owner if owner < 0 else None,
        )
        for (n, item), owner in zip(placing.new, placing.owners, strict=True)
    )
    amends: list[Amend] = []
    n_changed = [0 for _ in polls]
    for n, (p, changed) in enumerate(zip(polls, ordered.changed, strict=True)):
        for item in changed:
            stored = facts.amended.get((p.feed_id, item.key))
            if stored is None:  # gone since (retention)
                continue
            n_changed[n] += 1
            sig = ordered.signature(n, item)
            current = tuple(_matches(p, item, rules))
            writes = match_writes(stored.severities, current)
            topics[n] += writes.topics
            amends.append(
                Amend(
                    p.feed_id,
                    stored.item_id,
                    item,
                    stored.title,
                    stories.signature_to_bytes(sig),
                    tuple(sorted(set(stored_signature(stored).keys))),
                    tuple(sorted(set(sig.keys))),
                    current,
                    writes,
                    p.now,
                )
            )
    fresh_of = [0 for _ in polls]
    for n, _ in placing.fresh:
        fresh_of[n] += 1
    new_of = [len(items) for items in ordered.new]
    feeds = []
    for n, p in enumerate(polls):
        saved = SaveResult(
            fresh_of[n], new_of[n] - fresh_of[n], n_changed[n], len(topics[n]), tuple(topics[n])
        )
        update = None
        if p.outcome is not None:
            if rules.policy is None:
                raise ValueError("planning a poll's outcome needs a cadence policy")
            o = p.outcome
            count = saved.new_items + saved.linked_items
            update = cadence.feed_update(
                o.feed, o.result, p.now, rules.policy, rng, new_items=count, cut=o.cut
            )
        feeds.append(FeedWrite(p.feed_id, saved, update))
    earliest = min((p.now for p in polls), default=None)
    return WritePlan(earliest, tuple(new_items), links, tuple(amends), tuple(feeds))


def plan(
    polls: Sequence[Poll],
    known: Known,
    facts: Facts,
    stored: Mapping[int, StoredText],
    rules: Rules,
    rng: random.Random,
    stored_events: Mapping[int, StoredEvent] | None = None,
) -> WritePlan:
    """:func:`sort`, :func:`pick`, :func:`place` and :func:`decide` with every answer at hand
    (``stored``: the story candidates, by id; ``stored_events``: the event candidates, by id;
    ``facts`` may name more carriers than are picked)."""
    ordered = sort(polls, known)
    placing = pick(polls, ordered, facts)
    wanted = {i: stored[i] for i in placing.wanted if i in stored}
    storied = place(polls, placing, wanted, facts)
    found = stored_events or {}
    return decide(
        polls,
        ordered,
        facts,
        placing,
        storied,
        {i: found[i] for i in storied.wanted if i in found},
        rules,
        rng,
    )


def _signature(poll: Poll, item: Item) -> stories.StorySignature:
    found = poll.signatures.get(item.key)
    if found is None:
        return stories.signature(item.title, item.summary)
    return stories.signature_from_bytes(found) if isinstance(found, bytes) else found


def _profile(poll: Poll, item: Item) -> events.EventProfile:
    found = poll.profiles.get(item.key)
    if found is None:
        return events.profile(item.title, item.summary)
    return events.profile_from_bytes(found) if isinstance(found, bytes) else found


def _matches(poll: Poll, item: Item, rules: Rules) -> list[TopicMatch]:
    found = poll.matches.get(item.key) if poll.matches is not None else None
    if found is None:
        found = rules.matcher.score(item.title, item.summary, item.lang) if rules.matcher else []
    if rules.alert_max_age_s is None:
        return list(found)
    return hold_stale_alerts(
        found,
        published=item.published,
        now=poll.now,
        backlog=poll.backlog,
        max_age_s=rules.alert_max_age_s,
    )


def match_writes(previous: Mapping[str, str], current: Iterable[TopicMatch]) -> MatchWrites:
    """An item's matches to write, given its stored ones (topic → severity): see
    ``monitor.dedupe.match_changes``."""
    changes = match_changes(previous, current)
    return MatchWrites(changes.new, changes.raised, changes.refreshed)
