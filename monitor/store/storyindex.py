"""The store's story index: each item's candidate keys and signature, and the cache of both.

Owns: the SQL of the ``story_bands`` table and of items' stored signatures, and reading the
most recent carriers of a set of keys. Must not import fetch, deliver, pipeline, scheduler or
cli.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict, defaultdict, deque
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from monitor import stories
from monitor.model import Item
from monitor.store.sql import StoreBase, bands_t, bulk_insert, chunks, items_t, placeholder

STORY_WINDOW = timedelta(days=3)


class StoryCache:
    """Story and signature of recently stored items, by item id, least recently used out first.

    A new item's story is found by comparing it with recent items that share a candidate key;
    without this cache each of those would be read back and shingled again every time it comes
    up. An entry is small: the sketch as 64-bit integers in an array (about 0.4 KB for a news
    item). A changed item's entry is dropped. Thread-safe. Items written by another process
    are read from the database once, then kept here like the rest.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[int, tuple[str, array[int], int]] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, ids: Iterable[int]) -> dict[int, tuple[str, stories.StorySignature]]:
        out: dict[int, tuple[str, stories.StorySignature]] = {}
        with self._lock:
            for item_id in ids:
                hit = self._data.get(item_id)
                if hit is not None:
                    self._data.move_to_end(item_id)
                    out[item_id] = (hit[0], stories.StorySignature(tuple(hit[1]), hit[2]))
        return out

    def put(self, item_id: int, story: str, sig: stories.StorySignature) -> None:
        value = (story, array("q", sig.hashes), sig.size)
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


#: Items whose story signatures a store keeps in memory (about 0.4 KB each).
STORY_CACHE_SIZE = 20_000


class StoryIndexMixin(StoreBase):
    """The store's story index methods."""

    _stories: StoryCache

    def _assign_stories(
        self,
        conn: Connection,
        fresh: Sequence[Item],
        sigs: Sequence[stories.StorySignature],
        keys_of: Sequence[Sequence[int]],
        since: datetime,
    ) -> list[str]:
        """The story of each new item, taken in order: that of the most similar of the recent
        items (first seen at or after ``since``, stored or earlier in the batch) that
        :func:`monitor.stories.pick_candidates` picks for it, if close enough, else a story of
        its own. Reads at most :data:`~monitor.stories.KEY_DEPTH` stored items per key."""
        stored = self._recent_carriers(conn, {k for item_keys in keys_of for k in item_keys}, since)
        # the batch's items are newer than any stored one: (1, position) sorts after (0, id)
        batch: defaultdict[int, deque[tuple[int, int]]] = defaultdict(stories.carrier_queue)

        def carriers(key: int) -> Iterable[tuple[int, int]]:
            newer = batch.get(key)
            if newer:
                yield from reversed(newer)
            for item_id in stored.get(key, ()):
                yield (0, item_id)

        picked = []
        for item_keys in keys_of:
            picked.append(stories.pick_candidates(item_keys, carriers))
            # positions are only compared with later items of the batch: add after picking
            for k in item_keys:
                batch[k].append((1, len(picked) - 1))
        known = self._story_signatures(
            conn, {ref for refs in picked for origin, ref in refs if origin == 0}
        )
        out: list[str] = []
        for item, sig, refs in zip(fresh, sigs, picked, strict=True):
            recent = [
                (out[ref], sigs[ref]) if origin == 1 else known[ref]
                for origin, ref in refs
                if origin == 1 or ref in known
            ]
            story = stories.assign_story(sig, recent)
            out.append(story or stories.story_id_for(f"{item.feed_url}|{item.key}"))
        return out

    def _recent_carriers(
        self, conn: Connection, keys: set[int], since: datetime
    ) -> dict[int, list[int]]:
        """For each key, the ids of the :data:`~monitor.stories.KEY_DEPTH` most recent stored
        items first seen at or after ``since`` that carry it, newest first.

        Each key is its own bounded range read of the ``(band, item_id)`` primary key, so a
        key carried by thousands of items costs what a rare one does."""
        out: dict[int, list[int]] = defaultdict(list)
        # Ids grow with time, so "first seen since" is "id at least the first id seen since":
        # one lookup on the time index, then the key lookups need no join with the items.
        first = conn.execute(
            select(func.min(items_t.c.id)).where(items_t.c.first_seen_at >= since)
        ).scalar()
        if first is None or not keys:
            return out
        depth = stories.KEY_DEPTH
        table = bands_t.name
        if self.dialect == "postgresql":
            # one statement a chunk: each key's newest rows through a lateral index read
            for chunk in chunks(sorted(keys), 1000):
                rows = conn.exec_driver_sql(
                    f"SELECT k.band, s.item_id FROM unnest(%s::bigint[]) AS k(band) "
                    f"CROSS JOIN LATERAL (SELECT item_id FROM {table} "
                    f"WHERE band = k.band AND item_id >= %s "
                    f"ORDER BY item_id DESC LIMIT {depth}) AS s",
                    (chunk, first),
                )
                for band, item_id in rows:
                    out[band].append(item_id)
        else:
            self._recent_carriers_sqlite(conn, keys, first, out)
        for ids in out.values():
            ids.sort(reverse=True)
        return out

    @staticmethod
    def _recent_carriers_sqlite(
        conn: Connection, keys: set[int], first: int, out: dict[int, list[int]]
    ) -> None:
        depth = stories.KEY_DEPTH
        table = bands_t.name
        mark = placeholder(conn.dialect)
        one = (
            f"SELECT band, item_id FROM (SELECT band, item_id FROM {table} "
            f"WHERE band = {mark} AND item_id >= {mark} ORDER BY item_id DESC LIMIT {depth})"
        )
        # SQLite allows 500 terms in a compound SELECT
        for chunk in chunks(sorted(keys), 200):
            rows = conn.exec_driver_sql(
                " UNION ALL ".join([one] * len(chunk)),
                tuple(v for k in chunk for v in (k, first)),
            )
            for band, item_id in rows:
                out[band].append(item_id)

    def _stored_signature(self, conn: Connection, item_id: int) -> stories.StorySignature:
        """The signature stored with an item (shingled from its text if none was kept)."""
        row = conn.execute(
            select(items_t.c.sketch, items_t.c.title, items_t.c.summary).where(
                items_t.c.id == item_id
            )
        ).one()
        if row.sketch:
            return stories.signature_from_bytes(row.sketch)
        return stories.signature(row.title, row.summary)

    def _replace_keys(
        self,
        conn: Connection,
        item_id: int,
        old: stories.StorySignature,
        new: stories.StorySignature,
    ) -> None:
        """Index an amended item under its new text's keys instead of its old text's (each
        deleted by its primary key: the table has no index on ``item_id``)."""
        gone = sorted(set(old.keys) - set(new.keys))
        for chunk in chunks(gone, 500):
            conn.execute(
                delete(bands_t).where(bands_t.c.band.in_(chunk), bands_t.c.item_id == item_id)
            )
        added = sorted(set(new.keys) - set(old.keys))
        bulk_insert(conn, bands_t, ("band", "item_id"), [(k, item_id) for k in added])
        self._stories.drop(item_id)

    def _story_signatures(
        self, conn: Connection, ids: set[int]
    ) -> dict[int, tuple[str, stories.StorySignature]]:
        """Story and signature of each stored item in ``ids`` that has a story: from the
        cache, else as stored with the item, else from its stored text."""
        out = self._stories.get_many(ids)
        missing = sorted(ids - out.keys())
        for chunk in chunks(missing, 500):
            rows = conn.execute(
                select(
                    items_t.c.id,
                    items_t.c.story,
                    items_t.c.sketch,
                    items_t.c.title,
                    items_t.c.summary,
                ).where(items_t.c.id.in_(chunk))
            )
            for r in rows:
                if r.story:
                    if r.sketch:
                        sig = stories.signature_from_bytes(r.sketch)
                    else:
                        sig = stories.signature(r.title, r.summary)
                    self._stories.put(r.id, r.story, sig)
                    out[r.id] = (r.story, sig)
        return out
