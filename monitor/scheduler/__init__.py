"""The daemon's clock: APScheduler jobs that poll, build digests and alerts, send, reload.

Owns: when things run. A poll tick claims the feeds that are due (their next poll time is
stored per feed by ``cadence``); one job per channel fires when its digest window closes (the
cron is read by ``monitor.schedule``); the outbox is flushed after each build and on a timer
for retries; configuration files are watched and reloaded; new items are added to the pages'
text index; old items are pruned. Stopping lets in-flight work finish within a grace period.
``Service`` (``service``: lifecycle and polling) is built from its parts by concern:
``health`` (job failures, /healthz, gauges), ``delivery`` (digest, alert and outbox jobs) and
``reload`` (hot reload), over the state ``base`` declares. Must not import cli.
"""

from __future__ import annotations

from monitor.scheduler.base import Health
from monitor.scheduler.service import WRITES, Service

__all__ = ["WRITES", "Health", "Service"]
