"""Placing a batch's new items in events: the event half of :mod:`monitor.plan`'s decision.

Owns: the order in which a batch's new items are placed in events, and what each needs from
the store. An item that joined a story with an event takes that event; the others are
compared with the candidates :func:`monitor.events.pick_event_candidates` picks among the
recent carriers of their terms (stored, or earlier in the batch), and join the most similar
one's event when close enough, else start an event named after their story. Term weights
come from the carriers' counts: the store reads at most :data:`~monitor.events.EVENT_DEPTH`
carriers of a term, and an earlier item of the batch counts as one more.

Two steps, because the second needs the store's answer to the first: :func:`pick` names the
stored candidates whose profiles are needed (:attr:`EventPicks.wanted`), and :func:`assign`
takes them (:class:`~monitor.intents.StoredEvent`) and returns each item's event. Pure:
values in, values out. Imports only :mod:`monitor.events` and :mod:`monitor.intents`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor import events
from monitor.intents import BATCH, Ref, StoredEvent


@dataclass(frozen=True, slots=True)
class Fresh:
    """A new item to place: its event profile, its story (``new_story`` when it starts one)
    and its time (published, else first seen)."""

    profile: events.EventProfile
    story: str
    new_story: bool
    at: datetime | None


@dataclass(frozen=True, slots=True)
class EventPicks:
    """What :func:`pick` found: the events of the stored stories the items joined, each
    term's weight, and each item's candidates, best first (empty for an item whose story has
    an event)."""

    story_events: Mapping[str, str]
    weights: Mapping[int, float]
    picked: tuple[tuple[Ref, ...], ...]

    @property
    def wanted(self) -> set[int]:
        """Stored items whose event and profile :func:`assign` needs."""
        return {ref for refs in self.picked for ref in refs if ref < BATCH}


def terms(fresh: Sequence[Fresh]) -> set[int]:
    """Every term of the items: the store reads their recent carriers."""
    return {t for f in fresh for t in f.profile.terms}


def pick(
    fresh: Sequence[Fresh],
    story_events: Mapping[str, str],
    carriers: Mapping[int, Sequence[int]],
    window_items: int,
    counts: Mapping[int, int] | None = None,
) -> EventPicks:
    """Weigh the items' terms and pick each item's candidates, in order.

    Args:
        fresh: the batch's new items, in the order they are stored.
        story_events: the event of each stored story an item joined (where it has one).
        carriers: each term's most recent stored carriers in the event window, newest first
            (a term carried by :data:`~monitor.events.EVENT_DEPTH` items or more weighs
            nothing: its carriers are not needed).
        window_items: how many stored items the event window holds.
        counts: each term's number of stored carriers, counted up to
            :data:`~monitor.events.EVENT_DEPTH` (``None``: as many as ``carriers`` lists).
    """
    if counts is None:
        counts = {t: len(ids) for t, ids in carriers.items()}
    in_window = window_items + len(fresh)
    batch: dict[int, deque[Ref]] = {}

    def carriers_of(term: int) -> Sequence[Ref]:
        refs = carriers.get(term, ())
        newer = batch.get(term)
        return [*reversed(newer), *refs] if newer else refs

    weights: dict[int, float] = {}
    idf: dict[int, float] = {}  # by carriers' count: the window's size is the batch's
    picked: list[tuple[Ref, ...]] = []
    for position, item in enumerate(fresh):
        for term in item.profile.terms:
            df = counts.get(term, 0) + len(batch.get(term, ()))
            w = idf.get(df)
            if w is None:
                w = idf[df] = events.idf(df, in_window)
            weights[term] = w
        if item.new_story or item.story not in story_events:
            picked.append(
                tuple(events.pick_event_candidates(item.profile.terms, carriers_of, weights))
            )
        else:
            picked.append(())
        ref = BATCH + position
        for term in item.profile.terms:
            queue = batch.get(term)
            if queue is None:
                queue = batch[term] = deque(maxlen=events.EVENT_DEPTH)
            queue.append(ref)
    return EventPicks(dict(story_events), weights, tuple(picked))


def assign(
    fresh: Sequence[Fresh], picks: EventPicks, stored: Mapping[int, StoredEvent]
) -> list[str]:
    """Each item's event, in order: its story's, else its most similar candidate's (stored
    ones as ``stored`` gives them; a candidate missing there is skipped), else a new one
    named after its story."""
    # a stored candidate's profile is decoded when an item first compares with it and let go
    # after the last item that does: decoding every one at once held tens of megabytes of
    # integers through a batch of 1,000 items
    last_use: dict[int, int] = {}
    for position, refs in enumerate(picks.picked):
        for ref in refs:
            if ref < BATCH and ref in stored:
                last_use[ref] = position
    done_at: dict[int, list[int]] = {}
    for ref, position in last_use.items():
        done_at.setdefault(position, []).append(ref)
    known: dict[int, events.EventCandidate] = {}
    weights = picks.weights
    # each earlier item's total weight once, however many new items it is compared with
    totals: dict[events.EventProfile, float] = {}

    def stored_candidate(ref: int) -> events.EventCandidate:
        found = known.get(ref)
        if found is None:
            s = stored[ref]
            found = known[ref] = events.EventCandidate(
                s.event, events.profile_from_bytes(s.profile), s.at
            )
        return found

    story_events = dict(picks.story_events)
    out: list[str] = []
    # each earlier item of the batch as a candidate, made once when it is placed (an item is
    # the candidate of up to EVENT_CANDIDATES later ones)
    placed: list[events.EventCandidate] = []
    for position, (item, refs) in enumerate(zip(fresh, picks.picked, strict=True)):
        event = story_events.get(item.story)
        if event is None:
            recent = [
                placed[ref - BATCH] if ref >= BATCH else stored_candidate(ref)
                for ref in refs
                if (ref >= BATCH and ref - BATCH < position) or (ref < BATCH and ref in stored)
            ]
            event = events.assign_event(item.profile, item.at, recent, weights, totals=totals)
            event = event or item.story
        story_events.setdefault(item.story, event)
        out.append(event)
        placed.append(events.EventCandidate(event, item.profile, item.at))
        for ref in done_at.pop(position, ()):
            done = known.pop(ref, None)
            if done is not None:
                totals.pop(done.profile, None)
    return out
