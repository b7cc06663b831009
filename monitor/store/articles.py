"""Article text: which items' pages are to be fetched, their extracted text, and why not.

Owns: the ``articles`` table's statements (:class:`ArticleStore`, reached as
``Store.articles``). Answers questions (the items not yet considered, the fetches due) and
applies what was decided elsewhere (``monitor.articles`` decides what to fetch and when to
try again; the matcher decides what the text scores). Returns ``monitor.model`` values.
Must not import fetch, score, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection

from monitor.intents import MatchWrites
from monitor.model import (
    ArticleCandidate,
    ArticleJob,
    ArticleOutcome,
    ArticleState,
    ItemText,
)
from monitor.store import schema
from monitor.store.matchrows import match_severities, write_matches
from monitor.store.translate import translated

articles_t = schema.articles_t
_items = schema.items_t
_feed_items = schema.feed_items_t
_feeds = schema.feeds_t

#: an item's matches to write, from its text and its stored matches (topic → severity): what
#: ``monitor.plan.match_writes`` makes of the item's scores
Rescore = Callable[[ItemText, Mapping[str, str]], MatchWrites]


def _outcome_values(outcome: ArticleOutcome, now: datetime) -> dict[str, Any]:
    """The article row's new values after a fetch with this outcome."""
    values: dict[str, Any] = {"lease_until": None, "http_status": outcome.http_status}
    if outcome.status == "error":
        final = outcome.next_attempt_at is None
        values.update(
            status="error" if final else "pending",
            error_kind=outcome.error_kind,
            error=outcome.error,
            next_attempt_at=outcome.next_attempt_at,
        )
        return values
    values.update(
        status="ok",
        error_kind=None,
        error=None,
        next_attempt_at=None,
        fetched_at=now,
        etag=outcome.etag,
        last_modified=outcome.last_modified,
    )
    if outcome.status == "ok":
        values.update(text=outcome.text, cut=outcome.cut, title=outcome.title)
    return values


def _not_backlog() -> Any:
    """The condition of an item not brought by the first poll of every feed carrying it (as
    :meth:`ArticleStore._from_first_poll` judges one item): carried by no feed, or first
    seen by one of its feeds after that feed's first items."""
    i = _items.c
    carrier, other = _feed_items.alias("carrier"), _feed_items.alias("other")
    first = (
        select(func.min(other.c.first_seen_at))
        .where(other.c.feed_id == carrier.c.feed_id)
        .correlate(carrier)
        .scalar_subquery()
    )
    carried = select(carrier.c.item_id).where(carrier.c.item_id == i.id)
    later = carried.where(or_(carrier.c.first_seen_at.is_(None), carrier.c.first_seen_at > first))
    return or_(~carried.exists(), later.exists())


def delete_for(conn: Connection, item_ids: Sequence[int]) -> None:
    """Delete the articles of items about to be deleted (pruning)."""
    conn.execute(delete(articles_t).where(articles_t.c.item_id.in_(item_ids)))


class ArticleStore:
    """The ``articles`` table. Thread-safe: every method takes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @translated
    def candidates(
        self, since: datetime, *, after_id: int = 0, limit: int = 500, backlog: bool = True
    ) -> list[ArticleCandidate]:
        """Items first seen since ``since`` (and with an id above ``after_id``), with a URL
        and no article row yet (oldest first), with the feeds carrying them. ``backlog=False``
        leaves out the items every feed carrying them brought with its first poll."""
        a, i = articles_t.c, _items.c
        query = (
            select(i.id, i.url, i.summary)
            .select_from(_items.outerjoin(articles_t, a.item_id == i.id))
            .where(
                a.item_id.is_(None),
                i.url.is_not(None),
                i.first_seen_at >= since,
                i.id > after_id,
            )
            .order_by(i.id)
            .limit(limit)
        )
        if not backlog:
            query = query.where(_not_backlog())
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            feeds = self._feed_urls(conn, [r.id for r in rows])
        return [
            ArticleCandidate(r.id, r.url, r.summary or "", tuple(feeds.get(r.id, ()))) for r in rows
        ]

    @translated
    def backlog_waiting(self, since: datetime) -> int:
        """How many items first seen since ``since``, brought by their feeds' first polls,
        have a URL and no article row yet (their article text was never considered)."""
        a, i = articles_t.c, _items.c
        query = (
            select(func.count())
            .select_from(_items.outerjoin(articles_t, a.item_id == i.id))
            .where(
                a.item_id.is_(None),
                i.url.is_not(None),
                i.first_seen_at >= since,
                ~_not_backlog(),
            )
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _feed_urls(self, conn: Connection, item_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = defaultdict(list)
        if not item_ids:
            return out
        fi, f = _feed_items.c, _feeds.c
        query = (
            select(fi.item_id, f.url)
            .select_from(_feed_items.join(_feeds, f.id == fi.feed_id))
            .where(fi.item_id.in_(item_ids))
            .order_by(fi.item_id, f.id)
        )
        for r in conn.execute(query):
            if r.url not in out[r.item_id]:
                out[r.item_id].append(r.url)
        return out

    @translated
    def enqueue(self, rows: Iterable[tuple[int, str, str, str | None]], now: datetime) -> int:
        """Record what was decided for each candidate: ``(item_id, url, status, reason)``
        with status ``pending`` (fetch it) or ``skipped``. A row another worker wrote first
        stands; an item pruned meanwhile is left out. Returns how many were written."""
        values = [
            {
                "item_id": item_id,
                "url": url,
                "status": status,
                "reason": reason,
                "cut": False,
                "attempts": 0,
                "created_at": now,
            }
            for item_id, url, status, reason in rows
        ]
        if not values:
            return 0
        i = _items.c
        with self.engine.begin() as conn:
            present = {
                r.id
                for r in conn.execute(select(i.id).where(i.id.in_([v["item_id"] for v in values])))
            }
            values = [v for v in values if v["item_id"] in present]
            if not values:
                return 0
            insert = _dialect_insert(conn.dialect.name)(articles_t)
            statement = insert.on_conflict_do_nothing(index_elements=["item_id"]).returning(
                articles_t.c.item_id
            )  # the rows written (a driver's rowcount may not say)
            # one statement compiled once, its rows sent in batches ("insertmanyvalues"): a
            # multi-row VALUES of its own would be compiled anew for every call
            return len(conn.execute(statement, values).all())

    @translated
    def requeue_amended(self, since: datetime, now: datetime) -> int:
        """Queue again the articles of items amended by their feed (since ``since``) after
        their text was fetched: the page may have changed too. The fetch sends the stored
        validators, so an unchanged page costs a 304. Returns how many were queued."""
        a, i = articles_t.c, _items.c
        amended = (
            select(i.id)
            .where(i.id == a.item_id, i.updated_at >= since, i.updated_at > a.fetched_at)
            .exists()
        )
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    update(articles_t)
                    .where(a.status == "ok", amended)
                    .values(
                        status="pending",
                        reason="the item was amended",
                        attempts=0,
                        next_attempt_at=None,
                        lease_until=None,
                    )
                ).rowcount
            )

    @translated
    def claim(self, now: datetime, *, lease_s: float, limit: int) -> list[ArticleJob]:
        """Up to ``limit`` pending fetches that are due, leased for ``lease_s`` seconds (a
        worker that dies leaves them to the others when the lease ends).

        Two statements whatever ``limit``: the due rows are read (on PostgreSQL locked, rows
        another worker is claiming skipped: ``FOR UPDATE SKIP LOCKED``), then leased by one
        ``UPDATE`` that takes only those still due and returns them; a row another worker
        leased between the two (SQLite has no row locks) is not taken twice."""
        a = articles_t.c
        due = and_(
            a.status == "pending",
            or_(a.next_attempt_at.is_(None), a.next_attempt_at <= now),
            or_(a.lease_until.is_(None), a.lease_until < now),
        )
        until = now + timedelta(seconds=lease_s)
        query = (
            select(a.item_id)
            .where(due)
            .order_by(a.next_attempt_at.is_not(None), a.item_id)
            .limit(limit)
        )
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            order = [r.item_id for r in conn.execute(query)]
            if not order:
                return []
            taken = {
                r.item_id: r
                for r in conn.execute(
                    update(articles_t)
                    .where(a.item_id.in_(order), due)
                    .values(lease_until=until, attempts=a.attempts + 1)
                    .returning(a.item_id, a.url, a.attempts, a.etag, a.last_modified)
                )
            }
            feeds = self._feed_urls(conn, list(taken))
        return [
            ArticleJob(
                r.item_id,
                r.url,
                r.attempts,
                r.etag,
                r.last_modified,
                tuple(feeds.get(r.item_id, ())),
            )
            for r in (taken[i] for i in order if i in taken)
        ]

    @translated
    def record(
        self,
        item_id: int,
        outcome: ArticleOutcome,
        now: datetime,
        rescore: Rescore | None = None,
    ) -> list[str]:
        """Store one fetch's outcome and, when it gave text, the item's matches as
        ``rescore`` makes them from it, in one transaction. Returns the topics that count as
        new matches."""
        return self._record(((item_id, outcome),), now, rescore)[0]

    @translated
    def record_many(
        self,
        outcomes: Sequence[tuple[int, ArticleOutcome]],
        now: datetime,
        rescore: Rescore | None = None,
    ) -> list[list[str]]:
        """Store several fetches' outcomes (``(item_id, outcome)`` each) in one transaction:
        all or none. The rows are written by one statement per kind of outcome; each item
        whose fetch gave text is then scored again as :meth:`record` does. Returns the new
        matches' topics of each outcome, in order."""
        return self._record(outcomes, now, rescore)

    def _record(
        self,
        outcomes: Sequence[tuple[int, ArticleOutcome]],
        now: datetime,
        rescore: Rescore | None,
    ) -> list[list[str]]:
        a = articles_t.c
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for item_id, outcome in outcomes:
            values = _outcome_values(outcome, now)
            shapes[tuple(values)].append(
                {"v_item_id": item_id, **{f"v_{k}": v for k, v in values.items()}}
            )
        out: list[list[str]] = []
        with self.engine.begin() as conn:
            for columns, rows in shapes.items():
                statement = (
                    update(articles_t)
                    .where(a.item_id == bindparam("v_item_id"))
                    .values({c: bindparam(f"v_{c}") for c in columns})
                )
                # executemany: one statement for all rows of this shape
                conn.execute(statement, rows)
            for item_id, outcome in outcomes:
                if outcome.status == "error" or rescore is None:
                    out.append([])
                    continue
                item = self._item_text(conn, item_id)
                if item is None or not item.body:
                    out.append([])
                    continue
                writes = rescore(item, match_severities(conn, item_id))
                out.append(write_matches(conn, item_id, writes, now))
        return out

    def _item_text(self, conn: Connection, item_id: int) -> ItemText | None:
        i, a = _items.c, articles_t.c
        row = conn.execute(
            select(i.title, i.summary, i.lang, i.published, i.first_seen_at, a.text)
            .select_from(_items.join(articles_t, a.item_id == i.id))
            .where(i.id == item_id)
        ).first()
        if row is None:
            return None
        return ItemText(
            item_id,
            row.title,
            row.summary or "",
            row.text or "",
            row.lang,
            row.published,
            row.first_seen_at,
            backlog=self._from_first_poll(conn, item_id),
        )

    def _from_first_poll(self, conn: Connection, item_id: int) -> bool:
        """Whether every feed carrying the item brought it with its first poll (a backlog,
        which never alerts): it was first seen when the feed's first items were."""
        fi = _feed_items.c
        carried = conn.execute(
            select(fi.feed_id, fi.first_seen_at).where(fi.item_id == item_id)
        ).all()
        if not carried:
            return False
        for feed_id, seen in carried:
            first = conn.execute(
                select(func.min(fi.first_seen_at)).where(fi.feed_id == feed_id)
            ).scalar_one()
            if seen is None or first is None or seen > first:
                return False
        return True

    @translated
    def state(self, item_id: int) -> ArticleState | None:
        """The article of one item as stored, or ``None`` when it was never considered."""
        with self.engine.connect() as conn:
            r = conn.execute(select(articles_t).where(articles_t.c.item_id == item_id)).first()
        if r is None:
            return None
        return ArticleState(
            r.item_id,
            r.url,
            r.status,
            r.reason,
            r.text,
            bool(r.cut),
            r.error_kind,
            r.error,
            r.attempts,
            r.fetched_at,
        )

    @translated
    def counts(self) -> dict[str, int]:
        """Articles by status (pending, ok, error, skipped)."""
        a = articles_t.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(a.status, func.count()).group_by(a.status)).all()
        return {status: int(n) for status, n in rows}

    @translated
    def errors(self) -> dict[str, int]:
        """Articles given up on, by error kind."""
        a = articles_t.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(a.error_kind, func.count()).where(a.status == "error").group_by(a.error_kind)
            ).all()
        return {str(kind): int(n) for kind, n in rows}


def _dialect_insert(name: str) -> Any:
    """The ``insert`` of ``name``'s dialect, which has ON CONFLICT; imported when first used
    (the PostgreSQL dialect takes 20 ms to import, which a store on SQLite need not pay)."""
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert
