"""Storing an analyst's judgements of items (``monitor feedback``, the web pages, digest links).

Owns: the statements on the ``feedback`` table, reached as ``Store.feedback``. Each judgement
is a new row, never an update: the last recorded for an item and topic stands (``standing``),
the others are its history (``history``). Returns ``monitor.feedback.Judgement`` values;
which judgement is a label, and how labels are exported, is ``monitor.feedback``'s to say.
Must not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from monitor.feedback import VERDICTS, Judgement
from monitor.store.schema import feedback_t
from monitor.store.schema import items_t as _items
from monitor.store.schema import matches_t as _matches
from monitor.store.sql import new_id as _new_id
from monitor.store.sql import translated as _translated


def _judgement(r: Any) -> Judgement:
    return Judgement(
        id=r.id,
        item_id=r.item_id,
        topic=r.topic,
        verdict=r.verdict,
        matched=bool(r.matched),
        created_at=r.created_at,
        title=r.title,
        summary=r.summary,
        url=r.url,
        lang=r.lang,
        user=r.user,
        via=r.via,
    )


class FeedbackStore:
    """Judgements of items, on the store's engine. Thread-safe: every method takes its own
    connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @_translated
    def record(
        self,
        item_id: int,
        topic: str,
        verdict: str,
        *,
        now: datetime,
        user: str | None = None,
        via: str = "cli",
    ) -> Judgement | None:
        """Record a judgement of a stored item; ``None`` when no item has that id.

        The topic is not checked here (the store does not know the watchlists): callers
        check it against the configured topics first.
        """
        with self.engine.begin() as conn:
            return self._insert(conn, item_id, topic, verdict, now, user, via, None)

    @_translated
    def record_link(
        self,
        token_id: str,
        item_id: int,
        topic: str,
        verdict: str,
        *,
        now: datetime,
        user: str | None = None,
    ) -> tuple[Judgement | None, bool]:
        """Record the judgement a digest link carries, once per token.

        Returns the judgement the token recorded and whether it was recorded now; a token
        already used returns its earlier judgement and ``False``, whatever was said since.
        ``(None, False)`` when no item has that id.
        """
        earlier = self.by_token(token_id)
        if earlier is not None:
            return earlier, False
        try:
            with self.engine.begin() as conn:
                made = self._insert(conn, item_id, topic, verdict, now, user, "link", token_id)
        except IntegrityError:  # the same link clicked twice at once: the other one won
            return self.by_token(token_id), False
        return made, made is not None

    def _insert(
        self,
        conn: Connection,
        item_id: int,
        topic: str,
        verdict: str,
        now: datetime,
        user: str | None,
        via: str,
        token_id: str | None,
    ) -> Judgement | None:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        item = conn.execute(
            select(_items.c.title, _items.c.summary, _items.c.url, _items.c.lang).where(
                _items.c.id == item_id
            )
        ).first()
        if item is None:
            return None
        matched = conn.execute(
            select(func.count())
            .select_from(_matches)
            .where(_matches.c.item_id == item_id, _matches.c.topic == topic)
        ).scalar_one()
        values = {
            "item_id": item_id,
            "topic": topic,
            "verdict": verdict,
            "matched": bool(matched),
            "user": user,
            "via": via,
            "token_id": token_id,
            "title": item.title,
            "summary": item.summary or "",
            "url": item.url,
            "lang": item.lang,
            "created_at": now,
        }
        new_id = _new_id(conn.execute(feedback_t.insert().values(**values)))
        row = conn.execute(select(feedback_t).where(feedback_t.c.id == new_id)).one()
        return _judgement(row)

    @_translated
    def by_token(self, token_id: str) -> Judgement | None:
        """The judgement a digest link recorded, if it was used."""
        with self.engine.connect() as conn:
            row = conn.execute(select(feedback_t).where(feedback_t.c.token_id == token_id)).first()
        return None if row is None else _judgement(row)

    @_translated
    def standing(
        self,
        *,
        topic: str | None = None,
        item_ids: Sequence[int] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Judgement]:
        """The judgement that stands for each item and topic (the last recorded), newest
        first; ``since`` keeps those recorded from then on."""
        f = feedback_t.c
        last = select(func.max(f.id)).group_by(f.item_id, f.topic)
        if topic is not None:
            last = last.where(f.topic == topic)
        if item_ids is not None:
            last = last.where(f.item_id.in_(list(item_ids)))
        query = select(feedback_t).where(f.id.in_(last.scalar_subquery()))
        if since is not None:
            query = query.where(f.created_at >= since)
        query = query.order_by(f.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_judgement(r) for r in conn.execute(query)]

    @_translated
    def history(
        self,
        *,
        topic: str | None = None,
        item_ids: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[Judgement]:
        """Every judgement recorded, the standing ones and those they replaced, newest first."""
        f = feedback_t.c
        conds = []
        if topic is not None:
            conds.append(f.topic == topic)
        if item_ids is not None:
            conds.append(f.item_id.in_(list(item_ids)))
        query = select(feedback_t).order_by(f.id.desc())
        if conds:
            query = query.where(and_(*conds))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_judgement(r) for r in conn.execute(query)]
