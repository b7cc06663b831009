"""Source health: a feed failing for too long, silent for much longer than usual, or back.

A feed is in one of three states:

* ``failing``: its polls have failed without a success for at least ``failing_after`` (6 h);
  a shorter run of failures (a server restarting, a bad hour) says nothing;
* ``silent``: its polls succeed, but it has published nothing for ``silent_factor`` (4)
  times its usual gap between items (the median of its last gaps), and at least
  ``silent_min`` (2 days). A feed needs ``min_items`` (4) dated items for a usual gap;
* ``ok`` otherwise.

One notice goes out per change of state (``ok`` → ``failing``, ``failing`` → ``ok``, which
is a recovery, and so on), never one per poll: the last notice of each feed is its known
state, and only a different state is news. A feed never noticed is taken as ``ok``, so a
healthy feed says nothing on its first pass. Failing takes precedence over silent (a feed
that cannot be read is silent because of it).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from monitor.model import Signal
from monitor.signals import signal_key

KIND: Final = "source.health"
State = Literal["ok", "failing", "silent"]
STATES: tuple[State, ...] = ("ok", "failing", "silent")


@dataclass(frozen=True, slots=True)
class HealthRule:
    failing_after_s: float = 6 * 3600.0
    silent_factor: float = 4.0
    silent_min_s: float = 2 * 86400.0
    min_items: int = 4


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """What the store knows of one feed's health.

    ``failing_since`` is when its current run of failures began (its last success, or when it
    was added if it never succeeded; None while it is not failing); ``item_times`` when its
    items appeared (published when known and earlier, else first seen), any order.
    """

    url: str
    name: str | None
    consecutive_failures: int
    last_error: str | None
    failing_since: datetime | None
    item_times: tuple[datetime, ...]
    polled: bool = True  # polled successfully at least once since it was added


@dataclass(frozen=True, slots=True)
class Noticed:
    """The feed's last notice: the state it announced and when."""

    state: State
    fired_at: datetime


@dataclass(frozen=True, slots=True)
class Assessment:
    state: State
    since: datetime | None
    median_gap_s: float | None = None
    quiet_for_s: float | None = None


def usual_gap(times: Sequence[datetime], min_items: int) -> float | None:
    """The median gap in seconds between the last items (up to 20), or None with too few."""
    ordered = sorted(times)[-21:]
    if len(ordered) < min_items:
        return None
    gaps = [(b - a).total_seconds() for a, b in zip(ordered, ordered[1:], strict=False)]
    return statistics.median(gaps)


def assess(feed: FeedHealth, rule: HealthRule, now: datetime) -> Assessment:
    """The feed's state now (see the module's rule)."""
    if feed.consecutive_failures > 0 and feed.failing_since is not None:
        if now - feed.failing_since >= timedelta(seconds=rule.failing_after_s):
            return Assessment("failing", feed.failing_since)
    if feed.consecutive_failures == 0 and feed.polled:
        gap = usual_gap(feed.item_times, rule.min_items)
        if gap is not None:
            last = max(feed.item_times)
            quiet = (now - last).total_seconds()
            if quiet >= max(rule.silent_factor * gap, rule.silent_min_s):
                return Assessment("silent", last, gap, quiet)
    return Assessment("ok", None)


def decide_health(
    feed: FeedHealth, rule: HealthRule, noticed: Noticed | None, now: datetime
) -> Signal | None:
    """A notice when the feed's state differs from the one last announced, else None.

    A feed failing for less than ``failing_after`` keeps the state it had: a short outage
    after a failing notice is not a recovery, one before it is not news.
    """
    found = assess(feed, rule, now)
    before: State = noticed.state if noticed is not None else "ok"
    state = found.state
    if before == "failing" and state == "ok" and feed.consecutive_failures > 0:
        state = "failing"  # still failing: not back yet
    if state == before:
        return None
    name = feed.name or feed.url
    if state == "failing":
        title = f"{name} has been failing since {_when(found.since)}"
        since = found.since
    elif state == "silent":
        title = f"{name} has published nothing since {_when(found.since)}"
        since = found.since
    else:
        title = f"{name} is back" + (" (it works again)" if before == "failing" else "")
        since = noticed.fired_at if noticed is not None else now
    return Signal(
        kind=KIND,
        key=signal_key(KIND, feed.url, state, since.isoformat() if since else ""),
        subject=feed.url,
        title=title,
        fired_at=now,
        details={
            "feed_url": feed.url,
            "feed_name": feed.name,
            "state": state,
            "previous_state": before,
            "since": since.isoformat() if since else None,
            "error": feed.last_error if state == "failing" else None,
            "consecutive_failures": feed.consecutive_failures,
            "median_gap_s": found.median_gap_s,
            "quiet_for_s": found.quiet_for_s,
        },
    )


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "its start"
