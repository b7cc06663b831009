"""Hot reload: watching the configuration's files and swapping in a new configuration.

Owns: noticing a change (modification times of the configuration and its watchlists, and
watchlist files added that match its patterns), loading and compiling the new configuration
off the event loop, and swapping each part in with one assignment so that work in progress
keeps what it started with. A rejected configuration leaves the last good one running and is
reported on /healthz; settings read only at start are named as needing a restart.
Must not import cli.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from monitor import cadence
from monitor.config import Config
from monitor.configio import watched_files
from monitor.errors import ConfigError
from monitor.fetch import Fetcher
from monitor.scheduler.delivery import DeliveryJobs
from monitor.score.engine import compile_topics
from monitor.signalling import SignalRules

log = logging.getLogger("monitor.run")

# settings read when the daemon starts; a reload that changes one says it needs a restart
RESTART_ONLY = ("polling.concurrency", "polling.per_host", "polling.parse_workers")


class Reloading(DeliveryJobs):
    """The daemon's reload job."""

    async def check_reload(self) -> None:
        assert self.reload_config is not None
        current = mtimes(watched_files(self.cfg))
        if current == self._mtimes:
            return
        self._mtimes = current
        try:
            new = await asyncio.to_thread(self.reload_config)
            matcher = compile_topics(new.topics)
        except ConfigError as exc:
            self.health.reload_errors = [str(p) for p in exc.problems]
            self.metrics.reload_errors.set(len(exc.problems))
            log.error(
                "configuration change rejected; the last good configuration keeps running:\n%s",
                "\n".join(self.health.reload_errors),
                extra={
                    "fields": {
                        "event": "reload",
                        "outcome": "rejected",
                        "problems": len(exc.problems),
                    }
                },
            )
            return
        # one assignment each: a poll in progress keeps the matcher it started with
        self.matcher = matcher
        old, self.cfg = self.cfg, new
        self._apply_polling(new)
        self.pipeline.sources = new.sources()
        self.outbox.channels = {c.name: c for c in new.channels}
        self.outbox.lease_s = new.delivery.lease
        self.outbox.topic_names = {t.id: t.name for t in new.topics}
        self.signals.rules = signal_rules(new)
        self.signals.topics = tuple(t.id for t in new.topics)
        self._mtimes = mtimes(watched_files(new))
        self.health.reload_errors = []
        self.metrics.reload_errors.set(0)
        self.health.last_reload_at = self.clock()
        await self.db(self.store.sync_feeds, self._feed_specs(), self.clock())
        replanned = await self.pipeline.replan()
        self._schedule_digests(catch_up=False)
        pending = needs_restart(old, new)
        fields: dict[str, object] = {
            "event": "reload",
            "outcome": "ok",
            "topics": len(new.topics),
            "feeds": len(new.feeds),
            "channels": len(new.channels),
            "replanned": replanned,
        }
        if pending:
            fields["needs_restart"] = ",".join(pending)
        log.info("configuration reloaded", extra={"fields": fields})
        if pending:
            log.warning(
                "%s changed: the running daemon keeps the old value until it is restarted",
                ", ".join(pending),
                extra={"fields": {"event": "reload", "needs_restart": ",".join(pending)}},
            )

    def _apply_polling(self, new: Config) -> None:
        """Swap in the polling settings that apply without a restart: cadence (every next
        poll is re-planned after this), timeouts, the size cap and the lease."""
        p = new.polling
        self.pipeline.policy = cadence.policy_from_settings(p)
        self.pipeline.lease_s = p.lease
        if isinstance(self.pipeline.fetcher, Fetcher):
            self.pipeline.fetcher.retune(
                timeout_s=p.timeout, deadline_s=p.deadline, max_bytes=p.max_bytes
            )

    def _feed_specs(self) -> list[Any]:
        return [f for f in self.cfg.feeds if f.enabled]


def needs_restart(old: Config, new: Config) -> list[str]:
    """The start-only settings that ``new`` changes."""
    changed = [
        name
        for name in RESTART_ONLY
        if getattr(old.polling, name.split(".")[1]) != getattr(new.polling, name.split(".")[1])
    ]
    if old.database_url != new.database_url:
        changed.append("database")
    if old.status.listen != new.status.listen:
        changed.append("status.listen")
    return changed


def signal_rules(cfg: Config) -> SignalRules:
    return SignalRules.from_settings(cfg.signals, [t.id for t in cfg.topics if t.urgent])


def mtimes(paths: tuple[str, ...]) -> dict[str, float | None]:
    """Modification times (and sizes) of the files; a file that appears or goes away shows
    as a changed key."""
    out: dict[str, float | None] = {}
    for p in paths:
        try:
            out[p] = os.stat(p).st_mtime_ns / 1e9
        except OSError:
            out[p] = None
    return out
