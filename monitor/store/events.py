"""Storage of events: which event each item reports, and the index that finds candidates.

The decisions (an item's terms, their weights, which event it joins) are
:mod:`monitor.events`'; this module reads and writes what they need: for a batch of new items,
the events of the stories they joined, the most recent carriers of each of their terms (at most
:data:`~monitor.events.EVENT_DEPTH` a term), the profiles of the candidates picked, and then
each item's event and terms. Called by :class:`monitor.store.store.Store` inside the
transaction that inserts the items.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.engine import Connection

from monitor import events
from monitor.store import sql
from monitor.store.tables import EventTermRow, ItemEventRow

V = TypeVar("V")

item_events_t: Table = ItemEventRow.__table__  # type: ignore[attr-defined]
event_terms_t: Table = EventTermRow.__table__  # type: ignore[attr-defined]
_items_t = sql.items_t
_feed_items_t = sql.feed_items_t
_feeds_t = sql.feeds_t


@dataclass(frozen=True, slots=True)
class NewItem:
    """What placing one new item needs: its stored id, title and summary, its story, whether
    that story is new with it, and its time (published, else first seen)."""

    item_id: int
    title: str
    summary: str
    story: str
    new_story: bool
    at: datetime | None


@dataclass(frozen=True, slots=True)
class EventOutlet:
    """A feed that carried an item of an event, and when it first did."""

    feed_url: str
    feed_name: str | None
    first_seen_at: datetime
    item_id: int


def _chunks(values: Sequence[V], size: int) -> Iterable[list[V]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def place(conn: Connection, new: Sequence[NewItem], now: datetime) -> list[str]:
    """Give each new item (inserted, in order) its event and index its terms; their events.

    An item that joined a stored story takes that story's event; one that joined a story of an
    earlier item of the batch, that item's. Any other item is compared with the candidates
    :func:`monitor.events.pick_event_candidates` picks among items first seen within
    :data:`~monitor.events.EVENT_WINDOW` before ``now`` (stored, or earlier in the batch), and
    joins the most similar one's event if
    close enough, else starts its own event, named after its story.
    """
    if not new:
        return []
    profiles = [events.profile(n.title, n.summary) for n in new]
    story_events = _story_events(conn, {n.story for n in new if not n.new_story})
    since = now - events.EVENT_WINDOW
    first = conn.execute(
        select(func.min(_items_t.c.id)).where(_items_t.c.first_seen_at >= since)
    ).scalar()
    batch_first = new[0].item_id
    first = batch_first if first is None else min(first, batch_first)
    stored = _recent_carriers(
        conn, {t for p in profiles for t in p.terms}, first, before=batch_first
    )
    in_window = batch_first - first + len(new)
    batch: dict[int, deque[tuple[int, int]]] = {}

    def carriers(term: int) -> list[tuple[int, int]]:
        found = list(reversed(batch[term])) if term in batch else []
        return found + [(0, item_id) for item_id in stored.get(term, ())]

    out: list[str] = []
    picked: list[list[tuple[int, int]]] = []
    weights: dict[int, float] = {}
    for position, (item, prof) in enumerate(zip(new, profiles, strict=True)):
        for term in prof.terms:
            df = len(stored.get(term, ())) + len(batch.get(term, ()))
            weights[term] = events.idf(df, in_window)
        if item.new_story or item.story not in story_events:
            picked.append(events.pick_event_candidates(prof.terms, carriers, weights))
        else:
            picked.append([])
        for term in prof.terms:
            batch.setdefault(term, deque(maxlen=events.EVENT_DEPTH)).append((1, position))
    known = _candidates(conn, {ref for refs in picked for origin, ref in refs if origin == 0})
    for position, (item, prof, refs) in enumerate(zip(new, profiles, picked, strict=True)):
        event = story_events.get(item.story)
        if event is None:
            recent = [
                events.EventCandidate(out[ref], profiles[ref], new[ref].at)
                if origin == 1
                else known[ref]
                for origin, ref in refs
                if (origin == 1 and ref < position) or ref in known
            ]
            event = events.assign_event(prof, item.at, recent, weights) or item.story
        story_events.setdefault(item.story, event)
        out.append(event)
    conn.execute(
        insert(item_events_t),
        [
            {
                "item_id": n.item_id,
                "event": event,
                "profile": events.profile_to_bytes(p),
                "at": n.at,
            }
            for n, event, p in zip(new, out, profiles, strict=True)
        ],
    )
    term_rows = [
        {"term": t, "item_id": n.item_id}
        for n, p in zip(new, profiles, strict=True)
        for t in p.terms
    ]
    if term_rows:
        conn.execute(insert(event_terms_t), term_rows)
    return out


def _story_events(conn: Connection, stories: set[str]) -> dict[str, str]:
    """The event of each of these stories that has one (that of its first item placed)."""
    out: dict[str, str] = {}
    for chunk in _chunks(sorted(stories), 500):
        rows = conn.execute(
            select(_items_t.c.story, item_events_t.c.event)
            .join(item_events_t, item_events_t.c.item_id == _items_t.c.id)
            .where(_items_t.c.story.in_(chunk))
            .order_by(_items_t.c.id)
        )
        for story, event in rows:
            out.setdefault(story, event)
    return out


def _recent_carriers(
    conn: Connection, terms: set[int], first: int, *, before: int
) -> dict[int, list[int]]:
    """For each term, the ids of the :data:`~monitor.events.EVENT_DEPTH` most recent items
    with ``first <= id < before`` carrying it, newest first: one bounded read of the
    ``(term, item_id)`` primary key per term."""
    out: dict[int, list[int]] = defaultdict(list)
    if not terms or first >= before:
        return out
    depth = events.EVENT_DEPTH
    table = event_terms_t.name
    if conn.dialect.name == "postgresql":
        for chunk in _chunks(sorted(terms), 1000):
            rows = conn.exec_driver_sql(
                f"SELECT k.term, s.item_id FROM unnest(%s::bigint[]) AS k(term) "
                f"CROSS JOIN LATERAL (SELECT item_id FROM {table} "
                f"WHERE term = k.term AND item_id >= %s AND item_id < %s "
                f"ORDER BY item_id DESC LIMIT {depth}) AS s",
                (chunk, first, before),
            )
            for term, item_id in rows:
                out[term].append(item_id)
    else:
        one = (
            f"SELECT term, item_id FROM (SELECT term, item_id FROM {table} "
            f"WHERE term = ? AND item_id >= ? AND item_id < ? ORDER BY item_id DESC LIMIT {depth})"
        )
        # SQLite allows 500 terms in a compound SELECT
        for chunk in _chunks(sorted(terms), 200):
            rows = conn.exec_driver_sql(
                " UNION ALL ".join([one] * len(chunk)),
                tuple(v for t in chunk for v in (t, first, before)),
            )
            for term, item_id in rows:
                out[term].append(item_id)
    for ids in out.values():
        ids.sort(reverse=True)
    return out


def _candidates(conn: Connection, ids: set[int]) -> dict[int, events.EventCandidate]:
    out: dict[int, events.EventCandidate] = {}
    for chunk in _chunks(sorted(ids), 500):
        rows = conn.execute(
            select(
                item_events_t.c.item_id,
                item_events_t.c.event,
                item_events_t.c.profile,
                item_events_t.c.at,
            ).where(item_events_t.c.item_id.in_(chunk))
        )
        for r in rows:
            out[r.item_id] = events.EventCandidate(
                r.event, events.profile_from_bytes(r.profile), r.at
            )
    return out


def events_of(conn: Connection, item_ids: Collection[int]) -> dict[int, str]:
    """The event of each of these items that has one."""
    out: dict[int, str] = {}
    for chunk in _chunks(sorted(item_ids), 500):
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
        for chunk in _chunks(sorted(events_wanted), 500):
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
    for chunk in _chunks(list(item_ids), 500):
        conn.execute(delete(event_terms_t).where(event_terms_t.c.item_id.in_(chunk)))
        conn.execute(delete(item_events_t).where(item_events_t.c.item_id.in_(chunk)))
