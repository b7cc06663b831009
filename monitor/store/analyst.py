"""The read-only queries behind the analyst's web pages: matches and items by filter, one
story's copies, a topic's matches per day, the values the filters offer.

Owns: selecting and paging what the pages show. Every list is newest first and paged by
``limit``/``offset``, asking one row more than shown to know whether a next page exists (no
counting of the whole table). Text search is a case-insensitive substring of title or summary,
answered by the text index of :mod:`monitor.store.search`.
The indexes these queries lean on are made by the page-index migration. Decides nothing:
which rows a page shows, in what order, is given. Must not import fetch, deliver, pipeline,
scheduler, web or cli.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select, text
from sqlalchemy.engine import Connection, Engine

from monitor.store import search
from monitor.store.listing import _topics
from monitor.store.schema import feed_items_t as _feed_items
from monitor.store.schema import feeds_t as _feeds
from monitor.store.schema import items_t as _items
from monitor.store.schema import matches_t as _matches
from monitor.store.sql import chunks as _chunks
from monitor.store.translate import translated as _translated


@dataclass(frozen=True)
class Filter:
    """What a list page is narrowed to; every field None means everything."""

    q: str | None = None
    topic: str | None = None
    severity: str | None = None
    lang: str | None = None
    feed_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: items only: True for matched ones, False for never matched
    matched: bool | None = None


@dataclass(frozen=True)
class ListedRow:
    """An item as the Items page lists it."""

    id: int
    title: str
    url: str | None
    summary: str
    published: datetime | None
    first_seen_at: datetime | None
    lang: str | None
    story: str | None
    feeds: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Copy:
    """One copy of a story: an item as one feed carried it."""

    item_id: int
    title: str
    url: str | None
    published: datetime | None
    first_seen_at: datetime | None
    feed_id: int
    feed: str
    feed_url: str
    topics: tuple[str, ...] = field(default_factory=tuple)


def _carried_by(feed_id: int) -> ColumnElement[bool]:
    # the feed's items as a set (read from ix_feed_items_feed_seen), not a lookup a row
    fi = _feed_items.c
    return _items.c.id.in_(select(fi.item_id).where(fi.feed_id == feed_id))


def _item_conds(
    f: Filter, index: search.TextIndex, *, feed: bool = True
) -> list[ColumnElement[bool]]:
    i = _items.c
    conds: list[ColumnElement[bool]] = []
    if f.q and f.q.strip():
        conds.append(index.condition(f.q))
    if f.lang:
        conds.append(i.lang == f.lang)
    if feed and f.feed_id is not None:
        conds.append(_carried_by(f.feed_id))
    return conds


#: the languages stored, one index seek each (ix_items_lang) instead of reading every row,
#: which PostgreSQL's DISTINCT does: 140 ms at 100,000 items against under 1 ms
_LANGS = text(
    "WITH RECURSIVE l(lang) AS ("
    " SELECT min(lang) FROM items"
    " UNION ALL SELECT (SELECT min(lang) FROM items WHERE lang > l.lang) FROM l"
    " WHERE l.lang IS NOT NULL"
    ") SELECT lang FROM l WHERE lang IS NOT NULL"
)


class Pages:
    """The queries of the web pages, over the store's engine. Thread-safe."""

    def __init__(self, engine: Engine, text: search.TextIndex | None = None) -> None:
        self.engine = engine
        #: the text index searches go through (the store's, when given)
        self.text = text or search.TextIndex(engine)

    @_translated
    def match_ids(self, f: Filter, *, limit: int, offset: int = 0) -> tuple[list[int], bool]:
        """Ids of the matches ``f`` selects, newest match first, and whether more follow."""
        m = _matches.c
        conds = _item_conds(f, self.text)
        if f.topic:
            conds.append(m.topic == f.topic)
        if f.severity:
            conds.append(m.severity == f.severity)
        if f.since is not None:
            conds.append(m.matched_at >= f.since)
        if f.until is not None:
            conds.append(m.matched_at < f.until)
        query = select(m.id).join(_items, _items.c.id == m.item_id)
        if conds:
            query = query.where(and_(*conds))
        query = query.order_by(m.matched_at.desc(), m.id.desc()).limit(limit + 1).offset(offset)
        with self.engine.connect() as conn:
            ids = [int(r[0]) for r in conn.execute(query)]
        return ids[:limit], len(ids) > limit

    @_translated
    def items(self, f: Filter, *, limit: int, offset: int = 0) -> tuple[list[ListedRow], bool]:
        """Stored items ``f`` selects, matched or not, newest first, and whether more follow."""
        i, fi = _items.c, _feed_items.c
        conds = _item_conds(f, self.text, feed=False)
        # one feed's items are read newest first from that feed's rows (index
        # ix_feed_items_feed_seen), not found among everyone's
        seen = i.first_seen_at if f.feed_id is None else fi.first_seen_at
        if f.since is not None:
            conds.append(seen >= f.since)
        if f.until is not None:
            conds.append(seen < f.until)
        if f.matched is not None:
            has = exists().where(_matches.c.item_id == i.id)
            conds.append(has if f.matched else ~has)
        if f.topic:
            conds.append(
                exists().where(and_(_matches.c.item_id == i.id, _matches.c.topic == f.topic))
            )
        query = select(
            i.id, i.title, i.url, i.summary, i.published, i.first_seen_at, i.lang, i.story
        )
        if f.feed_id is not None:
            query = query.join(_feed_items, fi.item_id == i.id).where(fi.feed_id == f.feed_id)
        if conds:
            query = query.where(and_(*conds))
        query = query.order_by(seen.desc(), i.id.desc()).limit(limit + 1).offset(offset)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()[: limit + 1]
            ids = [r.id for r in rows[:limit]]
            feeds = _feed_names(conn, ids)
            topics = _topics(conn, ids)
        out = [
            ListedRow(
                id=r.id,
                title=r.title,
                url=r.url,
                summary=r.summary,
                published=r.published,
                first_seen_at=r.first_seen_at,
                lang=r.lang,
                story=r.story,
                feeds=tuple(feeds.get(r.id, ())),
                topics=tuple(topics.get(r.id, ())),
            )
            for r in rows[:limit]
        ]
        return out, len(rows) > limit

    @_translated
    def copies(self, item_id: int) -> list[Copy]:
        """Every copy of the story item ``item_id`` is in, as each feed carried it, in the
        order they were first seen (the item alone when it is in no story); empty when there
        is no such item."""
        i, fi, fd = _items.c, _feed_items.c, _feeds.c
        with self.engine.connect() as conn:
            story = conn.execute(select(i.story).where(i.id == item_id)).first()
            if story is None:
                return []
            which = i.story == story[0] if story[0] else i.id == item_id
            rows = conn.execute(
                select(
                    i.id,
                    i.title,
                    i.url,
                    i.published,
                    fi.first_seen_at,
                    fd.id.label("feed_id"),
                    fd.name,
                    fd.url.label("feed_url"),
                )
                .join(_feed_items, fi.item_id == i.id)
                .join(_feeds, fd.id == fi.feed_id)
                .where(which)
                .order_by(fi.first_seen_at, fd.id)
            ).all()
            topics = _topics(conn, sorted({r.id for r in rows}))
        seen: set[tuple[int, int]] = set()
        out = []
        for r in rows:
            if (r.id, r.feed_id) in seen:  # one item under two keys of one feed
                continue
            seen.add((r.id, r.feed_id))
            out.append(
                Copy(
                    item_id=r.id,
                    title=r.title,
                    url=r.url,
                    published=r.published,
                    first_seen_at=r.first_seen_at,
                    feed_id=r.feed_id,
                    feed=r.name or r.feed_url,
                    feed_url=r.feed_url,
                    topics=tuple(topics.get(r.id, ())),
                )
            )
        return out

    @_translated
    def match_counts(self, bounds: Sequence[datetime]) -> dict[str, list[int]]:
        """Per topic, how many matches were made in each interval from one of ``bounds`` to
        the next (oldest first): counted by the database, one pass over the time index."""
        m = _matches.c
        slot = case(
            *((m.matched_at < b, k) for k, b in enumerate(bounds[1:])), else_=len(bounds)
        ).label("slot")
        query = (
            select(m.topic, slot, func.count())
            .where(m.matched_at >= bounds[0], m.matched_at < bounds[-1])
            .group_by(m.topic, slot)
        )
        out: dict[str, list[int]] = {}
        with self.engine.connect() as conn:
            for topic, k, n in conn.execute(query):
                counts = out.setdefault(topic, [0] * (len(bounds) - 1))
                if 0 <= k < len(counts):
                    counts[k] += int(n)
        return out

    @_translated
    def choices(self) -> dict[str, list[Any]]:
        """The values the filters offer, as (value, label): languages, severities, feeds."""
        with self.engine.connect() as conn:
            langs = conn.execute(_LANGS).scalars()
            severities = conn.execute(select(_matches.c.severity).distinct()).scalars()
            feeds = conn.execute(
                select(_feeds.c.id, func.coalesce(_feeds.c.name, _feeds.c.url)).order_by(
                    func.coalesce(_feeds.c.name, _feeds.c.url)
                )
            ).all()
            return {
                "langs": [(v, v) for v in sorted(langs)],
                "severities": [(v, v) for v in sorted(severities)],
                "feeds": [(int(r[0]), str(r[1])) for r in feeds],
            }


def _feed_names(conn: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    fi, fd = _feed_items.c, _feeds.c
    for chunk in _chunks(sorted(ids), 500):
        rows = conn.execute(
            select(fi.item_id, func.coalesce(fd.name, fd.url))
            .join(_feeds, fd.id == fi.feed_id)
            .where(fi.item_id.in_(chunk))
            .order_by(fi.first_seen_at, fd.id)
        )
        for item_id, name in rows:
            if name not in out[item_id]:
                out[item_id].append(name)
    return out
