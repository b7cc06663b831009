"""Storage of signals: what fired, what went where, and the inputs the signal decisions read.

Owns: the ``signals``, ``delivery_signals`` and ``amendments`` tables, and the read-only
queries that gather a surge's outlets, a topic's daily counts, a feed's health and pending
amendments. Decides nothing: whether any of it is a signal is ``monitor.signals``'s call.
Returns ``monitor.model`` and ``monitor.signals`` values. Must not import fetch, deliver,
pipeline, scheduler or cli.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from monitor.model import Digest, Signal, TopicMatch
from monitor.signals.amended import Amendment
from monitor.signals.health import FeedHealth
from monitor.signals.surge import Outlet, StoryOutlets
from monitor.store import schema

signals_t = schema.signals_t
delivery_signals_t = schema.delivery_signals_t
amendments_t = schema.amendments_t
_item_events = schema.item_events_t
_feeds = schema.feeds_t
_items = schema.items_t
_feed_items = schema.feed_items_t
_matches = schema.matches_t

#: the last items of a feed its usual gap is measured over
GAP_ITEMS = 21


def _signal(row: Any) -> Signal:
    data = json.loads(row.payload)
    data["id"] = row.id
    return Signal.from_json(data)


# -- hooks called inside the main store's transactions ---------------------------------------


def record_amendment(
    conn: Connection,
    item_id: int,
    feed_id: int,
    now: datetime,
    title_before: str,
    title: str,
    current: Sequence[TopicMatch],
) -> None:
    """Record that a stored item's text changed, with its matches before (as stored) and
    after (``current``), when it had or has any (called before the matches are written)."""
    before = {
        r.topic: r.severity
        for r in conn.execute(
            select(_matches.c.topic, _matches.c.severity).where(_matches.c.item_id == item_id)
        )
    }
    after = {m.topic: m.severity for m in current}
    if not before and not after:
        return
    conn.execute(
        amendments_t.insert().values(
            item_id=item_id,
            feed_id=feed_id,
            amended_at=now,
            title=title,
            previous_title=title_before if title_before != title else None,
            before=json.dumps(before, sort_keys=True),
            after=json.dumps(after, sort_keys=True),
            decided=False,
        )
    )


def link_signals(conn: Connection, delivery_id: int, digest: Digest) -> None:
    """Record which signals ``digest`` carries; raises IntegrityError when one of them is
    already in a delivery of the same kind for the channel (so the delivery is not made)."""
    ids = sorted({s.id for s in digest.signals if s.id})
    if ids:
        conn.execute(
            delivery_signals_t.insert(),
            [
                {
                    "delivery_id": delivery_id,
                    "signal_id": i,
                    "channel": digest.channel,
                    "kind": digest.kind,
                }
                for i in ids
            ],
        )


class SignalStore:
    """The signals' own queries; reached as ``Store.signals``. Thread-safe like the store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- what fired ----------------------------------------------------------------------

    def record(self, signal: Signal) -> Signal | None:
        """Record a signal that fired; None, writing nothing, when its key is recorded."""
        payload = json.dumps(signal.as_json(), ensure_ascii=False, sort_keys=True)
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    signals_t.insert().values(
                        kind=signal.kind,
                        key=signal.key,
                        subject=signal.subject,
                        fired_at=signal.fired_at,
                        payload=payload,
                    )
                )
                new_id = result.inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError:
            return None
        data = signal.as_json()
        data["id"] = int(new_id)
        return Signal.from_json(data)

    def fired(
        self,
        *,
        since: datetime | None = None,
        kinds: Sequence[str] | None = None,
        subjects: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[Signal]:
        """Signals recorded since ``since`` (all when None), oldest first."""
        s = signals_t.c
        query = select(signals_t).order_by(s.fired_at, s.id)
        if since is not None:
            query = query.where(s.fired_at >= since)
        if kinds is not None:
            query = query.where(s.kind.in_(list(kinds)))
        if subjects is not None:
            query = query.where(s.subject.in_(list(subjects)))
        if limit is not None:
            query = query.order_by(None).order_by(s.fired_at.desc(), s.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        out = [_signal(r) for r in rows]
        return sorted(out, key=lambda x: (x.fired_at, x.id))

    def last_by_subject(self, kind: str) -> dict[str, Signal]:
        """Each subject's last signal of ``kind`` (a feed's last notice: its known state)."""
        s = signals_t.c
        newest = (
            select(func.max(s.id).label("id")).where(s.kind == kind).group_by(s.subject).subquery()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(select(signals_t).join(newest, newest.c.id == s.id))
            return {r.subject: _signal(r) for r in rows}

    def undelivered(
        self, channel: str, *, since: datetime, kinds: Sequence[str], in_digest: bool
    ) -> list[Signal]:
        """Signals of ``kinds`` fired since ``since`` that ``channel`` has not had yet: in a
        digest (``in_digest``) or as a message of their own; oldest first."""
        ds, s = delivery_signals_t.c, signals_t.c
        kind = ds.kind == "digest" if in_digest else ds.kind != "digest"
        taken = select(ds.signal_id).where(ds.channel == channel, kind)
        query = (
            select(signals_t)
            .where(s.fired_at >= since, s.kind.in_(list(kinds)), ~s.id.in_(taken))
            .order_by(s.fired_at, s.id)
            .limit(500)
        )
        with self.engine.connect() as conn:
            return [_signal(r) for r in conn.execute(query)]

    def counts(self, since: datetime) -> dict[str, int]:
        s = signals_t.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(s.kind, func.count()).where(s.fired_at >= since).group_by(s.kind)
            )
            return {k: int(n) for k, n in rows}

    # -- what the decisions read --------------------------------------------------------

    def story_outlets(self, since: datetime) -> list[StoryOutlets]:
        """Matched stories with a copy first seen since ``since`` in at least two outlets:
        every outlet that carried each (its first copy), the story's topics, and whether a
        match of it is urgent. A story here is an event (outlets' own reports of one
        happening, ``monitor.events``); an item stored before events were kept counts by its
        copies' story."""
        i, fi, f, m, ie = _items.c, _feed_items.c, _feeds.c, _matches.c, _item_events.c
        story = func.coalesce(ie.event, i.story)
        recent = (
            select(story.label("story"))
            .select_from(_items)
            .join(_feed_items, fi.item_id == i.id)
            .outerjoin(_item_events, ie.item_id == i.id)
            .where(fi.first_seen_at >= since, story.is_not(None))
            .where(select(m.id).where(m.item_id == i.id).exists())
            .distinct()
        )
        with self.engine.connect() as conn:
            stories = [r.story for r in conn.execute(recent)]
            if not stories:
                return []
            rows = list(
                conn.execute(
                    select(
                        story.label("story"),
                        i.id,
                        i.title,
                        i.url,
                        i.published,
                        f.url.label("feed_url"),
                        f.name.label("feed_name"),
                        fi.first_seen_at,
                    )
                    .select_from(_items)
                    .join(_feed_items, fi.item_id == i.id)
                    .join(_feeds, f.id == fi.feed_id)
                    .outerjoin(_item_events, ie.item_id == i.id)
                    .where(story.in_(stories))
                )
            )
            topics: dict[str, dict[str, None]] = defaultdict(dict)
            urgent: set[str] = set()
            for hit in conn.execute(
                select(story.label("story"), m.topic, m.urgent)
                .select_from(_matches)
                .join(_items, i.id == m.item_id)
                .outerjoin(_item_events, ie.item_id == i.id)
                .where(story.in_(stories))
                .order_by(m.id)
            ):
                topics[hit.story].setdefault(hit.topic, None)
                if hit.urgent:
                    urgent.add(hit.story)
        outlets: dict[str, list[Outlet]] = defaultdict(list)
        for r in rows:
            outlets[r.story].append(
                Outlet(
                    name=r.feed_name or r.feed_url,
                    feed_url=r.feed_url,
                    first_seen=r.first_seen_at,
                    title=r.title,
                    url=r.url,
                    published=r.published,
                )
            )
        return [
            StoryOutlets(s, tuple(topics[s]), tuple(outlets[s]), s in urgent)
            for s in stories
            if len({o.feed_url for o in outlets[s]}) >= 2 and topics.get(s)
        ]

    def match_times(self, since: datetime, until: datetime) -> dict[str, list[datetime]]:
        """Each topic's match times in [since, until)."""
        m = _matches.c
        out: dict[str, list[datetime]] = defaultdict(list)
        with self.engine.connect() as conn:
            for r in conn.execute(
                select(m.topic, m.matched_at).where(m.matched_at >= since, m.matched_at < until)
            ):
                out[r.topic].append(r.matched_at)
        return dict(out)

    def first_matches(self) -> dict[str, datetime]:
        """Each topic's first match."""
        m = _matches.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(m.topic, func.min(m.matched_at)).group_by(m.topic))
            return {t: when for t, when in rows if when is not None}

    def top_stories(self, topic: str, since: datetime, limit: int = 5) -> list[dict[str, object]]:
        """The stories behind a topic's matches since ``since``: most outlets first."""
        i, fi, m = _items.c, _feed_items.c, _matches.c
        with self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    select(i.id, i.story, i.title, i.url, fi.feed_id)
                    .join(_matches, m.item_id == i.id)
                    .join(_feed_items, fi.item_id == i.id)
                    .where(m.topic == topic, m.matched_at >= since)
                )
            )
        stories: dict[str, dict[str, Any]] = {}
        for r in rows:
            key = r.story or f"item:{r.id}"
            entry = stories.setdefault(
                key, {"story": r.story, "title": r.title, "url": r.url, "feeds": set()}
            )
            entry["feeds"].add(r.feed_id)
        ranked = sorted(stories.values(), key=lambda e: (-len(e["feeds"]), e["title"]))
        return [
            {"story": e["story"], "title": e["title"], "url": e["url"], "outlets": len(e["feeds"])}
            for e in ranked[:limit]
        ]

    def feed_health(self) -> list[FeedHealth]:
        """Every configured feed's health inputs (a feed disabled by a 410 Gone is still
        polled, and fails: it is a broken source like any other)."""
        f, fi, i = _feeds.c, _feed_items.c, _items.c
        ranked = (
            select(
                fi.feed_id,
                fi.first_seen_at,
                i.published,
                func.row_number()
                .over(
                    partition_by=fi.feed_id,
                    order_by=(fi.first_seen_at.desc(), i.published.desc(), fi.item_id.desc()),
                )
                .label("n"),
            )
            .join(_items, i.id == fi.item_id)
            .subquery()
        )
        times: dict[int, list[datetime]] = defaultdict(list)
        with self.engine.connect() as conn:
            feeds = list(conn.execute(select(_feeds).where(f.configured.is_(True))))
            for r in conn.execute(select(ranked).where(ranked.c.n <= GAP_ITEMS)):
                seen = r.first_seen_at
                published = r.published
                times[r.feed_id].append(
                    published if published is not None and published < seen else seen
                )
        out = []
        for r in feeds:
            failing_since = None
            if r.consecutive_failures:
                failing_since = r.last_success_at or r.created_at
            out.append(
                FeedHealth(
                    url=r.url,
                    name=r.name,
                    consecutive_failures=r.consecutive_failures,
                    last_error=r.last_error,
                    failing_since=failing_since,
                    item_times=tuple(times.get(r.id, ())),
                    polled=r.last_success_at is not None,
                )
            )
        return out

    def pending_amendments(self, limit: int = 500) -> list[Amendment]:
        a, i, f = amendments_t.c, _items.c, _feeds.c
        query = (
            select(
                amendments_t,
                i.url,
                f.url.label("feed_url"),
                f.name.label("feed_name"),
            )
            .join(_items, i.id == a.item_id)
            .join(_feeds, f.id == a.feed_id)
            .where(a.decided.is_(False))
            .order_by(a.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                Amendment(
                    id=r.id,
                    item_id=r.item_id,
                    amended_at=r.amended_at,
                    title=r.title,
                    previous_title=r.previous_title,
                    url=r.url,
                    feed_url=r.feed_url,
                    feed_name=r.feed_name,
                    before=_topics(r.before),
                    after=_topics(r.after),
                )
                for r in conn.execute(query)
            ]

    def amendments_decided(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(amendments_t).where(amendments_t.c.id.in_(list(ids))).values(decided=True)
            )

    def prune(self, before: datetime) -> None:
        """Forget decided amendments older than ``before``."""
        with self.engine.begin() as conn:
            prune_amendments(conn, before)


def prune_amendments(conn: Connection, before: datetime) -> None:
    """Forget decided amendments older than ``before`` (the store's prune calls this)."""
    a = amendments_t.c
    conn.execute(amendments_t.delete().where(a.decided.is_(True), a.amended_at < before))


def _topics(text: str) -> Mapping[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
