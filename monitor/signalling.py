"""One signal pass: gather what the store holds, let ``monitor.signals`` decide, record what
fired, and put each signal's messages into the outbox.

Owns: the order of a pass, which is what makes signals safe. A signal is recorded under its
key before any message is built (a second pass or a second worker finds the key taken and
fires nothing); a message is recorded in the outbox with the signal it carries in one
transaction (a channel gets a signal once); only then is it sent, by the outbox, with its
retries. A crash between any two steps leaves either an unrecorded decision (taken again next
pass, with the same key) or a pending message (sent on restart). Decides nothing itself.
Must not import scheduler, server or cli.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from monitor.channels import ChannelSpec
from monitor.config import SignalSettings
from monitor.dbexec import DbExecutor
from monitor.model import Digest, Signal
from monitor.outbox import Outbox
from monitor.signals import amended, health, spike, surge
from monitor.store import Store

log = logging.getLogger("monitor.signals")

T = TypeVar("T")

#: how often feeds' health is judged: its thresholds are hours and days, and reading every
#: feed's last items costs about 2 s of a database thread for 200,000 stored items
HEALTH_EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class SignalRules:
    """The rules of every decision, from the configuration (``signals:``)."""

    surge_rule_default: surge.SurgeRule
    surge_by_topic: dict[str, surge.SurgeRule]
    spike_rule: spike.SpikeRule
    health_rule: health.HealthRule
    urgent_topics: frozenset[str] = frozenset()

    @classmethod
    def from_settings(
        cls, settings: SignalSettings, urgent_topics: Iterable[str] = ()
    ) -> SignalRules:
        default = surge.SurgeRule(settings.surge_outlets, settings.surge_window)
        by_topic = {
            topic: surge.SurgeRule(
                own.surge_outlets or default.outlets, own.surge_window or default.window_s
            )
            for topic, own in settings.topics.items()
        }
        return cls(
            surge_rule_default=default,
            surge_by_topic=by_topic,
            spike_rule=spike.SpikeRule(
                days=settings.spike_days,
                sd=settings.spike_sd,
                min_count=settings.spike_min_count,
                min_history_days=settings.spike_min_history,
            ),
            health_rule=health.HealthRule(
                failing_after_s=settings.failing_after,
                silent_factor=settings.silent_factor,
                silent_min_s=settings.silent_min,
            ),
            urgent_topics=frozenset(urgent_topics),
        )

    def surge_rule(self, topics: Sequence[str]) -> surge.SurgeRule:
        """The most sensitive rule among a story's topics: fewest outlets, longest window."""
        rules = [self.surge_by_topic.get(t, self.surge_rule_default) for t in topics] or [
            self.surge_rule_default
        ]
        return min(rules, key=lambda r: (r.outlets, -r.window_s))


class SignalPass:
    """Runs signal passes over one store, into one outbox."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        rules: SignalRules,
        topics: Sequence[str],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        db: DbExecutor | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.rules = rules
        self.topics = tuple(topics)
        self.clock = clock
        self._db = db or DbExecutor(1, name="monitor-signals")
        self._owns_db = db is None
        self._health_at: datetime | None = None  # when this process last judged feeds

    async def _in_db(self, fn: Callable[..., T], *args: object) -> T:
        return await self._db(fn, *args)

    async def run(self, channels: Iterable[ChannelSpec] | None = None) -> list[Signal]:
        """Decide and record what fired now, then record the messages due; returns the
        signals that fired in this pass (the messages are sent by the outbox's flush)."""
        now = self.clock()
        fired = await self._in_db(self.decide, now)
        for s in fired:
            log.info(
                "signal: %s",
                s.title,
                extra={
                    "fields": {
                        "event": "signal",
                        "kind": s.kind,
                        "subject": s.subject,
                        "key": s.key,
                    }
                },
            )
        built = await self.build_messages(now, channels)
        log.debug(
            "signal pass: %d fired, %d message(s) recorded",
            len(fired),
            len(built),
            extra={"fields": {"event": "signal_pass", "fired": len(fired), "built": len(built)}},
        )
        return fired

    async def build_messages(
        self, now: datetime, channels: Iterable[ChannelSpec] | None = None
    ) -> list[Digest]:
        built: list[Digest] = []
        for channel in channels if channels is not None else self.outbox.channels.values():
            built += await self.outbox.build_signal_messages(channel, now)
        return built

    # -- deciding (in the database thread: reads, pure decisions, records) ---------------

    def decide(self, now: datetime) -> list[Signal]:
        found = [*self._surges(now), *self._spikes(now)]
        if (
            self._health_at is None
            or now - self._health_at >= HEALTH_EVERY
            or now < self._health_at
        ):
            found += self._health(now)
            self._health_at = now
        recorded = [self.store.signals.record(s) for s in found]
        return [s for s in recorded if s is not None] + self._amendments()

    def _surges(self, now: datetime) -> list[Signal]:
        longest = max(
            [self.rules.surge_rule_default, *self.rules.surge_by_topic.values()],
            key=lambda r: r.window_s + r.follow_within_s,
        )
        reach = timedelta(seconds=longest.window_s + longest.follow_within_s)
        stories = self.store.signals.story_outlets(now - reach)
        if not stories:
            return []
        before: dict[str, list[surge.Fired]] = defaultdict(list)
        for s in self.store.signals.fired(kinds=[surge.KIND], subjects=[x.story for x in stories]):
            before[s.subject].append(
                surge.Fired(int(s.details["level"]), s.fired_at, int(s.details["count"]))
            )
        out = []
        for story in stories:
            story = _with_urgency(story, self.rules.urgent_topics)
            rule = self.rules.surge_rule(story.topics)
            signal = surge.decide_surge(story, rule, before[story.story], now)
            if signal is not None:
                out.append(signal)
        return out

    def _spikes(self, now: datetime) -> list[Signal]:
        rule = self.rules.spike_rule
        times = self.store.signals.match_times(now - timedelta(days=rule.days + 1), now)
        firsts = self.store.signals.first_matches()
        last = self.store.signals.last_by_subject(spike.KIND)
        out = []
        for topic in self.topics:
            mine = times.get(topic, [])
            recent = sum(1 for t in mine if t >= now - spike.DAY)
            activity = spike.TopicActivity(
                topic=topic,
                recent=recent,
                daily=spike.counts_by_day(mine, now, rule.days),
                first_match=firsts.get(topic),
            )
            previous = last.get(topic)
            urgent = topic in self.rules.urgent_topics
            when = previous.fired_at if previous is not None else None
            if spike.decide_spike(activity, rule, when, now, urgent=urgent) is None:
                continue
            # the stories behind it are read only for a spike that fires
            top = self.store.signals.top_stories(topic, now - spike.DAY)
            activity = spike.TopicActivity(
                topic, recent, activity.daily, activity.first_match, tuple(top)
            )
            signal = spike.decide_spike(activity, rule, when, now, urgent=urgent)
            if signal is not None:
                out.append(signal)
        return out

    def _health(self, now: datetime) -> list[Signal]:
        noticed = self.store.signals.last_by_subject(health.KIND)
        out = []
        for feed in self.store.signals.feed_health():
            last = noticed.get(feed.url)
            known = None
            if last is not None:
                state = last.details.get("state")
                known = health.Noticed(state if state in health.STATES else "ok", last.fired_at)
            signal = health.decide_health(feed, self.rules.health_rule, known, now)
            if signal is not None:
                out.append(signal)
        return out

    def _amendments(self) -> list[Signal]:
        pending = self.store.signals.pending_amendments()
        found = [s for a in pending if (s := amended.decide_updated(a)) is not None]
        # recorded before they are marked decided: a crash in between decides them again,
        # under the same keys, so nothing is lost and nothing fires twice
        recorded = [self.store.signals.record(s) for s in found]
        self.store.signals.amendments_decided([a.id for a in pending])
        return [s for s in recorded if s is not None]

    def close(self) -> None:
        if self._owns_db:
            self._db.close()


def _with_urgency(story: surge.StoryOutlets, urgent_topics: frozenset[str]) -> surge.StoryOutlets:
    if story.urgent or not urgent_topics.intersection(story.topics):
        return story
    return surge.StoryOutlets(story.story, story.topics, story.outlets, True)
