"""The store's ingest: writing polls (new and changed items, their feed links, story keys and
matches, and each poll's outcome), batched in one transaction.

Owns: the SQL of the ``items``, ``feed_items`` and ``matches`` tables on the write path. Must
not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from monitor import stories
from monitor.dedupe import match_changes, triage
from monitor.errors import StoreError
from monitor.model import FeedUpdate, Item, TopicMatch
from monitor.store import events as event_store
from monitor.store.feeds import record_polls
from monitor.store.signals import record_amendment
from monitor.store.sql import (
    bands_t,
    bulk_insert,
    chunks,
    feed_items_t,
    items_t,
    matches_t,
    reasons_json,
    translated,
)
from monitor.store.storyindex import STORY_WINDOW, StoryIndexMixin

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What one feed's save wrote."""

    new_items: int = 0
    linked_items: int = 0
    changed_items: int = 0
    new_matches: int = 0
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PollWrite:
    """One feed's poll as :meth:`Store.write_polls` writes it.

    ``items`` are the feed's parsed items (none when no body was parsed), ``signatures`` their
    story signatures by item key (computed off the database thread; missing ones are computed
    when needed), and ``update`` the poll's outcome to record: a :class:`FeedUpdate`, a
    function of what was saved (the next poll depends on how many items were new), or
    ``None`` to record nothing.
    """

    feed_id: int
    now: datetime
    update: FeedUpdate | Callable[[SaveResult], FeedUpdate] | None
    items: Sequence[Item] = ()
    signatures: Mapping[str, stories.StorySignature] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PollWritten:
    """What :meth:`Store.write_polls` wrote for one feed."""

    saved: SaveResult
    update: FeedUpdate | None


@dataclass(frozen=True, slots=True, eq=False)
class _FeedBatch:
    """One feed's share of a batch: its new and changed items and their matches (compared
    and hashed by identity: two polls of one feed are two batches)."""

    feed_id: int
    now: datetime
    new: Sequence[Item]
    changed: Sequence[Item]
    scored: Mapping[str, Sequence[TopicMatch]]
    signatures: Mapping[str, stories.StorySignature]


class IngestMixin(StoryIndexMixin):
    """The store's write path."""

    @translated
    def stored_hashes(self, feed_id: int, keys: Sequence[str]) -> dict[str, str]:
        """Content hashes of the given item keys already stored for this feed."""
        with self.engine.connect() as conn:
            stored = self._stored_hashes(conn, [(feed_id, k) for k in keys])
            return {key: h for (_, key), h in stored.items()}

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
    def save_items(
        self,
        feed_id: int,
        new: Sequence[Item],
        changed: Sequence[Item],
        scored: Mapping[str, Sequence[TopicMatch]],
        now: datetime,
        *,
        signatures: Mapping[str, stories.StorySignature] | None = None,
    ) -> SaveResult:
        """Store one feed's new and changed items and their matches, in one transaction.

        A new item whose canonical URL is already stored (another feed carried it) is linked
        to this feed, not stored again. A new item that is a near-duplicate of a recent one
        joins its story. A changed item's matches count as new only when a topic newly
        matches or its severity rises (``monitor.dedupe.match_changes``).

        ``signatures`` (item key → :func:`monitor.stories.signature` of its title and summary)
        may be computed beforehand, off this thread; missing ones are computed here.
        """
        batch = _FeedBatch(feed_id, now, new, changed, scored, signatures or {})
        with self.engine.begin() as conn:
            return self._save(conn, [batch])[0]

    @translated
    def save_feed_items(
        self,
        feed_id: int,
        items: Sequence[Item],
        score: Callable[[Item], Sequence[TopicMatch]],
        now: datetime,
        *,
        signatures: Mapping[str, stories.StorySignature] | None = None,
    ) -> SaveResult:
        """Sort a feed's parsed items against what is stored (``monitor.dedupe.triage``),
        score the new and changed ones with ``score``, and store them as :meth:`save_items`
        does, in one transaction (:meth:`write_polls` for one feed, without its poll)."""
        write = PollWrite(feed_id, now, None, items, signatures or {})
        with self.engine.begin() as conn:
            return self._write(conn, [write], score)[0].saved

    def write_polls(
        self, writes: Sequence[PollWrite], score: Callable[[Item], Sequence[TopicMatch]]
    ) -> list[PollWritten | StoreError]:
        """Write several feeds' polls: their new and changed items, matches and outcomes.

        Each feed's parsed items are sorted against what is stored
        (``monitor.dedupe.triage``), the new and changed ones scored with ``score`` and stored
        as :meth:`save_items` stores them, then the poll's outcome is recorded as
        :meth:`record_poll` does. All in one transaction, with a few statements for the whole
        batch: a commit costs more than the rows of several feeds. When the batch fails, each
        feed is written again in a transaction of its own, so one feed's failure (returned in
        its place as a :class:`StoreError`) never loses another's poll.
        """
        if not writes:
            return []
        try:
            with self.engine.begin() as conn:
                return list(self._write(conn, writes, score))
        except SQLAlchemyError as exc:
            if len(writes) == 1:
                return [StoreError(f"database error in write_polls: {exc}")]
            log.warning(
                "a batch of %d polls failed (%s); writing them one by one", len(writes), exc
            )
        out: list[PollWritten | StoreError] = []
        for write in writes:
            out += self.write_polls([write], score)
        return out

    def _write(
        self,
        conn: Connection,
        writes: Sequence[PollWrite],
        score: Callable[[Item], Sequence[TopicMatch]],
    ) -> list[PollWritten]:
        stored = self._stored_hashes(conn, [(w.feed_id, i.key) for w in writes for i in w.items])
        # links of items with a key not stored: the feed may have changed an item's guid
        by_url = self._stored_by_url(
            conn,
            [
                (w.feed_id, i.url)
                for w in writes
                for i in w.items
                if i.url and (w.feed_id, i.key) not in stored
            ],
        )
        batches: list[_FeedBatch] = []
        for w in writes:
            sorted_items = triage(
                w.items,
                {
                    i.key: stored[(w.feed_id, i.key)]
                    for i in w.items
                    if (w.feed_id, i.key) in stored
                },
                by_url.get(w.feed_id),
            )
            scored = {i.key: score(i) for i in (*sorted_items.new, *sorted_items.changed)}
            batches.append(
                _FeedBatch(
                    w.feed_id, w.now, sorted_items.new, sorted_items.changed, scored, w.signatures
                )
            )
        saved = self._save(conn, batches)
        written: list[PollWritten] = []
        polls: list[tuple[int, FeedUpdate]] = []
        for w, result in zip(writes, saved, strict=True):
            upd = w.update(result) if callable(w.update) else w.update
            if upd is not None:
                polls.append((w.feed_id, upd))
            written.append(PollWritten(result, upd))
        if polls:
            record_polls(conn, polls)
        return written

    def _save(self, conn: Connection, batches: Sequence[_FeedBatch]) -> list[SaveResult]:
        inserted = self._insert_new(conn, batches)
        results = []
        for b, (new_items, linked, topics) in zip(batches, inserted, strict=True):
            n_changed = 0
            for item in b.changed:
                row = conn.execute(
                    select(feed_items_t.c.item_id, items_t.c.title)
                    .join(items_t, items_t.c.id == feed_items_t.c.item_id)
                    .where(feed_items_t.c.feed_id == b.feed_id, feed_items_t.c.key == item.key)
                ).first()
                if row is None:
                    continue
                n_changed += 1
                conn.execute(
                    update(feed_items_t)
                    .where(feed_items_t.c.feed_id == b.feed_id, feed_items_t.c.key == item.key)
                    .values(content_hash=item.content_hash, last_seen_at=b.now)
                )
                # its text changed: so did its signature and its candidate keys
                sig = b.signatures.get(item.key) or stories.signature(item.title, item.summary)
                old_sig = self._stored_signature(conn, row.item_id)
                conn.execute(
                    update(items_t)
                    .where(items_t.c.id == row.item_id)
                    .values(
                        title=item.title,
                        summary=item.summary,
                        content_hash=item.content_hash,
                        sketch=stories.signature_to_bytes(sig),
                        updated_at=b.now,
                        # an amended title: the one readers saw before, for "updated (was …)"
                        **({"previous_title": row.title} if row.title != item.title else {}),
                    )
                )
                self._replace_keys(conn, row.item_id, old_sig, sig)
                scored = b.scored.get(item.key, ())
                amended = (row.item_id, b.feed_id, b.now, row.title, item.title, scored)
                record_amendment(conn, *amended)
                topics += self._apply_matches(conn, row.item_id, scored, b.now)
            results.append(SaveResult(new_items, linked, n_changed, len(topics), tuple(topics)))
        return results

    def _insert_new(
        self, conn: Connection, batches: Sequence[_FeedBatch]
    ) -> list[tuple[int, int, list[str]]]:
        """Write the feeds' new items; per feed, (items stored, items linked, new match topics).

        An item whose canonical URL is stored already, or belongs to an earlier item of the
        batch, is linked to that item. The rest are inserted in one statement (ids come back
        in order), then their story keys, feed links and matches in one each.
        """
        new = [(b, item) for b in batches for item in b.new]
        if not new:
            return [(0, 0, []) for _ in batches]
        stored = self._items_by_url(conn, {i.url for _, i in new if i.url})
        fresh: list[tuple[_FeedBatch, Item]] = []
        # for each new item, its stored item id, or -1 - its position in ``fresh``
        owners: list[int] = []
        in_batch: dict[str, int] = {}
        for b, item in new:
            if item.url and item.url in stored:
                owners.append(stored[item.url])
            elif item.url and item.url in in_batch:
                owners.append(-1 - in_batch[item.url])
            else:
                if item.url:
                    in_batch[item.url] = len(fresh)
                owners.append(-1 - len(fresh))
                fresh.append((b, item))
        ids: list[int] = []
        if fresh:
            sigs = [
                b.signatures.get(i.key) or stories.signature(i.title, i.summary) for b, i in fresh
            ]
            keys_of = [sorted(set(sig.keys)) for sig in sigs]
            since = min(b.now for b in batches) - STORY_WINDOW
            story_ids = self._assign_stories(conn, [i for _, i in fresh], sigs, keys_of, since)
            rows = [
                (
                    item.url,
                    item.title,
                    item.summary,
                    item.published,
                    item.author,
                    item.source,
                    item.lang,
                    item.content_hash,
                    item.fingerprint,
                    story,
                    stories.signature_to_bytes(sig),
                    b.now,
                    b.now,
                )
                for (b, item), story, sig in zip(fresh, story_ids, sigs, strict=True)
            ]
            ids = self._insert_items(conn, rows)
            bands = [(k, item_id) for item_id, keys in zip(ids, keys_of, strict=True) for k in keys]
            bulk_insert(conn, bands_t, ("band", "item_id"), bands)
            for item_id, story, sig in zip(ids, story_ids, sigs, strict=True):
                self._stories.put(item_id, story, sig)
            event_store.place(conn, _new_items(fresh, ids, story_ids), min(b.now for b in batches))
        bulk_insert(
            conn,
            feed_items_t,
            ("feed_id", "key", "item_id", "content_hash", "first_seen_at", "last_seen_at"),
            [
                (
                    b.feed_id,
                    item.key,
                    owner if owner >= 0 else ids[-1 - owner],
                    item.content_hash,
                    b.now,
                    b.now,
                )
                for (b, item), owner in zip(new, owners, strict=True)
            ],
        )
        topics: dict[_FeedBatch, list[str]] = defaultdict(list)
        match_rows: list[dict[str, Any]] = []
        for item_id, (b, item) in zip(ids, fresh, strict=True):
            changes = match_changes({}, b.scored.get(item.key, ()))  # a new item has none yet
            for tm in (*changes.new, *changes.raised):
                match_rows.append(
                    {
                        "item_id": item_id,
                        "topic": tm.topic,
                        "score": tm.score,
                        "severity": tm.severity,
                        "urgent": tm.urgent,
                        "reasons": reasons_json(tm.reasons),
                        "matched_at": b.now,
                        "updated_at": b.now,
                    }
                )
                topics[b].append(tm.topic)
        if match_rows:
            conn.execute(matches_t.insert(), match_rows)
        stored_here = Counter(b for b, _ in fresh)
        return [(stored_here[b], len(b.new) - stored_here[b], topics[b]) for b in batches]

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

    def _apply_matches(
        self, conn: Connection, item_id: int, current: Sequence[TopicMatch], now: datetime
    ) -> list[str]:
        """Write an item's matches; return the topics that count as new matches."""
        previous = {
            r.topic: r.severity
            for r in conn.execute(
                select(matches_t.c.topic, matches_t.c.severity).where(
                    matches_t.c.item_id == item_id
                )
            )
        }
        changes = match_changes(previous, current)
        for tm in changes.new:
            conn.execute(
                matches_t.insert().values(
                    item_id=item_id,
                    topic=tm.topic,
                    score=tm.score,
                    severity=tm.severity,
                    urgent=tm.urgent,
                    reasons=reasons_json(tm.reasons),
                    matched_at=now,
                    updated_at=now,
                )
            )
        for tm, counts in [(m, True) for m in changes.raised] + [
            (m, False) for m in changes.refreshed
        ]:
            values: dict[str, Any] = {
                "score": tm.score,
                "severity": tm.severity,
                "urgent": tm.urgent,
                "reasons": reasons_json(tm.reasons),
                "updated_at": now,
            }
            if counts:
                values["matched_at"] = now
            conn.execute(
                update(matches_t)
                .where(matches_t.c.item_id == item_id, matches_t.c.topic == tm.topic)
                .values(**values)
            )
        return [m.topic for m in (*changes.new, *changes.raised)]


def _new_items(
    fresh: Sequence[tuple[_FeedBatch, Item]], ids: Sequence[int], story_ids: Sequence[str]
) -> list[event_store.NewItem]:
    return [
        event_store.NewItem(
            item_id,
            item.title,
            item.summary,
            story,
            story == stories.story_id_for(f"{item.feed_url}|{item.key}"),
            item.published or b.now,
        )
        for (b, item), item_id, story in zip(fresh, ids, story_ids, strict=True)
    ]
