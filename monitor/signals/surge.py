"""A story surging across outlets: one alert when it reaches N outlets within a window, one
follow-up if it doubles, never more.

The rule, per story (today a story is a cluster of copies of one text, ``monitor.stories``):

* count the distinct outlets (feeds) that carried the story, each at the time it was first
  seen there. The story *surges* when some ``window`` (6 h by default) holds at least
  ``outlets`` of them (4 by default): level 1, the surge alert;
* after the surge, the story's outlets (first seen at most ``follow_within`` after the surge,
  48 h) are counted again; when they reach twice the number the surge reported, level 2 fires,
  the follow-up. There is no level 3: a story that keeps growing says so once.

A story matching several topics takes the most sensitive rule among them (the fewest
outlets, then the longest window), and its signal names every topic, so each topic's
channels hear of it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from monitor.model import Signal
from monitor.signals import signal_key

KIND: Final = "story.surge"


@dataclass(frozen=True, slots=True)
class SurgeRule:
    """When a story surges: ``outlets`` distinct outlets within ``window_s`` seconds."""

    outlets: int = 4
    window_s: float = 6 * 3600.0
    follow_within_s: float = 48 * 3600.0

    def __post_init__(self) -> None:
        if self.outlets < 2:
            raise ValueError(f"a surge needs at least 2 outlets (got {self.outlets})")
        if self.window_s <= 0:
            raise ValueError(f"the surge window must be longer than 0 (got {self.window_s})")


@dataclass(frozen=True, slots=True)
class Outlet:
    """One outlet's first copy of a story."""

    name: str
    feed_url: str
    first_seen: datetime
    title: str
    url: str | None = None
    published: datetime | None = None

    @property
    def seen_at(self) -> datetime:
        """When the outlet ran the story: its publication time when that is known and
        earlier than we saw it (a first poll finds old news), else when we first saw it."""
        if self.published is not None and self.published < self.first_seen:
            return self.published
        return self.first_seen


@dataclass(frozen=True, slots=True)
class StoryOutlets:
    """A story as the store knows it: its matched topics and every outlet that carried it."""

    story: str
    topics: tuple[str, ...]
    outlets: tuple[Outlet, ...]
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class Fired:
    """A surge signal already recorded for a story: its level, when, and how many outlets."""

    level: int
    fired_at: datetime
    count: int


def first_outlets(outlets: Sequence[Outlet]) -> list[Outlet]:
    """Each outlet once (by feed URL), at its earliest copy, in order of running it."""
    best: dict[str, Outlet] = {}
    for o in outlets:
        held = best.get(o.feed_url)
        if held is None or o.seen_at < held.seen_at:
            best[o.feed_url] = o
    return sorted(best.values(), key=lambda o: (o.seen_at, o.name))


def densest_window(outlets: Sequence[Outlet], window_s: float) -> list[Outlet]:
    """The largest run of outlets (in order of running the story) whose first copies lie
    within ``window_s`` of each other; the latest such run when several are as large."""
    ordered = first_outlets(outlets)
    span = timedelta(seconds=window_s)
    best: list[Outlet] = []
    start = 0
    for end in range(len(ordered)):
        while ordered[end].seen_at - ordered[start].seen_at > span:
            start += 1
        if end - start + 1 >= len(best):
            best = ordered[start : end + 1]
    return best


def decide_surge(
    story: StoryOutlets, rule: SurgeRule, fired: Sequence[Fired], now: datetime
) -> Signal | None:
    """The surge signal ``story`` warrants now, or None.

    ``fired`` are the story's surge signals already recorded. Outlets first seen after
    ``now`` (a clock behind another worker's) are not counted yet. The run of outlets must
    reach into the last ``window``: a story that ran everywhere days ago (old news a first
    poll finds) is not surging now.
    """
    seen = [o for o in story.outlets if o.first_seen <= now]
    levels = {f.level: f for f in fired}
    if 2 in levels:
        return None  # the follow-up was sent: never more
    if 1 not in levels:
        run = densest_window(seen, rule.window_s)
        if len(run) < rule.outlets:
            return None
        if now - run[-1].seen_at > timedelta(seconds=rule.window_s):
            return None
        return _signal(story, 1, first_outlets(seen), run, rule, now, previous=None)
    surge = levels[1]
    limit = surge.fired_at + timedelta(seconds=rule.follow_within_s)
    counted = [o for o in first_outlets(seen) if o.seen_at <= limit]
    if len(counted) < 2 * surge.count:
        return None
    return _signal(story, 2, counted, counted, rule, now, previous=surge.count)


def _signal(
    story: StoryOutlets,
    level: int,
    outlets: list[Outlet],
    run: list[Outlet],
    rule: SurgeRule,
    now: datetime,
    *,
    previous: int | None,
) -> Signal:
    lead = outlets[0]
    word = "surging" if level == 1 else "still growing"
    return Signal(
        kind=KIND,
        key=signal_key(KIND, story.story, level),
        subject=story.story,
        title=f"{lead.title} — {word}: {len(outlets)} outlets",
        fired_at=now,
        topics=story.topics,
        urgent=story.urgent,
        details={
            "story": story.story,
            "level": level,
            "count": len(outlets),
            "in_window": len(run),
            "threshold": rule.outlets,
            "window_s": rule.window_s,
            "previous_count": previous,
            "outlets": [
                {
                    "name": o.name,
                    "feed_url": o.feed_url,
                    "first_seen": o.seen_at.isoformat(),
                    "title": o.title,
                    "url": o.url,
                }
                for o in outlets
            ],
        },
    )
