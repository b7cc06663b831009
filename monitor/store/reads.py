"""The store's reads: matches with their stories and carrying feeds, items, counts, and the
retention job that deletes what is no longer read.

Owns: the SQL that reads ``matches``, ``items`` and ``feed_items`` for people and digests, and
pruning. Must not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, select, text
from sqlalchemy.engine import Connection

from monitor.model import ListedItem, MatchRecord, StoredItem, TopicMatch
from monitor.store import articles, listing
from monitor.store import events as event_store
from monitor.store.feedback import feedback_t
from monitor.store.schema import feed_items_t, feeds_t, items_t, matches_t, story_bands_t
from monitor.store.signals import prune_amendments
from monitor.store.sql import (
    StoreBase,
    chunks,
    reasons_from_json,
    translated,
)

if TYPE_CHECKING:
    from monitor.store.storyindex import StoryCache

PRUNE_LOCK = 0x6D6F6E0002  # advisory lock key of the retention job ("mon" + 2)


class ReadsMixin(StoreBase):
    """The store's read methods."""

    _stories: StoryCache

    @translated
    def matches(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        topic: str | None = None,
        topics: Sequence[str] | None = None,
        min_score: float | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = 500,
    ) -> list[MatchRecord]:
        """Stored matches, newest first (by publication time, else the time matched: the time
        people are shown), each with its story and the other feeds carrying it."""
        m, i = matches_t.c, items_t.c
        query = (
            select(
                m.id,
                m.item_id,
                m.topic,
                m.score,
                m.severity,
                m.reasons,
                m.matched_at,
                m.urgent,
                i.url,
                i.title,
                i.summary,
                i.published,
                i.story,
                i.source,
                i.previous_title,
                event_store.item_events_t.c.event,
            )
            .join(items_t, i.id == m.item_id)
            .outerjoin(event_store.item_events_t, event_store.item_events_t.c.item_id == i.id)
            .order_by(func.coalesce(i.published, m.matched_at).desc(), m.id.desc())
        )
        conds = []
        if since is not None:
            conds.append(m.matched_at >= since)
        if until is not None:
            conds.append(m.matched_at < until)
        if topic is not None:
            conds.append(m.topic == topic)
        if topics is not None:
            conds.append(m.topic.in_(list(topics)))
        if min_score is not None:
            conds.append(m.score >= min_score)
        if ids is not None:
            conds.append(m.id.in_(list(ids)))
        if conds:
            query = query.where(and_(*conds))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            carriers = self._carriers(conn, {r.item_id for r in rows})
            siblings = self._story_carriers(conn, {r.story for r in rows if r.story})
            by_event = event_store.event_outlets(
                conn, events_wanted={r.event for r in rows if r.event}
            )
        out = []
        for r in rows:
            feeds = carriers.get(r.item_id, [])
            first_url, first_name = feeds[0] if feeds else ("", None)
            others = [name or url for url, name in feeds[1:]]
            reported = [(o.feed_url, o.feed_name) for o in by_event.get(r.event, ())]
            for url, name in siblings.get(r.story, []) + reported:
                label = name or url
                if url != first_url and label not in others:
                    others.append(label)
            if r.source and r.source not in others and r.source != first_name:
                others.append(r.source)
            out.append(
                MatchRecord(
                    id=r.id,
                    item_id=r.item_id,
                    feed_url=first_url,
                    feed_name=first_name,
                    url=r.url,
                    title=r.title,
                    summary=r.summary,
                    published=r.published,
                    topic=r.topic,
                    score=r.score,
                    severity=r.severity,
                    reasons=reasons_from_json(r.reasons),
                    matched_at=r.matched_at,
                    story=r.story,
                    event=r.event,
                    also_in=tuple(others),
                    urgent=bool(r.urgent),
                    previous_title=r.previous_title,
                )
            )
        return out

    def _carriers(
        self, conn: Connection, item_ids: set[int]
    ) -> dict[int, list[tuple[str, str | None]]]:
        out: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
        for chunk in chunks(sorted(item_ids), 500):
            rows = conn.execute(
                select(feed_items_t.c.item_id, feeds_t.c.url, feeds_t.c.name)
                .join(feeds_t, feeds_t.c.id == feed_items_t.c.feed_id)
                .where(feed_items_t.c.item_id.in_(chunk))
                .order_by(feed_items_t.c.first_seen_at, feeds_t.c.id)
            )
            for r in rows:
                out[r.item_id].append((r.url, r.name))
        return out

    def _story_carriers(
        self, conn: Connection, story_ids: set[str]
    ) -> dict[str, list[tuple[str, str | None]]]:
        out: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for chunk in chunks(sorted(story_ids), 500):
            rows = conn.execute(
                select(items_t.c.story, feeds_t.c.url, feeds_t.c.name)
                .join(feed_items_t, feed_items_t.c.item_id == items_t.c.id)
                .join(feeds_t, feeds_t.c.id == feed_items_t.c.feed_id)
                .where(items_t.c.story.in_(chunk))
                .order_by(feed_items_t.c.first_seen_at)
            )
            for r in rows:
                if (r.url, r.name) not in out[r.story]:
                    out[r.story].append((r.url, r.name))
        return out

    @translated
    def event_outlets(
        self, *, events: Collection[str] | None = None, since: datetime | None = None
    ) -> dict[str, list[event_store.EventOutlet]]:
        """Each event's outlets, earliest first: see :func:`monitor.store.events.event_outlets`."""
        with self.engine.connect() as conn:
            return event_store.event_outlets(conn, events_wanted=events, since=since)

    @translated
    def item(self, item_id: int | None = None, *, url: str | None = None) -> StoredItem | None:
        """One stored item by id or canonical URL, with its feeds and matches."""
        query = select(items_t)
        query = query.where(items_t.c.id == item_id) if item_id is not None else query
        query = query.where(items_t.c.url == url) if url is not None else query
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
            if row is None:
                return None
            feeds = [name or u for u, name in self._carriers(conn, {row.id}).get(row.id, [])]
            found = conn.execute(select(matches_t).where(matches_t.c.item_id == row.id)).all()
        return StoredItem(
            id=row.id,
            url=row.url,
            title=row.title,
            summary=row.summary,
            published=row.published,
            lang=row.lang,
            story=row.story,
            first_seen_at=row.first_seen_at,
            feeds=tuple(feeds),
            matches=tuple(
                TopicMatch(m.topic, m.score, m.severity, reasons_from_json(m.reasons), m.urgent)
                for m in found
            ),
        )

    @translated
    def items(
        self,
        *,
        since: datetime | None = None,
        feed_url: str | None = None,
        limit: int | None = None,
    ) -> list[ListedItem]:
        """What was stored from each feed, matched or not (:func:`listing.list_items`)."""
        with self.engine.connect() as conn:
            return listing.list_items(conn, since=since, feed_url=feed_url, limit=limit)

    @translated
    def counts(self) -> dict[str, int]:
        """Row counts of the main tables (for status output and tests)."""
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for name, t in (
                    ("feeds", feeds_t),
                    ("items", items_t),
                    ("feed_items", feed_items_t),
                    ("matches", matches_t),
                )
            }

    @translated
    def prune(self, *, unmatched_before: datetime, bands_before: datetime) -> int | None:
        """Delete unmatched items first seen before ``unmatched_before`` that nobody judged
        (feedback keeps an item), and story keys, event terms and decided amendments older
        than ``bands_before``; returns how many items.

        On PostgreSQL one worker prunes at a time (an advisory lock); the others return None.
        """
        with self.engine.begin() as conn:
            if (
                self.dialect == "postgresql"
                and not conn.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PRUNE_LOCK}
                ).scalar_one()
            ):
                return None
            conn.execute(
                delete(story_bands_t).where(
                    story_bands_t.c.item_id.in_(
                        select(items_t.c.id).where(items_t.c.first_seen_at < bands_before)
                    )
                )
            )
            old = select(items_t.c.id).where(
                items_t.c.first_seen_at < unmatched_before,
                ~items_t.c.id.in_(select(matches_t.c.item_id)),
                # an item an analyst judged (a miss, most often) stays to be found again
                ~items_t.c.id.in_(select(feedback_t.c.item_id)),
            )
            ids = [r.id for r in conn.execute(old)]
            event_store.prune(conn, terms_before=bands_before, item_ids=ids)
            prune_amendments(conn, bands_before)
            for chunk in chunks(ids, 500):
                conn.execute(delete(story_bands_t).where(story_bands_t.c.item_id.in_(chunk)))
                conn.execute(delete(feed_items_t).where(feed_items_t.c.item_id.in_(chunk)))
                articles.delete_for(conn, chunk)
                conn.execute(delete(items_t).where(items_t.c.id.in_(chunk)))
            self._stories.clear()
            return len(ids)
