"""Whether an alert still means "now": old news and a feed's backlog go to the digest.

Owns: ``hold_stale_alerts``, which turns the alerts of an item that is not fresh news into
digest matches and says why. An item is not fresh when it came with a feed's first poll (the
backlog a feed carries when it is added: hours or days of items at once) or when it was
published longer ago than ``max_age_s`` (12 hours unless configured). Pure: ``now`` is an
argument; imports ``monitor.model`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from monitor.model import Reason, TopicMatch

DEFAULT_ALERT_MAX_AGE_S = 12 * 3600.0
HELD = "alert held for the digest"


def stale_because(
    *, published: datetime | None, now: datetime, backlog: bool, max_age_s: float
) -> str | None:
    """Why an item published at ``published`` is not news of ``now``, or ``None`` if it is.

    An item without a date is judged by ``backlog`` alone; one dated after ``now`` (a clock
    ahead of ours) is fresh.
    """
    if backlog:
        return "first poll of the feed: its items are a backlog, not news of now"
    if published is not None:
        age = (now - published).total_seconds()
        if age > max_age_s:
            return (
                f"published {_hours(age)} before it was polled, more than the "
                f"{_hours(max_age_s)} an alert may be old"
            )
    return None


def hold_stale_alerts(
    matches: Sequence[TopicMatch],
    *,
    published: datetime | None,
    now: datetime,
    backlog: bool,
    max_age_s: float = DEFAULT_ALERT_MAX_AGE_S,
) -> list[TopicMatch]:
    """``matches`` with every alert made a digest match when the item is not fresh news.

    A held match keeps its score and reasons and gains one more saying why it was held; it is
    no longer urgent. Digest matches are returned as they are.
    """
    if not any(m.severity == "alert" for m in matches):
        return list(matches)
    why = stale_because(published=published, now=now, backlog=backlog, max_age_s=max_age_s)
    if why is None:
        return list(matches)
    held = Reason(why, "item", 0, 0.0, HELD)
    return [
        replace(m, severity="digest", urgent=False, reasons=(*m.reasons, held))
        if m.severity == "alert"
        else m
        for m in matches
    ]


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{seconds / 60:.0f} min"
