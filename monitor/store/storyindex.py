"""The store's story index: each item's candidate keys and stored signature, and a cache of
stored items' stories and signatures.

Owns: the SQL of the ``story_bands`` table and of items' stored signatures (as bytes: what
they mean is ``monitor.stories``'), and reading the most recent carriers of a set of keys.
Decides nothing (which carriers to compare, which story an item joins: ``monitor.plan``).
Must not import stories, dedupe, cadence, score, fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from monitor.intents import StoredEvent, StoredText
from monitor.store.events import item_events_t
from monitor.store.schema import (
    items_t,
    story_bands_t,
)
from monitor.store.sql import (
    StoreBase,
    bulk_insert,
    chunks,
    newest_carriers,
    rows_by_ids,
)
from monitor.store.translate import translated

#: A cache entry: story, signature, event, event profile (only with an event) and time.
_Entry = tuple[str, bytes, str | None, bytes | None, datetime | None]


class StoryCache:
    """Story and stored signature of recently stored items, by item id, least recently used
    out first; and, for the items this store wrote with an event, that event, the stored
    event profile and the time.

    A new item's story is found by comparing it with recent items that share a candidate key,
    and its event by comparing it with recent items that share its terms; without this cache
    each of those would be read back every time it comes up. An entry is small: the signature
    and the profile as stored (about 0.4 and 0.3 KB for a news item). A changed item's entry
    is dropped. Thread-safe. Items written by another process are read from the database
    once, then kept here like the rest (their stories and signatures: their events are read
    from the database each time).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        # (story, signature, event, event profile, time): a tuple of strings, bytes and a
        # datetime, which the garbage collector stops tracking, so thousands of entries cost a
        # full collection nothing and do not bring the next one closer (an object of a class
        # would do both)
        self._data: OrderedDict[int, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, ids: Iterable[int]) -> dict[int, StoredText]:
        found: list[tuple[int, _Entry]] = []
        with self._lock:
            for item_id in ids:
                hit = self._data.get(item_id)
                if hit is not None:
                    self._data.move_to_end(item_id)
                    found.append((item_id, hit))
        return {
            item_id: StoredText(item_id, "", "", sketch, story, event=event)
            for item_id, (story, sketch, event, _, _) in found
        }

    def events_many(self, ids: Iterable[int]) -> dict[int, StoredEvent]:
        """Event, stored profile and time of each item in ``ids`` cached with them."""
        found: dict[int, StoredEvent] = {}
        with self._lock:
            for item_id in ids:
                hit = self._data.get(item_id)
                if hit is not None and hit[3] is not None:  # a profile comes with an event
                    self._data.move_to_end(item_id)
                    found[item_id] = StoredEvent(item_id, hit[2] or "", hit[3], hit[4])
        return found

    def put(
        self,
        item_id: int,
        story: str,
        sketch: bytes,
        event: str | None = None,
        profile: bytes | None = None,
        at: datetime | None = None,
    ) -> None:
        """Keep an item's story and signature; with its event, its stored event profile and
        time when given (what the database holds for it: an item written here)."""
        value: _Entry = (story, sketch, event, profile if event else None, at)
        with self._lock:
            self._data[item_id] = value
            self._data.move_to_end(item_id)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def drop(self, item_id: int) -> None:
        with self._lock:
            self._data.pop(item_id, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


#: Items whose stories and signatures (and events, for those written here) a store keeps in
#: memory (about 0.7 KB each).
STORY_CACHE_SIZE = 20_000


def signature_rows(
    conn: Connection, ids: Sequence[int]
) -> Iterable[tuple[int, str | None, bytes | None, str | None]]:
    """(id, story, stored signature, event) of each stored item in ``ids`` (sorted).

    One statement of the driver's for many ids, passed as one parameter (a JSON array on
    SQLite, an array on PostgreSQL): the candidates of a poll's new items are a few hundred
    items spread over the whole window, each a row of its own, and building SQLAlchemy's
    statement and result rows for them cost twice what the database's reads do."""
    return rows_by_ids(
        conn,
        "SELECT i.id, i.story, i.sketch, e.event FROM items AS i "
        "LEFT JOIN item_events AS e ON e.item_id = i.id WHERE",
        "i.id",
        ids,
    )


class StoryIndexMixin(StoreBase):
    """The store's story index methods."""

    _stories: StoryCache

    @translated
    def story_candidates(self, ids: set[int]) -> dict[int, StoredText]:
        """Story, event and stored signature (else text) of each stored item in ``ids``: from
        the cache, else from the database (and then cached when it has a signature).

        An item with a signature comes with its signature only (its text is not needed to
        compare it, and is not kept in the cache either); the text is read for the others,
        items stored before signatures were."""
        out = self._stories.get_many(ids)
        missing = sorted(ids - out.keys())
        if not missing:
            return out
        unsigned: list[int] = []
        with self.engine.connect() as conn:
            for item_id, story, stored, event in signature_rows(conn, missing):
                if story and stored:
                    sketch = bytes(stored)
                    self._stories.put(item_id, story, sketch, event)
                    out[item_id] = StoredText(item_id, "", "", sketch, story, event=event)
                else:
                    unsigned.append(item_id)
            for chunk in chunks(unsigned, 500):
                rows = conn.execute(
                    select(
                        items_t.c.id,
                        items_t.c.story,
                        items_t.c.sketch,
                        items_t.c.title,
                        items_t.c.summary,
                        item_events_t.c.event,
                    )
                    .outerjoin(item_events_t, item_events_t.c.item_id == items_t.c.id)
                    .where(items_t.c.id.in_(chunk))
                )
                for r in rows:
                    out[r.id] = StoredText(
                        r.id, r.title, r.summary or "", r.sketch, r.story, event=r.event
                    )
        return out

    def _recent_carriers(
        self, conn: Connection, keys: set[int], since: datetime, depth: int
    ) -> dict[int, list[int]]:
        """For each key, the ids of the ``depth`` most recent stored items first seen at or
        after ``since`` that carry it, newest first.

        Each key is its own bounded range read of the ``(band, item_id)`` primary key, so a
        key carried by thousands of items costs what a rare one does."""
        # Ids grow with time, so "first seen since" is "id at least the first id seen since":
        # one lookup on the time index, then the key lookups need no join with the items.
        first = conn.execute(
            select(func.min(items_t.c.id)).where(items_t.c.first_seen_at >= since)
        ).scalar()
        if first is None or not keys:
            return {}
        found = newest_carriers(conn, story_bands_t, "band", keys, first, depth)
        return {key: ids for key, (_, ids) in found.items()}

    def _replace_keys(
        self,
        conn: Connection,
        item_id: int,
        old: Sequence[int],
        new: Sequence[int],
    ) -> None:
        """Index an amended item under its new text's keys instead of its old text's (each
        deleted by its primary key: the table has no index on ``item_id``)."""
        gone = sorted(set(old) - set(new))
        for chunk in chunks(gone, 500):
            conn.execute(
                delete(story_bands_t).where(
                    story_bands_t.c.band.in_(chunk), story_bands_t.c.item_id == item_id
                )
            )
        added = sorted(set(new) - set(old))
        bulk_insert(conn, story_bands_t, ("band", "item_id"), [(k, item_id) for k in added])
        self._stories.drop(item_id)
