"""Listing what was stored from each feed, matched or not (``monitor items``).

Owns: the read-only query behind :meth:`monitor.store.Store.items`. Returns ``monitor.model``
values. Must not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from monitor.model import ListedItem
from monitor.store.schema import feed_items_t as _feed_items
from monitor.store.schema import feeds_t as _feeds
from monitor.store.schema import items_t as _items
from monitor.store.schema import matches_t as _matches


def list_items(
    conn: Connection,
    *,
    since: datetime | None = None,
    feed_url: str | None = None,
    limit: int | None = None,
) -> list[ListedItem]:
    """Items as each feed carried them: per feed (in the order feeds were added), the newest
    first (first seen, then published); an item carried by two feeds is listed under each. An
    item a feed carried under several keys (a guid that changed) is listed once."""
    fi, i, f = _feed_items.c, _items.c, _feeds.c
    query = (
        select(
            f.id.label("feed_id"),
            f.url.label("feed_url"),
            f.name.label("feed_name"),
            i.id,
            i.url,
            i.title,
            i.previous_title,
            i.published,
            i.story,
            fi.first_seen_at,
        )
        .join(_items, i.id == fi.item_id)
        .join(_feeds, f.id == fi.feed_id)
        .order_by(f.id, fi.first_seen_at.desc(), i.published.desc().nulls_last(), i.id.desc())
    )
    conds = []
    if since is not None:
        conds.append(fi.first_seen_at >= since)
    if feed_url is not None:
        conds.append(f.url == feed_url)
    if conds:
        query = query.where(and_(*conds))
    rows = []
    seen: set[tuple[int, int]] = set()
    for r in conn.execute(query):
        if (r.feed_id, r.id) not in seen:
            seen.add((r.feed_id, r.id))
            rows.append(r)
            if limit is not None and len(rows) >= limit:
                break
    topics = _topics(conn, [r.id for r in rows])
    return [
        ListedItem(
            id=r.id,
            feed_url=r.feed_url,
            feed_name=r.feed_name,
            url=r.url,
            title=r.title,
            published=r.published,
            story=r.story,
            topics=tuple(topics.get(r.id, ())),
            first_seen_at=r.first_seen_at,
            previous_title=r.previous_title,
        )
        for r in rows
    ]


def _topics(conn: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        query = (
            select(_matches.c.item_id, _matches.c.topic)
            .where(_matches.c.item_id.in_(chunk))
            .order_by(_matches.c.item_id, _matches.c.score.desc(), _matches.c.topic)
        )
        for item_id, topic in conn.execute(query):
            out[item_id].append(topic)
    return out
