"""Placing a new item in a story among the window's items: what it shares, weighed by how common.

Owns: the choice of story for a new item among its picked candidates (:func:`choose_story`),
where what two items share counts only as far as it is not a common phrase of the window, and
:func:`cluster`, the same for a sequence of items. Pure: takes values, returns values; no
clock, no I/O. Imports only the standard library and :mod:`monitor.stories`; must not import
fetch, store, deliver, pipeline, scheduler or cli.

Why
---
:func:`monitor.stories.similarity` counts shared shingles against the smaller text, with a
floor of :data:`~monitor.stories.MIN_SHINGLES`. Two short unrelated items that share one whole
stock sentence ("The decision follows a surprise audit and comes ahead of a vote in Berlin.",
"a déclaré le ministre dans un communiqué publié lundi") share a dozen shingles, enough to
reach the threshold, and single-link clustering chains such pairs into stories of thousands of
items. A phrase that many unrelated items carry says nothing of whether two of them are copies.

The method
----------
A pair's candidate keys are a uniform sample of its shingles (the fixed cut of
:mod:`monitor.stories`: a shingle two texts share is a key of both or of neither), so of the
keys two items share, the share that are common phrases estimates the share of their shared
shingles that are. A candidate's similarity is discounted by it::

    similarity × (1 − common shared keys / shared keys)

A shared key is a *common phrase* when, among its most recent carriers (at most
:data:`~monitor.stories.KEY_DEPTH`, those the index gives), at least :data:`PHRASE_CARRIERS`
other texts carry it besides the candidate. A carrier is *the same text* when it is a copy of
the new item or of the candidate: at least :data:`COPY_SHARE` of the smaller one's shingles
are shared (compared on whole shingle sets, not on keys: in a short item a stock sentence
can hold half its keys). The other texts are counted by story, each story of the window once,
so that a wire story run by thirty outlets is one text, whichever of its copies carry the key:
when the new item is itself a copy of it, its copies are the same text and count as none.
The carriers in the candidate's own story that are not copies are the exception, each counted:
they joined it through what they share with it, and a story grown by a chain of joins through
one phrase must not make that phrase look like one story's. A carrier the planner did not pick
to compare (it shares with the new item only keys that many items carry) counts as another
story without being read.

The first few items to carry a phrase still see nothing common in it: what is common shows only
once other texts have carried it, so the first of them may still join one another.

Bounded work
------------
The discount is worked out only for a candidate whose similarity reaches the threshold: at
most its shared keys × :data:`~monitor.stories.KEY_DEPTH` carriers, each compared with the two
items by its set of shingles (at most :data:`~monitor.stories.SKETCH_SIZE` of them).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Generic

from monitor.stories import (
    KEY_DEPTH,
    STORY_THRESHOLD,
    StorySignature,
    T,
    assign_story,
    carrier_queue,
    check_threshold,
    pick_candidates,
    scorer,
    similarity,
    story_id_for,
)

__all__ = ["COPY_SHARE", "PHRASE_CARRIERS", "choose_story", "cluster", "common_share"]

#: Other texts carrying a key, besides the candidate, that make it a common phrase.
PHRASE_CARRIERS = 2
#: The least share of the smaller text's shingles two items share for one to be a copy of the
#: other when telling texts apart.
COPY_SHARE = 0.6


class _Text:
    """An item's signature, with its candidate keys and (when the signature holds them all)
    its shingles as sets, for the items compared with many others."""

    __slots__ = ("keys", "shingles", "sig")

    def __init__(self, sig: StorySignature) -> None:
        self.sig = sig
        self.keys = frozenset(sig.keys)
        self.shingles = frozenset(sig.hashes) if sig.complete else None

    def copied_by(self, other: StorySignature) -> bool:
        """Whether one of this item and ``other`` is a copy of the other (see the module
        docstring); ``other``'s hashes are only iterated, not made into a set."""
        if self.shingles is None or not other.complete:
            return similarity(self.sig, other) >= COPY_SHARE
        smaller = min(self.sig.size, other.size)
        return len(self.shingles.intersection(other.hashes)) >= COPY_SHARE * smaller > 0


class _Window(Generic[T]):
    """The new item's view of the window: its keys' carriers, newest first, and the story and
    signature of each picked candidate (the only carriers whose text is at hand)."""

    def __init__(
        self,
        candidate: StorySignature,
        picked: Sequence[tuple[T, str, StorySignature]],
        carriers: Callable[[int], Iterable[T]],
    ) -> None:
        self.mine = _Text(candidate)
        self.picked = {ref: (story, sig) for ref, story, sig in picked}
        self.carriers = carriers
        self._copies_mine: dict[T, bool] = {}

    def common_share(self, ref: T) -> float:
        """The share of the keys the new item shares with ``ref`` that are common phrases."""
        if ref not in self.picked:
            return 0.0
        story, sig = self.picked[ref]
        shared = self.mine.keys.intersection(sig.keys)
        if not shared:
            return 0.0
        theirs = _Text(sig)
        same: dict[T, bool] = {}  # a carrier is a copy of the new item or of the candidate
        common = 0
        for key in shared:
            others = 0
            elsewhere: set[str] = set()  # other stories carrying the key, each counted once
            for carrier in islice(self.carriers(key), KEY_DEPTH):
                if carrier == ref:
                    continue
                known = self.picked.get(carrier)
                if known is not None and known[0] != story and known[0] in elsewhere:
                    continue  # a story counted already
                copy = same.get(carrier)
                if copy is None:
                    copy = same[carrier] = known is not None and self._copy(
                        carrier, known[1], theirs
                    )
                if copy:
                    continue
                if known is not None and known[0] != story:
                    elsewhere.add(known[0])
                others += 1
                if others >= PHRASE_CARRIERS:
                    common += 1
                    break
        return common / len(shared)

    def _copy(self, carrier: T, sig: StorySignature, theirs: _Text) -> bool:
        mine = self._copies_mine.get(carrier)
        if mine is None:
            mine = self._copies_mine[carrier] = self.mine.copied_by(sig)
        return mine or theirs.copied_by(sig)


def common_share(
    candidate: StorySignature,
    ref: T,
    picked: Sequence[tuple[T, str, StorySignature]],
    carriers: Callable[[int], Iterable[T]],
) -> float:
    """The share of the keys ``candidate`` shares with the picked item ``ref`` that are common
    phrases in the window (see the module docstring).

    Args:
        candidate: the new item's signature.
        ref: one of ``picked``.
        picked: ``(item, story, signature)`` of the items the new one is compared with.
        carriers: a key's carriers in the window, newest first (the new item not among them).
    """
    return _Window(candidate, picked, carriers).common_share(ref)


def choose_story(
    candidate: StorySignature,
    recent: Sequence[tuple[T, str, StorySignature]],
    carriers: Callable[[int], Iterable[T]],
    threshold: float = STORY_THRESHOLD,
) -> str | None:
    """The story the new item joins, or ``None`` when it starts one.

    That of the most similar of ``recent`` once the similarity is discounted by the share of
    common phrases in what they share, when that reaches ``threshold``.

    Args:
        candidate: the new item's signature.
        recent: ``(item, story, signature)`` of the items picked to compare it with
            (``monitor.stories.pick_candidates``), best first: of equals the first wins.
        carriers: a key's carriers in the window, newest first, the new item not among them
            (what ``pick_candidates`` was given).
        threshold: the least similarity that makes a copy, in (0, 1].

    Raises:
        ValueError: when ``threshold`` is outside (0, 1].
    """
    check_threshold(threshold)
    score = scorer(candidate)
    window: _Window[T] | None = None
    best_story: str | None = None
    best = threshold
    for ref, story, sig in recent:
        found = score(sig)
        if found < best or (best_story is not None and found <= best):
            continue
        if window is None:
            window = _Window(candidate, recent, carriers)
        found *= 1.0 - window.common_share(ref)
        if found >= best and (best_story is None or found > best):
            best_story, best = story, found
    return best_story


def cluster(
    items: Sequence[tuple[str, StorySignature]],
    threshold: float = STORY_THRESHOLD,
    *,
    phrases: bool = True,
) -> list[str]:
    """Story ids for ``(item_key, signature)`` pairs taken in order, as a stream would see them.

    Each item is compared only with the earlier items :func:`~monitor.stories.pick_candidates`
    picks from those sharing a candidate key (what a store's index returns), joins the story
    :func:`choose_story` gives, and starts its own story otherwise. Useful for the items of one
    poll, and for measuring: ``phrases=False`` leaves common phrases unweighed (similarity
    alone, ``monitor.stories.assign_story``).
    """
    check_threshold(threshold)
    by_key: defaultdict[int, deque[int]] = defaultdict(carrier_queue)
    stories: list[str] = []

    def carriers(key: int) -> Iterable[int]:
        return reversed(by_key[key]) if key in by_key else ()

    for index, (item_key, sig) in enumerate(items):
        keys = sig.keys
        picked = pick_candidates(keys, carriers)
        recent = [(i, stories[i], items[i][1]) for i in picked]
        if phrases:
            found = choose_story(sig, recent, carriers, threshold)
        else:
            found = assign_story(sig, [(story, other) for _, story, other in recent], threshold)
        stories.append(found if found is not None else story_id_for(item_key))
        for key in keys:
            by_key[key].append(index)
    return stories
