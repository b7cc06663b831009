"""Placing a batch's new items in stories: steps 2 and 3 of ``monitor.plan``'s decide.

Owns: linking each new item to a stored (or earlier) item with the same canonical URL,
picking the story candidates of the others among the recent carriers of their keys and the
batch's earlier items (:func:`pick`), then giving each its story and picking its event
candidates (:func:`place`). How similar two texts are is ``monitor.stories``'; how common
what they share is, ``monitor.storyplace``'; events, ``monitor.eventplan``'. Pure: values in,
values out. Must not import store, fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor import eventplan, events, stories, storyplace
from monitor.intents import BATCH, Facts, Ref, StoredText
from monitor.model import Item

if TYPE_CHECKING:  # the plan's types; the plan calls this module
    from monitor.plan import Poll, Sorted


# --- 2. linking by URL and picking story candidates -----------------------------------------


@dataclass(frozen=True, slots=True)
class Placing:
    """The batch's new items: ``owners[n]`` is the stored item the n-th new item is a copy
    of (by URL), or ``-1 - position`` in ``fresh``, the items to insert; ``picked[f]`` are the
    story candidates of ``fresh[f]`` (:data:`~monitor.intents.Ref`), best first."""

    new: tuple[tuple[int, Item], ...]
    owners: tuple[int, ...]
    fresh: tuple[tuple[int, Item], ...]
    signatures: tuple[stories.StorySignature, ...]
    picked: tuple[tuple[Ref, ...], ...]
    profiles: tuple[events.EventProfile, ...] = ()

    @property
    def wanted(self) -> set[int]:
        """Stored items whose story and signature :func:`place` needs."""
        return {ref for refs in self.picked for ref in refs if ref < BATCH}


class _Carriers:
    """A key's carriers as a fresh item of the batch sees them, newest first: the batch's
    earlier fresh items (``BATCH + position``: newer than any stored one), then the stored
    ones the store answered (their ids)."""

    def __init__(self, facts: Facts) -> None:
        self._stored = facts.carriers
        self._batch: defaultdict[int, deque[Ref]] = defaultdict(stories.carrier_queue)

    def __call__(self, key: int) -> Sequence[Ref]:
        newer = self._batch.get(key)
        stored = self._stored.get(key, ())
        return [*reversed(newer), *stored] if newer else stored

    def add(self, keys: Iterable[int], position: int) -> None:
        """The batch's fresh item at ``position`` carries ``keys`` (each once)."""
        ref = BATCH + position
        for key in keys:
            self._batch[key].append(ref)


def pick(polls: Sequence[Poll], ordered: Sorted, facts: Facts) -> Placing:
    """Link each new item to a stored (or earlier) item with its canonical URL, or make it
    fresh; pick each fresh item's story candidates among the recent carriers of its keys and
    the earlier fresh items (``monitor.stories.pick_candidates``)."""
    new = [(n, item) for n, items in enumerate(ordered.new) for item in items]
    fresh: list[tuple[int, Item]] = []
    owners: list[int] = []
    in_batch: dict[str, int] = {}
    for n, item in new:
        if item.url and item.url in facts.items_by_url:
            owners.append(facts.items_by_url[item.url])
        elif item.url and item.url in in_batch:
            owners.append(-1 - in_batch[item.url])
        else:
            if item.url:
                in_batch[item.url] = len(fresh)
            owners.append(-1 - len(fresh))
            fresh.append((n, item))
    sigs = tuple(ordered.signature(n, item) for n, item in fresh)
    profiles = tuple(ordered.profile(n, item) for n, item in fresh)
    carriers = _Carriers(facts)
    picked: list[tuple[Ref, ...]] = []
    for sig in sigs:
        item_keys = sorted(set(sig.keys))
        picked.append(tuple(stories.pick_candidates(item_keys, carriers)))
        # positions are only compared with later items of the batch: add after picking
        carriers.add(item_keys, len(picked) - 1)
    return Placing(tuple(new), tuple(owners), tuple(fresh), sigs, tuple(picked), profiles)


# --- 3. stories, and event candidates ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Storied:
    """The fresh items' stories and what placing them in events needs: their event inputs
    and candidates (``monitor.eventplan``)."""

    stories: tuple[str, ...]
    fresh: tuple[eventplan.Fresh, ...]
    events: eventplan.EventPicks

    @property
    def wanted(self) -> set[int]:
        """Stored items whose event and profile ``monitor.plan.decide`` needs."""
        return self.events.wanted


def place(
    polls: Sequence[Poll], placing: Placing, candidates: Mapping[int, StoredText], facts: Facts
) -> Storied:
    """Give each fresh item its story (the most similar of its picked ``candidates``, the
    stored items :attr:`Placing.wanted` names, if close enough; those without a story are
    not compared) and pick its event candidates among the recent carriers of its terms."""
    stories_of = _stories(placing, candidates, facts)
    story_events: dict[str, str] = {}
    for c in candidates.values():
        if c.story is not None and c.event is not None:
            story_events.setdefault(c.story, c.event)
    fresh = tuple(
        eventplan.Fresh(
            profile,
            story,
            story == stories.story_id_for(f"{item.feed_url}|{item.key}"),
            item.published or polls[n].now,
        )
        for (n, item), story, profile in zip(
            placing.fresh, stories_of, placing.profiles, strict=True
        )
    )
    joined = {f.story: story_events[f.story] for f in fresh if f.story in story_events}
    picks = eventplan.pick(
        fresh, joined, facts.event_carriers, facts.event_items, facts.event_counts or None
    )
    return Storied(tuple(stories_of), fresh, picks)


def stored_signature(stored: StoredText) -> stories.StorySignature:
    """A stored item's signature: as stored, else made from its text (an item stored before
    signatures were)."""
    if stored.sketch:
        return stories.signature_from_bytes(stored.sketch)
    return stories.signature(stored.title, stored.summary)


def _stories(placing: Placing, candidates: Mapping[int, StoredText], facts: Facts) -> list[str]:
    """The story of each fresh item, taken in order: that of the most similar of its picked
    candidates once common phrases are weighed, if close enough
    (``monitor.storyplace.choose_story``), else one of its own."""
    known = {
        i: (s.story, stored_signature(s)) for i, s in candidates.items() if s.story is not None
    }
    # the carriers an item was picked from, as pick saw them when it came
    carriers = _Carriers(facts)
    out: list[str] = []
    for (_, item), sig, refs in zip(placing.fresh, placing.signatures, placing.picked, strict=True):
        recent = [
            (ref, out[ref - BATCH], placing.signatures[ref - BATCH])
            if ref >= BATCH
            else (ref, *known[ref])
            for ref in refs
            if ref >= BATCH or ref in known
        ]
        story = storyplace.choose_story(sig, recent, carriers)
        carriers.add(set(sig.keys), len(out))
        out.append(story or stories.story_id_for(f"{item.feed_url}|{item.key}"))
    return out
