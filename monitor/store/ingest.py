"""The store's ingest: answering what is known about a batch of polls' items, and writing
the plan made of it (new and changed items, their feed links, story keys and matches, and
each poll's outcome) in one transaction.

Owns: the SQL of the ``items``, ``feed_items`` and ``matches`` tables on the write path.
Decides nothing: which items are new or changed, which story an item joins, what counts as a
new match and when to poll next are ``monitor.plan``'s calls, made between the reads and the
write (``monitor.ingest``). Must not import dedupe, stories, cadence, score, plan, fetch,
deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from monitor.errors import StoreError
from monitor.intents import Facts, Known, StoredEvent, StoredText, WritePlan
from monitor.store import events as event_store
from monitor.store.feeds import record_polls
from monitor.store.matchrows import write_matches
from monitor.store.schema import feed_items_t, items_t, matches_t, story_bands_t
from monitor.store.signals import record_amendment
from monitor.store.sql import (
    bulk_insert,
    chunks,
    reasons_json,
    translated,
)
from monitor.store.storyindex import StoryIndexMixin

_ITEM_COLUMNS = (
    "url",
    "title",
    "summary",
    "published",
    "author",
    "source",
    "lang",
    "content_hash",
    "fingerprint",
    "story",
    "sketch",
    "first_seen_at",
    "updated_at",
)


class IngestMixin(StoryIndexMixin):
    """The store's write path: what is known, then the plan's writes."""

    @translated
    def stored_hashes(self, feed_id: int, keys: Sequence[str]) -> dict[str, str]:
        """Content hashes of the given item keys already stored for this feed."""
        with self.engine.connect() as conn:
            stored = self._stored_hashes(conn, [(feed_id, k) for k in keys])
            return {key: h for (_, key), h in stored.items()}

    @translated
    def known(self, items: Sequence[tuple[int, str, str | None]]) -> Known:
        """What is stored about these (feed id, item key, canonical URL): the content hash of
        each stored key, and for each item whose key is not stored, the key and hash its
        feed first stored its URL under."""
        with self.engine.connect() as conn:
            hashes = self._stored_hashes(conn, [(f, k) for f, k, _ in items])
            by_url = self._stored_by_url(
                conn, [(f, u) for f, k, u in items if u and (f, k) not in hashes]
            )
        return Known(hashes, {(f, u): v for f, urls in by_url.items() for u, v in urls.items()})

    @translated
    def facts(
        self,
        *,
        urls: set[str],
        keys: set[int],
        since: datetime,
        depth: int,
        amended: Sequence[tuple[int, str]],
        terms: Collection[int] = (),
        event_since: datetime | None = None,
        event_depth: int = 0,
    ) -> Facts:
        """The first stored item of each canonical URL; the ``depth`` most recent carriers
        (first seen at or after ``since``) of each story key; the stored item, with its
        matches' severities, under each (feed id, key) in ``amended``; and the
        ``event_depth`` most recent carriers (first seen at or after ``event_since``) of each
        event term in ``terms`` carried by fewer, every term's count of carriers (up to
        ``event_depth``), and the number of items the event window holds."""
        event_carriers: dict[int, tuple[int, list[int]]] = {}
        event_items = 0
        with self.engine.connect() as conn:
            by_url = self._items_by_url(conn, urls)
            carriers = self._recent_carriers(conn, keys, since, depth)
            stored = self._amended(conn, amended)
            if terms and event_since is not None:
                first, event_items = event_store.window(conn, event_since)
                if first is not None:
                    event_carriers = event_store.recent_carriers(
                        conn, set(terms), first, event_depth
                    )
        return Facts(
            by_url,
            carriers,
            stored,
            {t: ids for t, (_, ids) in event_carriers.items() if ids},
            event_items,
            {t: count for t, (count, _) in event_carriers.items()},
        )

    @translated
    def event_candidates(self, ids: Collection[int]) -> dict[int, StoredEvent]:
        """Event, stored event profile and time of each of these items that has an event:
        from the cache for the items written here, else from the database."""
        found = self._stories.events_many(ids)
        missing = [item_id for item_id in ids if item_id not in found]
        if missing:
            with self.engine.connect() as conn:
                found.update(event_store.stored_events(conn, missing))
        return found

    def _amended(
        self, conn: Connection, pairs: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], StoredText]:
        found: dict[tuple[int, str], Any] = {}
        for feed_id, key in pairs:
            row = conn.execute(
                select(feed_items_t.c.item_id, items_t.c.title, items_t.c.summary, items_t.c.sketch)
                .join(items_t, items_t.c.id == feed_items_t.c.item_id)
                .where(feed_items_t.c.feed_id == feed_id, feed_items_t.c.key == key)
            ).first()
            if row is not None:
                found[(feed_id, key)] = row
        severities: dict[int, dict[str, str]] = defaultdict(dict)
        m = matches_t.c
        for chunk in chunks(sorted({r.item_id for r in found.values()}), 500):
            for r in conn.execute(
                select(m.item_id, m.topic, m.severity).where(m.item_id.in_(chunk))
            ):
                severities[r.item_id][r.topic] = r.severity
        return {
            pair: StoredText(
                r.item_id, r.title, r.summary or "", r.sketch, severities=severities[r.item_id]
            )
            for pair, r in found.items()
        }

    def _stored_hashes(
        self, conn: Connection, pairs: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], str]:
        """Content hashes of these (feed, item key) pairs, where stored."""
        wanted = set(pairs)
        feed_ids = sorted({f for f, _ in wanted})
        out: dict[tuple[int, str], str] = {}
        for chunk in chunks(sorted({k for _, k in wanted}), 500):
            rows = conn.execute(
                select(
                    feed_items_t.c.feed_id, feed_items_t.c.key, feed_items_t.c.content_hash
                ).where(feed_items_t.c.feed_id.in_(feed_ids), feed_items_t.c.key.in_(chunk))
            )
            for r in rows:
                if (r.feed_id, r.key) in wanted:
                    out[(r.feed_id, r.key)] = r.content_hash
        return out

    def _stored_by_url(
        self, conn: Connection, pairs: Sequence[tuple[int, str]]
    ) -> dict[int, dict[str, tuple[str, str]]]:
        """Per feed, the key and content hash each of these canonical URLs was first stored
        under by that feed."""
        out: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
        wanted = set(pairs)
        feed_ids = sorted({f for f, _ in wanted})
        fi = feed_items_t.c
        for chunk in chunks(sorted({u for _, u in wanted}), 500):
            rows = conn.execute(
                select(fi.feed_id, fi.key, fi.content_hash, items_t.c.url)
                .join(items_t, items_t.c.id == fi.item_id)
                .where(fi.feed_id.in_(feed_ids), items_t.c.url.in_(chunk))
                .order_by(fi.first_seen_at, fi.key)
            )
            for r in rows:
                if (r.feed_id, r.url) in wanted:
                    out[r.feed_id].setdefault(r.url, (r.key, r.content_hash))
        return out

    @translated
    def write(self, plan: WritePlan) -> None:
        """Apply a plan (``monitor.plan``) in one transaction."""
        with self.engine.begin() as conn:
            ids = self._write(conn, plan)
        # cached once committed: a rolled-back item's id goes to the next item inserted, by
        # this process or another, which must not be taken for it
        for item_id, n in zip(ids, plan.new, strict=True):
            self._stories.put(item_id, n.story, n.sketch, n.event or None, n.profile, n.at)

    def _write(self, conn: Connection, plan: WritePlan) -> list[int]:
        """Write a plan on ``conn``; the ids of its new items, in order."""
        ids = self._insert_new(conn, plan)
        bulk_insert(
            conn,
            feed_items_t,
            ("feed_id", "key", "item_id", "content_hash", "first_seen_at", "last_seen_at"),
            [
                (
                    link.feed_id,
                    link.key,
                    link.stored if link.stored is not None else ids[link.fresh or 0],
                    link.content_hash,
                    link.now,
                    link.now,
                )
                for link in plan.links
            ],
        )
        match_rows = [
            {
                "item_id": item_id,
                "topic": tm.topic,
                "score": tm.score,
                "severity": tm.severity,
                "urgent": tm.urgent,
                "reasons": reasons_json(tm.reasons),
                "matched_at": n.now,
                "updated_at": n.now,
            }
            for item_id, n in zip(ids, plan.new, strict=True)
            for tm in n.matches
        ]
        if match_rows:
            conn.execute(matches_t.insert(), match_rows)
        for a in plan.amends:
            conn.execute(
                update(feed_items_t)
                .where(feed_items_t.c.feed_id == a.feed_id, feed_items_t.c.key == a.item.key)
                .values(content_hash=a.item.content_hash, last_seen_at=a.now)
            )
            conn.execute(
                update(items_t)
                .where(items_t.c.id == a.item_id)
                .values(
                    title=a.item.title,
                    summary=a.item.summary,
                    content_hash=a.item.content_hash,
                    sketch=a.sketch,
                    updated_at=a.now,
                    # an amended title: the one readers saw before, for "updated (was …)"
                    **(
                        {"previous_title": a.title_before} if a.title_before != a.item.title else {}
                    ),
                )
            )
            self._replace_keys(conn, a.item_id, a.old_keys, a.keys)
            record_amendment(
                conn, a.item_id, a.feed_id, a.now, a.title_before, a.item.title, a.current
            )
            write_matches(conn, a.item_id, a.matches, a.now)
        polls = [(f.feed_id, f.update) for f in plan.feeds if f.update is not None]
        if polls:
            record_polls(conn, polls)
        return ids

    def _insert_new(self, conn: Connection, plan: WritePlan) -> list[int]:
        """Insert the plan's new items (one statement: ids come back in order), their story
        keys and their events; their ids."""
        if not plan.new:
            return []
        rows = [
            (
                n.item.url,
                n.item.title,
                n.item.summary,
                n.item.published,
                n.item.author,
                n.item.source,
                n.item.lang,
                n.item.content_hash,
                n.item.fingerprint,
                n.story,
                n.sketch,
                n.now,
                n.now,
            )
            for n in plan.new
        ]
        ids = self._insert_items(conn, rows)
        bands = [(k, item_id) for item_id, n in zip(ids, plan.new, strict=True) for k in n.keys]
        # in key order: see events
        bulk_insert(conn, story_bands_t, ("band", "item_id"), sorted(bands))
        event_store.write(
            conn,
            [
                (item_id, n.event, n.profile, n.at, n.terms)
                for item_id, n in zip(ids, plan.new, strict=True)
                if n.event
            ],
        )
        return ids

    def _insert_items(self, conn: Connection, rows: list[tuple[Any, ...]]) -> list[int]:
        """Insert items (tuples in :data:`_ITEM_COLUMNS` order); their ids, in order."""
        if self.dialect != "sqlite":
            result = conn.execute(
                items_t.insert().returning(items_t.c.id, sort_by_parameter_order=True),
                [dict(zip(_ITEM_COLUMNS, row, strict=True)) for row in rows],
            )
            return [r.id for r in result]
        # SQLite returns ids in order only one row at a time. Without an explicit id it gives a
        # row the largest id so far plus one, and from its first insert on, this transaction
        # holds the database's write lock: the newest ids are these rows'.
        bulk_insert(conn, items_t, _ITEM_COLUMNS, rows)
        newest = conn.exec_driver_sql(
            "SELECT id FROM items ORDER BY id DESC LIMIT ?", (len(rows),)
        ).fetchall()
        ids = [r[0] for r in reversed(newest)]
        if ids != list(range(ids[0], ids[0] + len(rows))):  # pragma: no cover - see above
            raise StoreError("new items did not get consecutive ids; nothing was written")
        return ids

    def _items_by_url(self, conn: Connection, urls: set[str]) -> dict[str, int]:
        """The first stored item with each of these canonical URLs."""
        out: dict[str, int] = {}
        for chunk in chunks(sorted(urls), 500):
            rows = conn.execute(
                select(items_t.c.url, func.min(items_t.c.id).label("id"))
                .where(items_t.c.url.in_(chunk))
                .group_by(items_t.c.url)
            )
            out.update({r.url: r.id for r in rows})
        return out
