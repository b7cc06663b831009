"""The store's outbox: deliveries, the matches each one carries, and their leases.

Owns: the SQL of the ``deliveries`` and ``delivery_matches`` tables. When a delivery is
retried is decided elsewhere (``retry``). Must not import fetch, deliver, pipeline, scheduler
or cli.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from monitor.model import Delivery, Digest, MatchRecord
from monitor.routing import Condition, Route
from monitor.store.reads import ReadsMixin
from monitor.store.schema import deliveries_t, delivery_matches_t, matches_t
from monitor.store.signals import link_signals
from monitor.store.sql import (
    new_id,
    translated,
)


def _clause(condition: Condition) -> ColumnElement[bool]:
    """A routing condition as SQL on the ``matches`` table (the rule is ``monitor.routing``'s;
    this only translates its two operators)."""
    column = matches_t.c[condition.field]
    if condition.op == "in":
        return column.in_(sorted(condition.value))
    return column >= condition.value


class DeliveriesMixin(ReadsMixin):
    """The store's outbox methods (a delivery's matches are read as :meth:`matches` reads
    them)."""

    @translated
    def undelivered_matches(
        self,
        channel: str,
        kind: str,
        *,
        since: datetime,
        until: datetime,
        route: Route | None = None,
        exclude_kinds: Sequence[str] = (),
        limit: int = 1000,
    ) -> list[MatchRecord]:
        """Matches in [since, until) that ``route`` takes (all when None) and that are not yet
        in a ``kind`` delivery of this channel."""
        dm = delivery_matches_t.c
        taken = select(dm.match_id).where(
            dm.channel == channel, dm.kind.in_([kind, *exclude_kinds])
        )
        rule = route.conditions() if route is not None else ()
        with self.engine.connect() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(matches_t.c.id)
                    .where(
                        matches_t.c.matched_at >= since,
                        matches_t.c.matched_at < until,
                        ~matches_t.c.id.in_(taken),
                        *(_clause(c) for c in rule),
                    )
                    .order_by(matches_t.c.matched_at, matches_t.c.id)
                    .limit(limit)
                )
            ]
        return self.matches(ids=ids, limit=None) if ids else []

    @translated
    def enqueue_delivery(self, digest: Digest, payload: str, now: datetime) -> int | None:
        """Record a built digest and its matches in one transaction; return its id.

        Returns None, writing nothing, when a delivery with the same key exists or one of its
        matches already went into a delivery of the same kind for this channel (another
        worker built it first): a digest is recorded once, so it is sent once.
        """
        match_ids = sorted({i for e in digest.entries for i in e.match_ids})
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    deliveries_t.insert().values(
                        channel=digest.channel,
                        kind=digest.kind,
                        key=digest.key,
                        window_start=digest.window_start,
                        window_end=digest.window_end,
                        status="pending",
                        attempts=0,
                        parts_sent=0,
                        next_attempt_at=now,
                        payload=payload,
                        created_at=now,
                    )
                )
                delivery_id = new_id(result)
                if match_ids:
                    conn.execute(
                        delivery_matches_t.insert(),
                        [
                            {
                                "delivery_id": delivery_id,
                                "match_id": m,
                                "channel": digest.channel,
                                "kind": digest.kind,
                            }
                            for m in match_ids
                        ],
                    )
                link_signals(conn, delivery_id, digest)
                return delivery_id
        except IntegrityError:
            return None

    @translated
    def last_window_end(self, channel: str, kind: str = "digest") -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.max(deliveries_t.c.window_end)).where(
                    deliveries_t.c.channel == channel, deliveries_t.c.kind == kind
                )
            ).scalar_one_or_none()

    @translated
    def claim_deliveries(
        self, now: datetime, *, lease_s: float = 120.0, limit: int = 100
    ) -> list[Delivery]:
        """Pending deliveries due now, oldest first; each is leased so one worker sends it."""
        d = deliveries_t.c
        query = (
            select(deliveries_t)
            .where(d.status == "pending", d.next_attempt_at <= now)
            .order_by(d.created_at, d.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        with self.engine.begin() as conn:
            for r in conn.execute(query).all():
                # On SQLite the select takes no lock: another process (``monitor digest`` next
                # to ``monitor run``) may have claimed the row since. Only a guarded update that
                # still finds it due claims it, so a delivery is never sent by two at once.
                taken = conn.execute(
                    update(deliveries_t)
                    .where(d.id == r.id, d.status == "pending", d.next_attempt_at <= now)
                    .values(next_attempt_at=now + timedelta(seconds=lease_s))
                )
                if taken.rowcount:
                    claimed.append(r)
        return [self._delivery(r) for r in claimed]

    def _delivery(self, r: Any, match_count: int = 0) -> Delivery:
        return Delivery(
            id=r.id,
            channel=r.channel,
            kind=r.kind,
            key=r.key,
            status=r.status,
            attempts=r.attempts,
            parts_sent=r.parts_sent,
            created_at=r.created_at,
            window_start=r.window_start,
            window_end=r.window_end,
            next_attempt_at=r.next_attempt_at,
            sent_at=r.sent_at,
            last_error=r.last_error,
            match_count=match_count,
            payload=r.payload,
        )

    @translated
    def delivery_progress(self, delivery_id: int, parts_sent: int) -> None:
        """Record that the first ``parts_sent`` messages of a split delivery were accepted."""
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery_id)
                .values(parts_sent=parts_sent)
            )

    @translated
    def delivery_sent(self, delivery_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery_id)
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=deliveries_t.c.attempts + 1,
                    last_error=None,
                )
            )

    @translated
    def delivery_failed(
        self, delivery_id: int, error: str, *, next_attempt_at: datetime | None
    ) -> None:
        """Record a failed attempt; with no next attempt the delivery is dead."""
        values: dict[str, Any] = {
            "attempts": deliveries_t.c.attempts + 1,
            "last_error": error[:2000],
        }
        if next_attempt_at is None:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = next_attempt_at
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries_t).where(deliveries_t.c.id == delivery_id).values(**values)
            )

    @translated
    def retry_delivery(self, delivery_id: int, now: datetime) -> bool:
        """Put a dead (or failing) delivery back in the queue now; False if there is none."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery_id, deliveries_t.c.status != "sent")
                .values(status="pending", next_attempt_at=now, attempts=0)
            )
            return bool(result.rowcount)

    @translated
    def deliveries(
        self, *, status: str | None = None, channel: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        d = deliveries_t.c
        counts = (
            select(delivery_matches_t.c.delivery_id, func.count().label("n"))
            .group_by(delivery_matches_t.c.delivery_id)
            .subquery()
        )
        query = (
            select(deliveries_t, counts.c.n)
            .outerjoin(counts, counts.c.delivery_id == d.id)
            .order_by(d.created_at.desc(), d.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(d.status == status)
        if channel is not None:
            query = query.where(d.channel == channel)
        with self.engine.connect() as conn:
            return [self._delivery(r, r.n or 0) for r in conn.execute(query)]

    @translated
    def outbox_depth(self) -> dict[str, int]:
        """Deliveries by status (pending, sent, dead)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries_t.c.status, func.count()).group_by(deliveries_t.c.status)
            )
            return {status: int(n) for status, n in rows}
