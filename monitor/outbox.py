"""Building digests and alerts into the outbox, and sending what the outbox holds.

Owns: the order of operations that makes delivery safe. A digest is built from the channel's
undelivered matches and recorded with its matches and idempotency key in one transaction;
only then is it sent; the result is recorded. A crash between any two steps leaves a pending
row that is sent (again, with the same key) on restart, and a match can enter a channel's
digests once. Decisions live in pure modules: what a digest holds (``digest``), when a window
closes and when alerts are released (``schedule``), when to retry (``retry``). Must not import
scheduler, server or cli.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from monitor import digest as digests
from monitor import schedule
from monitor.channels import ChannelSpec
from monitor.dbexec import DbExecutor
from monitor.deliver.base import Sender
from monitor.errors import DeliveryError
from monitor.model import SIGNAL_KINDS, Delivery, Digest
from monitor.retry import RetryPolicy, next_attempt_at
from monitor.scrub import Scrubber, model_secrets
from monitor.signals import route
from monitor.store import Store

log = logging.getLogger("monitor.deliver")

T = TypeVar("T")

#: how far back a channel's first digest or alert reaches
HORIZON = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    delivery_id: int
    channel: str
    kind: str
    key: str
    outcome: str  # sent | retry | dead
    error: str | None = None
    next_attempt_at: datetime | None = None


class Outbox:
    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        channels: Sequence[ChannelSpec],
        *,
        timezone: str = "UTC",
        topic_names: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        db: DbExecutor | None = None,
        crash_at: str | None = None,
        lease_s: float = 120.0,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.channels = {c.name: c for c in channels}
        self.timezone = timezone
        self.topic_names = dict(topic_names or {})  # id -> name, for the people reading
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.rng = rng or random.Random()
        self._db = db or DbExecutor(1, name="monitor-outbox")
        self._crash_at = crash_at
        self.lease_s = lease_s
        self._sending: set[int] = set()  # deliveries this process is sending now
        self._started = clock()
        self._installation: str | None = None

    async def _in_db(self, fn: Callable[..., T], *args: object, **kw: object) -> T:
        return await self._db(fn, *args, **kw)

    def _fault(self, point: str) -> None:
        """Test-only fault injection: die at a chosen point (MONITOR_TEST_CRASH_AT)."""
        if self._crash_at == point:
            import os
            import signal

            log.warning("fault injection: killing the process at %s", point)
            os.kill(os.getpid(), signal.SIGKILL)

    async def installation(self) -> str:
        """The database's installation id, which every idempotency key includes."""
        if self._installation is None:
            self._installation = await self._in_db(self.store.installation_id)
        return self._installation

    # -- building ----------------------------------------------------------------------------

    async def compose_digest(
        self, channel: ChannelSpec, window_end: datetime, *, window_start: datetime | None = None
    ) -> Digest:
        """The digest ``channel`` would get for the window ending at ``window_end``, built from
        its undelivered matches but not recorded (``monitor digest --dry-run`` shows this).

        Without ``window_start`` the window opens where the channel's previous digest closed
        (a first digest holds the last ``HORIZON`` of matches); a match no earlier digest of
        the channel held is included and widens the window back to it.
        """
        if window_start is None:
            since = window_end - HORIZON
            opens = await self._in_db(self.store.last_window_end, channel.name, "digest")
            if opens is not None and opens > window_end:  # `monitor digest` ran later
                opens = None
        else:
            since = opens = window_start
        exclude = () if channel.include_alerted_in_digest else ("alert",)
        found = await self._in_db(
            self.store.undelivered_matches,
            channel.name,
            "digest",
            since=since,
            until=window_end,
            route=channel.route,
            exclude_kinds=exclude,
        )
        foot = await self._in_db(
            self.store.signals.undelivered,
            channel.name,
            since=since,
            kinds=("source.health", "item.updated"),
            in_digest=True,
        )
        return digests.build_digest(
            channel.name,
            found,
            window_start=opens,
            window_end=window_end,
            max_items=channel.max_items,
            timezone=self.timezone,
            installation=await self.installation(),
            topic_names=self.topic_names,
            signals=[s for s in foot if s.fired_at < window_end and route.in_digest(s, channel)],
        )

    async def build_digest(
        self, channel: ChannelSpec, window_end: datetime, *, window_start: datetime | None = None
    ) -> Digest | None:
        """Record the digest of ``channel`` for the window ending at ``window_end``.

        Returns the digest, or None when it had nothing new or another worker recorded it.
        """
        built = await self.compose_digest(channel, window_end, window_start=window_start)
        if not built.entries and not built.signals:
            return None
        return await self._record(built)

    async def build_signal_messages(self, channel: ChannelSpec, now: datetime) -> list[Digest]:
        """Record the messages of the signals ``channel`` has not had yet and that may go
        now (quiet hours hold them as they hold alerts, see ``signals.route``)."""
        pending = await self._in_db(
            self.store.signals.undelivered,
            channel.name,
            since=max(self._started - timedelta(hours=1), now - HORIZON),
            kinds=SIGNAL_KINDS,
            in_digest=False,
        )
        out = []
        for signal in pending:
            if not route.own_message(signal, channel):
                continue
            if now < route.release_at(signal, channel, self.timezone):
                continue
            built = digests.build_signal_message(
                channel.name,
                signal,
                now=now,
                timezone=self.timezone,
                installation=await self.installation(),
                topic_names=self.topic_names,
            )
            recorded = await self._record(built)
            if recorded is not None:
                out.append(recorded)
        return out

    async def build_alerts(self, channel: ChannelSpec, now: datetime) -> Digest | None:
        """Record an alert batch of the channel's pending alert-severity matches, when due.

        Alerts wait a few seconds so a burst goes out as one message, and are held during
        quiet hours unless one of them is urgent.
        """
        if not channel.alerts:
            return None
        chosen = await self._in_db(
            self.store.undelivered_matches,
            channel.name,
            "alert",
            since=max(self._started - timedelta(hours=1), now - HORIZON),
            until=now + timedelta(seconds=1),
            route=channel.route.only("alert"),
        )
        if not chosen:
            return None
        release = schedule.alert_release_at(
            min(m.matched_at for m in chosen),
            quiet_hours=channel.quiet_hours,
            tz=self.timezone,
            urgent=any(m.urgent for m in chosen),
        )
        if now < release:
            return None
        built = digests.build_digest(
            channel.name,
            chosen,
            window_start=min(m.matched_at for m in chosen),
            window_end=now,
            kind="alert",
            max_items=channel.max_items,
            timezone=self.timezone,
            installation=await self.installation(),
            topic_names=self.topic_names,
        )
        return await self._record(built)

    async def _record(self, built: Digest) -> Digest | None:
        delivery_id = await self._in_db(
            self.store.enqueue_delivery, built, digests.digest_to_json(built), self.clock()
        )
        if delivery_id is None:
            return None
        log.info(
            "delivery recorded",
            extra={
                "fields": {
                    "event": "enqueue",
                    "channel": built.channel,
                    "kind": built.kind,
                    "key": built.key,
                    "stories": len(built.entries),
                    "matches": built.match_count,
                }
            },
        )
        self._fault("after_build")
        return built

    async def due_digest_windows(self, channel: ChannelSpec, now: datetime) -> datetime | None:
        """The end of the newest digest window of ``channel`` that has closed and not been built.

        Windows missed while the daemon was down collapse into one digest (the newest), so a
        restart sends one catch-up digest, not a burst.
        """
        if channel.digest is None:
            return None
        last = await self._in_db(self.store.last_window_end, channel.name, "digest")
        start = last or self._started
        window = schedule.next_digest_at(channel.digest, self.timezone, start)
        if window > now:
            return None
        while True:
            following = schedule.next_digest_at(channel.digest, self.timezone, window)
            if following > now:
                return window
            window = following

    # -- sending -----------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """``text`` without the secrets of the channels as configured now."""
        return Scrubber(model_secrets(list(self.channels.values())))(text)

    async def flush(self) -> list[DeliveryReport]:
        """Send every due delivery; channels are sent concurrently, so a slow or dead channel
        never delays another; one channel's deliveries go out in order."""
        due = await self._in_db(self.store.claim_deliveries, self.clock(), lease_s=self.lease_s)
        by_channel: dict[str, list[Delivery]] = {}
        for d in due:
            if d.id in self._sending:
                continue  # its lease ran out while this process is still sending it
            by_channel.setdefault(d.channel, []).append(d)
        results = await asyncio.gather(
            *(self._send_channel(name, items) for name, items in by_channel.items())
        )
        return [r for batch in results for r in batch]

    async def _send_channel(self, name: str, items: list[Delivery]) -> list[DeliveryReport]:
        out = []
        for d in items:
            self._sending.add(d.id)
            try:
                report = await self._send_one(d)
            finally:
                self._sending.discard(d.id)
            out.append(report)
            if report.outcome == "retry":
                break  # keep this channel's order: later ones wait for the retry
        return out

    async def _send_one(self, d: Delivery) -> DeliveryReport:
        sender = self.senders.get(d.channel)
        fields: dict[str, object] = {
            "event": "deliver",
            "channel": d.channel,
            "kind": d.kind,
            "key": d.key,
        }
        if sender is None:
            error = self._scrub(f"channel '{d.channel}' is not configured any more")
            when = next_attempt_at(d.attempts + 1, self.clock(), self.policy, self.rng)
            await self._in_db(self.store.delivery_failed, d.id, error, next_attempt_at=when)
            log.warning("delivery failed: %s", error, extra={"fields": fields})
            return DeliveryReport(
                d.id, d.channel, d.kind, d.key, "retry" if when else "dead", error, when
            )

        async def progress(parts: int) -> None:
            await self._in_db(self.store.delivery_progress, d.id, parts)

        failure: DeliveryError | None = None
        try:
            built = digests.digest_from_json(d.payload)
            self._fault("before_send")
            await sender.send(built, start_part=d.parts_sent, on_part=progress)
        except DeliveryError as exc:
            failure = exc
        except Exception as exc:
            # a delivery that cannot be built or rendered would fail the same way every time:
            # it is dead, with its error, and the channel's other deliveries go on
            log.exception("delivery %s cannot be built", d.key, extra={"fields": fields})
            failure = DeliveryError(f"cannot be built: {type(exc).__name__}: {exc}", permanent=True)
        if failure is not None:
            now = self.clock()
            when = next_attempt_at(
                d.attempts + 1,
                now,
                self.policy,
                self.rng,
                retry_after_s=failure.retry_after,
                permanent=failure.permanent,
            )
            # a receiver may echo the URL it was sent to, or a header, in its answer
            error = self._scrub(str(failure))
            await self._in_db(self.store.delivery_failed, d.id, error, next_attempt_at=when)
            outcome = "retry" if when else "dead"
            fields.update(outcome=outcome, attempts=d.attempts + 1, error=error)
            if when:
                fields["next_attempt_at"] = when.isoformat(timespec="seconds")
            log.warning("delivery %s: %s", outcome, error, extra={"fields": fields})
            return DeliveryReport(d.id, d.channel, d.kind, d.key, outcome, error, when)
        self._fault("after_send")
        await self._in_db(self.store.delivery_sent, d.id, self.clock())
        fields.update(outcome="sent", attempts=d.attempts + 1, stories=len(built.entries))
        log.info("delivered", extra={"fields": fields})
        return DeliveryReport(d.id, d.channel, d.kind, d.key, "sent")
