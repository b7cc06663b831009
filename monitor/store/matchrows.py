"""The store's writes of an item's matches, as a plan decided them.

Owns: reading an item's stored matches (topic → severity) and applying
:class:`~monitor.intents.MatchWrites` to the ``matches`` table. Which matches count as new is
``monitor.plan``'s call, not this module's. Must not import dedupe, plan, fetch, deliver,
pipeline, scheduler or cli.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from monitor.intents import MatchWrites
from monitor.store.schema import matches_t
from monitor.store.sql import reasons_json


def match_severities(conn: Connection, item_id: int) -> dict[str, str]:
    """An item's stored matches: topic → severity."""
    m = matches_t.c
    return {
        r.topic: r.severity
        for r in conn.execute(select(m.topic, m.severity).where(m.item_id == item_id))
    }


def write_matches(conn: Connection, item_id: int, writes: MatchWrites, now: datetime) -> list[str]:
    """Write an item's matches; return the topics that count as new matches."""
    for tm in writes.new:
        conn.execute(
            matches_t.insert().values(
                item_id=item_id,
                topic=tm.topic,
                score=tm.score,
                severity=tm.severity,
                urgent=tm.urgent,
                reasons=reasons_json(tm.reasons),
                matched_at=now,
                updated_at=now,
            )
        )
    for tm, counts in [(m, True) for m in writes.raised] + [(m, False) for m in writes.refreshed]:
        values: dict[str, Any] = {
            "score": tm.score,
            "severity": tm.severity,
            "urgent": tm.urgent,
            "reasons": reasons_json(tm.reasons),
            "updated_at": now,
        }
        if counts:
            values["matched_at"] = now
        conn.execute(
            update(matches_t)
            .where(matches_t.c.item_id == item_id, matches_t.c.topic == tm.topic)
            .values(**values)
        )
    return writes.topics
