"""Amended items: an item whose text changed and whose matches changed with it.

The store records every amendment of a matched item (the matches before and after, by topic
and severity). An amendment is a signal when its matches changed: a topic it newly matches
(``new``), a severity that rose (``raised``), or a topic it no longer matches (``lost``). A
severity that fell, or a changed text that matches as before, is not news.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from monitor.model import SEVERITY_RANK, Signal
from monitor.signals import signal_key

KIND: Final = "item.updated"


@dataclass(frozen=True, slots=True)
class Amendment:
    """One recorded amendment of a stored item (``before``/``after``: topic → severity)."""

    id: int
    item_id: int
    amended_at: datetime
    title: str
    previous_title: str | None
    url: str | None
    feed_url: str
    feed_name: str | None
    before: Mapping[str, str]
    after: Mapping[str, str]


def match_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[dict[str, str]]:
    """What changed in an item's matches, topic by topic (in topic order)."""
    out = []
    for topic in sorted(set(before) | set(after)):
        was, now = before.get(topic), after.get(topic)
        if was is None and now is not None:
            out.append({"topic": topic, "change": "new", "after": now})
        elif was is not None and now is None:
            out.append({"topic": topic, "change": "lost", "before": was})
        elif was is not None and now is not None:
            if SEVERITY_RANK.get(now, 0) > SEVERITY_RANK.get(was, 0):
                out.append({"topic": topic, "change": "raised", "before": was, "after": now})
    return out


def decide_updated(a: Amendment) -> Signal | None:
    """The ``item.updated`` signal of an amendment, or None when its matches did not change."""
    changes = match_changes(a.before, a.after)
    if not changes:
        return None
    return Signal(
        kind=KIND,
        key=signal_key(KIND, a.item_id, a.id),
        subject=str(a.item_id),
        title=a.title,
        fired_at=a.amended_at,
        topics=tuple(sorted(set(a.before) | set(a.after))),
        details={
            "item": a.item_id,
            "title": a.title,
            "previous_title": a.previous_title,
            "url": a.url,
            "feed_url": a.feed_url,
            "feed_name": a.feed_name,
            "changes": changes,
        },
    )


def describe_change(change: Mapping[str, str]) -> str:
    """One change for people: ``now matches tariffs (alert)``, ``no longer matches norad``."""
    kind, topic = change.get("change"), change.get("topic", "?")
    if kind == "new":
        return f"now matches {topic} ({change.get('after')})"
    if kind == "lost":
        return f"no longer matches {topic}"
    return f"{topic} raised from {change.get('before')} to {change.get('after')}"
