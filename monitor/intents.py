"""What the write path says between the store and the planner: the known state the store
answers, and the writes a plan asks of it.

Owns: these values, nothing else. The store returns the first kind and applies the second
without deciding anything; :mod:`monitor.plan` takes the first and makes the second. Imports
only ``monitor.model``; must not import store, fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitor.model import FeedUpdate, Item, TopicMatch

# --- candidates of a batch's new items -------------------------------------------------------

#: Where a batch's own items start among candidate references (:data:`Ref`): above any id a
#: database gives a row.
BATCH = 1 << 62

#: An earlier item a new item of a batch may join: a stored item's id, or :data:`BATCH` plus
#: the position of an earlier new item of the batch. Plain integers (a batch makes hundreds of
#: thousands), ordered by recency as ids are: the batch's items are newer than every stored
#: one, and come after all of them.
Ref = int


# --- known state (what the store answers) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Known:
    """What is stored about a batch's items, by feed.

    ``hashes``: (feed id, item key) → content hash, for the keys asked about that are stored.
    ``by_url``: (feed id, canonical URL) → the key and hash that feed first stored the URL
    under, for the items asked about whose key is not stored (a feed may change a guid).
    """

    hashes: Mapping[tuple[int, str], str] = field(default_factory=dict)
    by_url: Mapping[tuple[int, str], tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredText:
    """A stored item's text as a planner needs it: to compare a new item's story with it, or
    to amend it. ``sketch`` is its story signature as stored (``None`` for items stored
    before signatures were), ``story`` its story, ``severities`` its matches (topic →
    severity) when asked for, ``event`` its event (``None`` when it has none)."""

    item_id: int
    title: str
    summary: str
    sketch: bytes | None
    story: str | None = None
    severities: Mapping[str, str] = field(default_factory=dict)
    event: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A stored item as an event candidate: its event, its event profile as stored (bytes:
    what they mean is ``monitor.events``'), and its time (published, else first seen)."""

    item_id: int
    event: str
    profile: bytes
    at: datetime | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What is stored about a batch's new and changed items, once they are sorted.

    ``items_by_url``: canonical URL → the first stored item with it (any feed).
    ``carriers``: story key → ids of the most recent stored items carrying it, newest first.
    ``amended``: (feed id, item key) → the stored item a changed item updates.
    ``event_carriers``: event term → ids of the stored items carrying it within the event
    window, newest first, for the terms carried by fewer than the depth asked for;
    ``event_counts``: event term → how many stored items carry it within the window, counted
    up to that depth; ``event_items``: how many stored items the event window holds.
    """

    items_by_url: Mapping[str, int] = field(default_factory=dict)
    carriers: Mapping[int, Sequence[int]] = field(default_factory=dict)
    amended: Mapping[tuple[int, str], StoredText] = field(default_factory=dict)
    event_carriers: Mapping[int, Sequence[int]] = field(default_factory=dict)
    event_items: int = 0
    event_counts: Mapping[int, int] = field(default_factory=dict)


# --- writes (what a plan asks the store to do) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchWrites:
    """An item's matches to write: ``new`` inserted, ``raised`` updated and counted as new
    again (their time is the write's), ``refreshed`` updated in score and reasons only."""

    new: tuple[TopicMatch, ...] = ()
    raised: tuple[TopicMatch, ...] = ()
    refreshed: tuple[TopicMatch, ...] = ()

    @property
    def topics(self) -> list[str]:
        """The topics that count as new matches."""
        return [m.topic for m in (*self.new, *self.raised)]


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item to insert: its story (``new_story`` when it starts one), its signature as
    bytes and its candidate keys, its matches, when it was first seen, and its event: the
    event's id, the item's event profile as bytes, its event terms (to index) and its time
    (published, else first seen)."""

    item: Item
    story: str
    new_story: bool
    sketch: bytes
    keys: tuple[int, ...]
    matches: tuple[TopicMatch, ...]
    now: datetime
    event: str = ""
    profile: bytes = b""
    terms: tuple[int, ...] = ()
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A feed carrying an item under a key: ``stored`` is the item's id when it is stored
    already, else ``fresh`` its position among the plan's :class:`NewItem`."""

    feed_id: int
    key: str
    content_hash: str
    now: datetime
    stored: int | None = None
    fresh: int | None = None


@dataclass(frozen=True, slots=True)
class Amend:
    """A stored item whose text changed: its new text, signature and keys (replacing
    ``old_keys``), the title readers saw before, and its matches now and what to write."""

    feed_id: int
    item_id: int
    item: Item
    title_before: str
    sketch: bytes
    old_keys: tuple[int, ...]
    keys: tuple[int, ...]
    current: tuple[TopicMatch, ...]
    matches: MatchWrites
    now: datetime


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What one feed's poll stored."""

    new_items: int = 0
    linked_items: int = 0
    changed_items: int = 0
    new_matches: int = 0
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedWrite:
    """One feed's share of a plan: what it stored, and its poll's outcome to record (``None``
    records nothing)."""

    feed_id: int
    saved: SaveResult
    update: FeedUpdate | None


@dataclass(frozen=True, slots=True)
class WritePlan:
    """Everything a batch of polls writes, in one transaction. ``earliest``: the batch's
    earliest poll time."""

    earliest: datetime | None = None
    new: tuple[NewItem, ...] = ()
    links: tuple[Link, ...] = ()
    amends: tuple[Amend, ...] = ()
    feeds: tuple[FeedWrite, ...] = ()
