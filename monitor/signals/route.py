"""Which channels hear of a signal, how, and from when.

* ``story.surge`` and ``topic.spike`` go, as a message of their own, to every channel that
  routes one of the signal's topics (``topics:`` of the channel, all when omitted);
* ``source.health`` goes, as a message of its own, to channels with ``notices: true``, and is
  listed at the foot of their next digest;
* ``item.updated`` goes as an ``item.updated`` event to webhook channels that route one of
  the item's topics, and is shown as *updated* in the next digest of every channel that
  routes one of them.

Quiet hours hold a signal's own message as they hold alerts, unless the signal is urgent (a
surge of an urgent topic's story); an ``item.updated`` event is for machines and is not held.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor import schedule
from monitor.channels import ChannelSpec
from monitor.model import Signal


def routes_topics(channel: ChannelSpec, topics: tuple[str, ...]) -> bool:
    return channel.topics is None or any(t in channel.topics for t in topics)


def own_message(signal: Signal, channel: ChannelSpec) -> bool:
    """Whether ``channel`` gets ``signal`` as a message of its own."""
    if signal.kind == "source.health":
        return channel.notices
    if signal.kind == "item.updated":
        return channel.type == "webhook" and routes_topics(channel, signal.topics)
    return routes_topics(channel, signal.topics)


def in_digest(signal: Signal, channel: ChannelSpec) -> bool:
    """Whether ``signal`` is listed in ``channel``'s next digest (at its foot)."""
    if channel.digest is None:
        return False
    if signal.kind == "source.health":
        return channel.notices
    if signal.kind == "item.updated":
        return routes_topics(channel, signal.topics)
    return False


def release_at(signal: Signal, channel: ChannelSpec, timezone: str) -> datetime:
    """When ``signal``'s own message to ``channel`` may go: at once, or when the channel's
    quiet hours end (unless it is urgent)."""
    if signal.kind == "item.updated":
        return signal.fired_at
    return schedule.alert_release_at(
        signal.fired_at,
        quiet_hours=channel.quiet,
        tz=timezone,
        urgent=signal.urgent,
        batch_s=0.0,
    )


def fresh(signal: Signal, now: datetime, horizon: timedelta) -> bool:
    """Whether ``signal`` is recent enough to deliver (older ones are only listed)."""
    return now - signal.fired_at <= horizon
