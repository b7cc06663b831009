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

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.intents import MatchWrites
from monitor.model import (
    ArticleCandidate,
    ArticleJob,
    ArticleOutcome,
    ArticleState,
    ItemText,
)
from monitor.store import sql
from monitor.store.matchrows import match_severities, write_matches
from monitor.store.tables import ArticleRow
from monitor.store.translate import translated

articles_t = ArticleRow.__table__  # type: ignore[attr-defined]
_items = sql.items_t
_feed_items = sql.feed_items_t
_feeds = sql.feeds_t

#: an item's matches to write, from its text and its stored matches (topic → severity): what
#: ``monitor.plan.match_writes`` makes of the item's scores
Rescore = Callable[[ItemText, Mapping[str, str]], MatchWrites]


def delete_for(conn: Connection, item_ids: Sequence[int]) -> None:
    """Delete the articles of items about to be deleted (pruning)."""
    conn.execute(delete(articles_t).where(articles_t.c.item_id.in_(item_ids)))


class ArticleStore:
    """The ``articles`` table. Thread-safe: every method takes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @translated
    def candidates(
        self, since: datetime, *, after_id: int = 0, limit: int = 500
    ) -> list[ArticleCandidate]:
        """Items first seen since ``since`` (and with an id above ``after_id``), with a URL
        and no article row yet (oldest first), with the feeds carrying them."""
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
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            feeds = self._feed_urls(conn, [r.id for r in rows])
        return [
            ArticleCandidate(r.id, r.url, r.summary or "", tuple(feeds.get(r.id, ()))) for r in rows
        ]

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
            insert = (
                postgresql.insert(articles_t)
                if conn.dialect.name == "postgresql"
                else sqlite.insert(articles_t)
            )
            statement = (
                insert.values(values)
                .on_conflict_do_nothing(index_elements=["item_id"])
                .returning(
                    articles_t.c.item_id
                )  # the rows written (a driver's rowcount may not say)
            )
            return len(conn.execute(statement).all())

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
        worker that dies leaves them to the others when the lease ends)."""
        a = articles_t.c
        due = and_(
            a.status == "pending",
            or_(a.next_attempt_at.is_(None), a.next_attempt_at <= now),
            or_(a.lease_until.is_(None), a.lease_until < now),
        )
        until = now + timedelta(seconds=lease_s)
        jobs: list[ArticleJob] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(a.item_id, a.url, a.attempts, a.etag, a.last_modified)
                .where(due)
                .order_by(a.next_attempt_at.is_not(None), a.item_id)
                .limit(limit)
            ).all()
            feeds = self._feed_urls(conn, [r.item_id for r in rows])
            for r in rows:
                taken = conn.execute(
                    update(articles_t)
                    .where(a.item_id == r.item_id, due)
                    .values(lease_until=until, attempts=a.attempts + 1)
                ).rowcount
                if taken:
                    jobs.append(
                        ArticleJob(
                            r.item_id,
                            r.url,
                            r.attempts + 1,
                            r.etag,
                            r.last_modified,
                            tuple(feeds.get(r.item_id, ())),
                        )
                    )
        return jobs

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
        a = articles_t.c
        values: dict[str, Any] = {"lease_until": None, "http_status": outcome.http_status}
        if outcome.status == "error":
            final = outcome.next_attempt_at is None
            values.update(
                status="error" if final else "pending",
                error_kind=outcome.error_kind,
                error=outcome.error,
                next_attempt_at=outcome.next_attempt_at,
            )
        else:
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
        with self.engine.begin() as conn:
            conn.execute(update(articles_t).where(a.item_id == item_id).values(**values))
            if outcome.status == "error" or rescore is None:
                return []
            item = self._item_text(conn, item_id)
            if item is None or not item.body:
                return []
            writes = rescore(item, match_severities(conn, item_id))
            return write_matches(conn, item_id, writes, now)

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
