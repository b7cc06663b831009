"""Storage of events: which event each item reports, and the index that finds candidates.

The decisions (an item's terms, their weights, which event it joins) are
:mod:`monitor.events`' and :mod:`monitor.eventplan`'s; this module reads and writes what they
need: the event window's first item, the most recent carriers of a batch's terms (a bounded
read per term), the stored profiles of the candidates picked, and then each new item's event
and terms, in the transaction that inserts the items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from monitor.intents import StoredEvent
from monitor.store import schema, sql

item_events_t = schema.item_events_t
event_terms_t = schema.event_terms_t
_items_t = schema.items_t
_feed_items_t = schema.feed_items_t
_feeds_t = schema.feeds_t


@dataclass(frozen=True, slots=True)
class EventOutlet:
    """A feed that carried an item of an event, and when it first did."""

    feed_url: str
    feed_name: str | None
    first_seen_at: datetime
    item_id: int


def window(conn: Connection, since: datetime) -> tuple[int | None, int]:
    """The first stored item first seen at or after ``since`` (``None``: there is none) and
    how many stored items follow it, counted by id (ids grow with time)."""
    first = conn.execute(
        select(func.min(_items_t.c.id)).where(_items_t.c.first_seen_at >= since)
    ).scalar()
    if first is not None:
        last = conn.execute(select(func.max(_items_t.c.id))).scalar()
        return first, last - first + 1
    return None, 0


def recent_carriers(
    conn: Connection, terms: set[int], first: int, depth: int
) -> dict[int, tuple[int, list[int]]]:
    """For each term, how many items with ``id >= first`` carry it (counted up to ``depth``)
    and, for a term carried by fewer, their ids, newest first (see
    :func:`monitor.store.sql.newest_carriers`)."""
    return sql.newest_carriers(conn, event_terms_t, "term", terms, first, depth, full_only=True)


def stored_events(conn: Connection, ids: Collection[int]) -> dict[int, StoredEvent]:
    """Event, stored profile and time of each of these items that has an event.

    A batch asks for tens of thousands of candidates: the ids go as one parameter (a JSON
    array on SQLite, an array on PostgreSQL) to a statement made once, rows come from the
    driver, and each distinct stored time is converted once (items of a feed share few)."""
    out: dict[int, StoredEvent] = {}
    dialect = conn.dialect
    name = dialect.identifier_preparer.quote(item_events_t.name)
    query = f"SELECT item_id, event, profile, at FROM {name} WHERE"
    at_type = item_events_t.c.at.type
    convert = at_type.dialect_impl(dialect).result_processor(dialect, None)
    times: dict[object, datetime | None] = {None: None}
    for item_id, event, profile, raw in sql.rows_by_ids(conn, query, "item_id", ids):
        at = times.get(raw, _UNSEEN)
        if at is _UNSEEN:
            at = times[raw] = convert(raw) if convert is not None else raw
        out[item_id] = StoredEvent(item_id, event, bytes(profile), at)
    return out


_UNSEEN: Any = object()


def write(
    conn: Connection, placed: Sequence[tuple[int, str, bytes, datetime | None, Sequence[int]]]
) -> None:
    """Store new items' events: (item id, event, profile as bytes, time, terms to index)."""
    if not placed:
        return
    sql.bulk_insert(
        conn,
        item_events_t,
        ("item_id", "event", "profile", "at"),
        [(item_id, event, profile, at) for item_id, event, profile, at, _ in placed],
    )
    sql.bulk_insert(
        conn,
        event_terms_t,
        ("term", "item_id"),
        # in key order: the index's pages are then visited once each, in order, instead of
        # at random for every row (a tenth of the write path's CPU on a cold cycle)
        sorted([(t, item_id) for item_id, _, _, _, terms in placed for t in terms]),
    )


def events_of(conn: Connection, item_ids: Collection[int]) -> dict[int, str]:
    """The event of each of these items that has one."""
    out: dict[int, str] = {}
    for chunk in sql.chunks(sorted(item_ids), 500):
        rows = conn.execute(
            select(item_events_t.c.item_id, item_events_t.c.event).where(
                item_events_t.c.item_id.in_(chunk)
            )
        )
        out.update({r.item_id: r.event for r in rows})
    return out


def event_outlets(
    conn: Connection, *, events_wanted: Collection[str] | None = None, since: datetime | None = None
) -> dict[str, list[EventOutlet]]:
    """The feeds that carried each event's items, each feed once at its first sighting,
    earliest first: of the events named (``None``: every event), counting only sightings at or
    after ``since`` (``None``: all)."""
    ie, fi, f = item_events_t.c, _feed_items_t.c, _feeds_t.c
    query = (
        select(ie.event, f.url, f.name, fi.first_seen_at, fi.item_id)
        .join(_feed_items_t, fi.item_id == ie.item_id)
        .join(_feeds_t, f.id == fi.feed_id)
        .order_by(fi.first_seen_at, fi.item_id, f.id)
    )
    if since is not None:
        query = query.where(fi.first_seen_at >= since)
    out: dict[str, list[EventOutlet]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()

    def collect(q: object) -> None:
        for r in conn.execute(q):  # type: ignore[call-overload]
            if (r.event, r.url) not in seen:
                seen.add((r.event, r.url))
                out[r.event].append(EventOutlet(r.url, r.name, r.first_seen_at, r.item_id))

    if events_wanted is None:
        collect(query)
    else:
        for chunk in sql.chunks(sorted(events_wanted), 500):
            collect(query.where(ie.event.in_(chunk)))
    return dict(out)


def prune(conn: Connection, *, terms_before: datetime, item_ids: Sequence[int]) -> None:
    """Drop the term index of items first seen before ``terms_before`` (too old to be
    candidates) and everything of the items ``item_ids`` (about to be deleted)."""
    conn.execute(
        delete(event_terms_t).where(
            event_terms_t.c.item_id.in_(
                select(_items_t.c.id).where(_items_t.c.first_seen_at < terms_before)
            )
        )
    )
    for chunk in sql.chunks(list(item_ids), 500):
        conn.execute(delete(event_terms_t).where(event_terms_t.c.item_id.in_(chunk)))
        conn.execute(delete(item_events_t).where(item_events_t.c.item_id.in_(chunk)))
