"""A topic spiking: its matches of the last 24 hours against its own baseline.

The baseline is the topic's daily match counts over the ``days`` (14) days before the last
24 hours, each day a 24-hour span ending at the same time of day as now. The topic *spikes*
when the last 24 hours hold at least ``min_count`` matches (5) and more than

    mean + ``sd`` × max(standard deviation, √mean)            (``sd`` = 3)

The √mean floor is the noise of a count (a Poisson count's standard deviation): a topic with
exactly 10 matches every day has a standard deviation of 0, and 11 matches is not news.

A topic with less than ``min_history_days`` (7) of history has no baseline yet and never
spikes: history starts at the topic's first match, so a topic just added to a watchlist (or
one that never matched before) is not "spiking" on its first busy day. Days before its
first match do not count in the mean. At most one spike notice a day: none fires within 24
hours of the last one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from monitor.model import Signal
from monitor.signals import signal_key

KIND: Final = "topic.spike"
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SpikeRule:
    days: int = 14
    sd: float = 3.0
    min_count: int = 5
    min_history_days: int = 7

    def __post_init__(self) -> None:
        if not 1 <= self.min_history_days <= self.days:
            raise ValueError(
                f"min_history_days must be between 1 and days ({self.days}); "
                f"got {self.min_history_days}"
            )


@dataclass(frozen=True, slots=True)
class TopicActivity:
    """What the store counts for one topic at ``now``.

    ``daily`` are the counts of the baseline days, oldest first (``rule.days`` of them, each
    24 hours, the last one ending 24 hours before now); ``recent`` the count of the last 24
    hours; ``first_match`` the topic's first match ever (None: it never matched);
    ``top_stories`` the stories behind the recent count, most outlets first.
    """

    topic: str
    recent: int
    daily: tuple[int, ...]
    first_match: datetime | None
    top_stories: tuple[dict[str, object], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Baseline:
    days: int  # baseline days that count (the topic existed through them)
    mean: float
    sd: float
    threshold: float


def baseline(activity: TopicActivity, rule: SpikeRule, now: datetime) -> Baseline | None:
    """The topic's baseline, or None when it has less than ``rule.min_history_days`` of it."""
    if activity.first_match is None:
        return None
    recent_start = now - DAY
    whole_days = int((recent_start - activity.first_match) / DAY)
    days = min(whole_days, len(activity.daily), rule.days)
    if days < rule.min_history_days:
        return None
    counts = activity.daily[-days:]
    mean = sum(counts) / days
    sd = math.sqrt(sum((c - mean) ** 2 for c in counts) / days)
    return Baseline(days, mean, sd, mean + rule.sd * max(sd, math.sqrt(mean)))


def decide_spike(
    activity: TopicActivity,
    rule: SpikeRule,
    last_fired: datetime | None,
    now: datetime,
    *,
    urgent: bool = False,
) -> Signal | None:
    """The spike signal of the topic now, or None (see the module's rule)."""
    if last_fired is not None and now - last_fired < DAY:
        return None
    if activity.recent < rule.min_count:
        return None
    base = baseline(activity, rule, now)
    if base is None or activity.recent <= base.threshold:
        return None
    ratio = activity.recent / base.mean if base.mean else None
    times = f" ({ratio:.1f}× its daily mean)" if ratio is not None else ""
    return Signal(
        kind=KIND,
        key=signal_key(KIND, activity.topic, now.date().isoformat()),
        subject=activity.topic,
        title=f"{activity.recent} matches in 24 h{times}",
        fired_at=now,
        topics=(activity.topic,),
        urgent=urgent,
        details={
            "topic": activity.topic,
            "count": activity.recent,
            "baseline_days": base.days,
            "daily": list(activity.daily[-base.days :]),
            "mean": round(base.mean, 3),
            "sd": round(base.sd, 3),
            "threshold": round(base.threshold, 3),
            "min_count": rule.min_count,
            "top_stories": [dict(s) for s in activity.top_stories],
        },
    )


def day_spans(now: datetime, days: int) -> list[tuple[datetime, datetime]]:
    """The baseline's days as [start, end) spans, oldest first, the last ending a day ago."""
    end = now - DAY
    return [(end - (days - i) * DAY, end - (days - i - 1) * DAY) for i in range(days)]


def counts_by_day(times: Sequence[datetime], now: datetime, days: int) -> tuple[int, ...]:
    """``times`` counted into :func:`day_spans` (oldest first)."""
    spans = day_spans(now, days)
    out = [0] * days
    start = spans[0][0] if spans else now
    for t in times:
        if start <= t < now - DAY:
            out[min(days - 1, int((t - start) / DAY))] += 1
    return tuple(out)
