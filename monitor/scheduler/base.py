"""What every part of the running daemon shares: its configuration, store, stages and state.

Owns: ``Health`` (what /healthz and /metrics report) and the attributes of ``Service`` that its
parts (health, delivery jobs, reload) read and set, declared once so that each part is checked
against them. Holds no behaviour. Must not import cli.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor import jobs
from monitor.config import Config
from monitor.dbexec import DbExecutor
from monitor.enrich import ArticleEnricher
from monitor.metrics import Metrics
from monitor.outbox import Outbox
from monitor.pipeline import Pipeline
from monitor.score.engine import Matcher
from monitor.signalling import SignalPass
from monitor.store import Store


@dataclass
class Health:
    """What /healthz and /metrics report about the running daemon."""

    started_at: datetime
    last_tick_at: datetime | None = None
    last_cycle_at: datetime | None = None
    last_cycle_duration_s: float | None = None
    last_reload_at: datetime | None = None
    reload_errors: list[str] = field(default_factory=list)
    jobs: dict[str, jobs.JobState] = field(default_factory=dict)


class ServiceState:
    """The daemon's shared state; ``Service.__init__`` sets every attribute."""

    cfg: Config
    store: Store
    #: the process's one executor for store calls (the pipeline's)
    db: DbExecutor
    pipeline: Pipeline
    outbox: Outbox
    enricher: ArticleEnricher | None
    reload_config: Callable[[], Config] | None
    metrics: Metrics
    health: Health
    signals: SignalPass
    matcher: Matcher
    clock: Callable[[], datetime]
    tick_s: float
    failing_after: int
    retry_s: float
    _scheduler: AsyncIOScheduler | None
    _inflight: set[asyncio.Task[Any]]
    _stopping: bool
    _mtimes: dict[str, float | None]
