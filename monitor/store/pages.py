"""The text of watched web pages, as last seen.

Owns: reading and replacing a watched page's stored text (table ``page_texts``, one row per
source). Decides nothing: what changed is ``monitor.pagediff``'s call. Must not import fetch,
deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from monitor.store.schema import page_texts_t as _texts


def page_text(engine: Engine, feed_id: int) -> str | None:
    """The stored text of the watched page ``feed_id``, or None before its first poll."""
    with engine.connect() as conn:
        row = conn.execute(select(_texts.c.text).where(_texts.c.feed_id == feed_id)).first()
    return None if row is None else str(row[0])


def save_page_text(engine: Engine, feed_id: int, text: str, text_hash: str, now: datetime) -> None:
    """Keep ``text`` as the page's text to compare its next version with."""
    c = _texts.c
    with engine.begin() as conn:
        done = conn.execute(
            update(_texts)
            .where(c.feed_id == feed_id)
            .values(text=text, text_hash=text_hash, seen_at=now)
        )
        if not done.rowcount:
            conn.execute(
                _texts.insert().values(feed_id=feed_id, text=text, text_hash=text_hash, seen_at=now)
            )
