"""The store's feeds: the configured list, claims and leases, workers, and polls' outcomes.

Owns: the SQL of the ``feeds`` and ``workers`` tables. When a feed is due and what a poll's
outcome is are decided elsewhere (``cadence``); this records them. Must not import fetch,
deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from monitor.model import FeedState, FeedUpdate
from monitor.store.schema import feeds_t, workers_t
from monitor.store.sql import StoreBase, bulk_update, translated

log = logging.getLogger(__name__)


class FeedSpecLike(Protocol):
    """What the store needs of a configured feed."""

    @property
    def url(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def lang(self) -> str | None: ...
    @property
    def interval(self) -> float | None: ...


def _poll_values(upd: FeedUpdate) -> dict[str, Any]:
    """The feed columns a poll's outcome sets (a failed poll keeps the validators)."""
    values: dict[str, Any] = {
        "last_polled_at": upd.polled_at,
        "next_poll_at": upd.next_poll_at,
        "next_poll_reason": upd.next_poll_reason,
        "last_status": upd.status,
        "consecutive_failures": upd.consecutive_failures,
        "unhealthy": upd.unhealthy,
        "disabled_reason": upd.disabled_reason,
        "lease_owner": None,
        "lease_until": None,
    }
    if upd.items_per_day is not None:
        values["items_per_day"] = upd.items_per_day
    if upd.entries_cut is not None:
        values["entries_cut"] = upd.entries_cut
    if upd.success:
        values.update(
            last_success_at=upd.polled_at,
            last_error_kind=None,
            last_error=None,
            etag=upd.etag,
            last_modified=upd.last_modified,
        )
        if upd.body_hash is not None:
            values["body_hash"] = upd.body_hash
    else:
        values.update(last_error_kind=upd.error_kind, last_error=upd.error)
    return values


def feed_state(row: Any) -> FeedState:
    return FeedState(
        id=row.id,
        url=row.url,
        name=row.name,
        lang=row.lang,
        interval_s=row.interval_s,
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        next_poll_at=row.next_poll_at,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        last_error_kind=row.last_error_kind,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        disabled_reason=row.disabled_reason,
        items_per_day=row.items_per_day,
        unhealthy=bool(row.unhealthy),
        entries_cut=row.entries_cut or 0,
        next_poll_reason=row.next_poll_reason,
    )


class FeedsMixin(StoreBase):
    """The store's feed methods."""

    @translated
    def sync_feeds(self, specs: Sequence[FeedSpecLike], now: datetime) -> None:
        """Make the feed table reflect the configuration; unlisted feeds stop being polled.
        Only the rows that differ from it are written: a configuration that did not change
        writes nothing (``monitor poll --once`` syncs a thousand feeds each time it starts)."""
        wanted = {s.url: s for s in specs}
        c = feeds_t.c
        with self.engine.begin() as conn:
            rows = {
                r.url: r
                for r in conn.execute(
                    select(c.url, c.id, c.name, c.lang, c.interval_s, c.configured)
                )
            }
            changed: list[dict[str, Any]] = []
            added: list[dict[str, Any]] = []
            for url, spec in wanted.items():
                row = rows.get(url)
                if row is None:
                    added.append(
                        {
                            "url": url,
                            "name": spec.name,
                            "lang": spec.lang,
                            "interval_s": spec.interval,
                            "configured": True,
                            "created_at": now,
                            "consecutive_failures": 0,
                        }
                    )
                elif (row.name, row.lang, row.interval_s, row.configured) != (
                    spec.name,
                    spec.lang,
                    spec.interval,
                    True,
                ):
                    changed.append(
                        {
                            "b_id": row.id,
                            "b_name": spec.name,
                            "b_lang": spec.lang,
                            "b_interval": spec.interval,
                        }
                    )
            if changed:
                conn.execute(
                    update(feeds_t)
                    .where(c.id == bindparam("b_id"))
                    .values(
                        name=bindparam("b_name"),
                        lang=bindparam("b_lang"),
                        interval_s=bindparam("b_interval"),
                        configured=True,
                    ),
                    changed,
                )
            if added:
                conn.execute(feeds_t.insert(), added)
            gone = [r.id for url, r in rows.items() if url not in wanted and r.configured]
            if gone:
                conn.execute(update(feeds_t).where(c.id.in_(gone)).values(configured=False))

    @translated
    def ensure_feed(
        self, url: str, now: datetime, *, name: str | None = None, lang: str | None = None
    ) -> FeedState:
        """The feed with this URL, created (not configured, so not polled by `run`) if new."""
        with self.engine.begin() as conn:
            row = conn.execute(select(feeds_t).where(feeds_t.c.url == url)).first()
            if row is None:
                conn.execute(
                    feeds_t.insert().values(
                        url=url,
                        name=name,
                        lang=lang,
                        configured=False,
                        created_at=now,
                        consecutive_failures=0,
                    )
                )
                row = conn.execute(select(feeds_t).where(feeds_t.c.url == url)).one()
            return feed_state(row)

    @translated
    def feeds(self, *, configured_only: bool = False) -> list[FeedState]:
        query = select(feeds_t).order_by(feeds_t.c.id)
        if configured_only:
            query = query.where(feeds_t.c.configured.is_(True))
        with self.engine.connect() as conn:
            return [feed_state(r) for r in conn.execute(query)]

    @translated
    def claim_due_feeds(
        self,
        now: datetime,
        *,
        owner: str,
        lease_s: float = 300.0,
        limit: int = 1000,
        urls: Sequence[str] | None = None,
    ) -> list[FeedState]:
        """Claim feeds due at ``now`` for ``owner`` with a lease that expires after ``lease_s``.

        On PostgreSQL, rows another worker is claiming are skipped (``FOR UPDATE SKIP
        LOCKED``), so several processes never poll one feed in the same cycle; a worker that
        dies leaves a lease that simply expires. Disabled feeds (410 Gone) are not claimed,
        unless asked for by URL (``urls``), which also ignores when they are due.
        """
        c = feeds_t.c
        if urls is None:
            query = select(feeds_t).where(self._due(now))
        else:  # feeds asked for by URL are polled now, due or not, even if disabled
            query = select(feeds_t).where(
                or_(c.lease_until.is_(None), c.lease_until < now), c.url.in_(list(urls))
            )
        query = query.order_by(c.next_poll_at.asc().nulls_first(), c.id).limit(limit)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            rows = conn.execute(query).all()
            if rows:
                until = now + timedelta(seconds=lease_s)
                ids = [r.id for r in rows]
                # guarded: a row another process leased since our select is not taken again
                # (SQLite has no row locks; its writers queue on this update)
                conn.execute(
                    update(feeds_t)
                    .where(c.id.in_(ids), or_(c.lease_until.is_(None), c.lease_until < now))
                    .values(lease_owner=owner, lease_until=until)
                )
                if self.dialect != "postgresql":
                    mine = {
                        r.id
                        for r in conn.execute(
                            select(c.id).where(
                                c.id.in_(ids), c.lease_owner == owner, c.lease_until == until
                            )
                        )
                    }
                    rows = [r for r in rows if r.id in mine]
            return [feed_state(r) for r in rows]

    @translated
    def move_next_polls(self, moves: Sequence[tuple[int, datetime | None, datetime]]) -> int:
        """Set feeds' next poll times: ``(feed id, the time read, the new time)`` each. A feed
        whose next poll changed since it was read (a poll just wrote it) is left alone.
        Returns how many moved."""
        c = feeds_t.c
        moved = 0
        with self.engine.begin() as conn:
            for feed_id, was, new in moves:
                same = c.next_poll_at.is_(None) if was is None else c.next_poll_at == was
                result = conn.execute(
                    update(feeds_t).where(c.id == feed_id, same).values(next_poll_at=new)
                )
                moved += int(result.rowcount or 0)
        return moved

    def _due(self, now: datetime) -> Any:
        """The condition of a configured, enabled feed that is due and not leased at ``now``."""
        c = feeds_t.c
        return and_(
            or_(c.lease_until.is_(None), c.lease_until < now),
            c.configured.is_(True),
            c.disabled_reason.is_(None),
            or_(c.next_poll_at.is_(None), c.next_poll_at <= now),
        )

    @translated
    def count_due(self, now: datetime, since: datetime) -> tuple[int, int]:
        """How many feeds are due at ``now`` and claimed by no worker, and how many were
        polled since ``since`` or are being polled (claimed, their lease running)."""
        c = feeds_t.c
        with self.engine.connect() as conn:
            due = conn.execute(select(func.count()).select_from(feeds_t).where(self._due(now)))
            busy = conn.execute(
                select(func.count())
                .select_from(feeds_t)
                .where(or_(c.lease_until >= now, c.last_polled_at >= since))
            )
            return int(due.scalar_one()), int(busy.scalar_one())

    @translated
    def heartbeat(self, owner: str, now: datetime, *, live_s: float) -> int:
        """Record that worker ``owner`` is alive at ``now``; forget workers not seen for
        ``live_s`` seconds. Returns how many workers are alive, this one included."""
        c = workers_t.c
        with self.engine.begin() as conn:
            seen = conn.execute(update(workers_t).where(c.name == owner).values(seen_at=now))
            if not seen.rowcount:
                conn.execute(workers_t.insert().values(name=owner, seen_at=now))
            conn.execute(workers_t.delete().where(c.seen_at < now - timedelta(seconds=live_s)))
            return int(conn.execute(select(func.count()).select_from(workers_t)).scalar_one())

    @translated
    def leave(self, owner: str) -> None:
        """Worker ``owner`` stops: the others need not wait for it to be forgotten."""
        with self.engine.begin() as conn:
            conn.execute(workers_t.delete().where(workers_t.c.name == owner))

    @translated
    def release_leases(self, owner: str) -> int:
        """Give back every feed ``owner`` still holds (it is stopping); returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(feeds_t)
                .where(feeds_t.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
            return int(result.rowcount or 0)

    @translated
    def record_poll(self, feed_id: int, upd: FeedUpdate) -> None:
        """Write a poll's outcome and release the feed's lease."""
        with self.engine.begin() as conn:
            record_polls(conn, [(feed_id, upd)])


def record_polls(conn: Connection, polls: Sequence[tuple[int, FeedUpdate]]) -> None:
    """Write polls' outcomes and release their feeds' leases, one ``executemany`` of the
    driver per shape of update (a thousand feeds that answered 304 are one shape)."""
    shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for feed_id, upd in polls:
        values = _poll_values(upd)
        if upd.new_url:
            taken = conn.execute(select(feeds_t.c.id).where(feeds_t.c.url == upd.new_url)).first()
            if taken is None:
                values["url"] = upd.new_url
            else:
                log.warning("feed %s moved to a URL already stored; keeping both", feed_id)
        shapes[tuple(values)].append((*values.values(), feed_id))
    for columns, rows in shapes.items():
        bulk_update(conn, feeds_t, columns, rows)
