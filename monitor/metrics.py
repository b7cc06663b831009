"""Prometheus metrics of the running daemon.

Owns: the metric families and how reports of polls, cycles and deliveries update them. Each
``Metrics`` has its own registry, so tests and several services in one process do not mix.
Must not import cli.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.model import SIGNAL_KINDS, Signal
from monitor.outbox import DeliveryReport
from monitor.pipeline import CycleReport, PollReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Sampled(Collector):
    """Gauges read from the database at scrape time (outbox depth, unhealthy feeds)."""

    def __init__(self, sample: Callable[[], dict[str, Any]]) -> None:
        self.sample = sample

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            data = self.sample()
        except Exception:  # a scrape must not fail because the database is down
            return
        outbox = GaugeMetricFamily(
            "monitor_outbox_deliveries", "Deliveries in the outbox by status", labels=["status"]
        )
        for status, n in sorted(data.get("outbox", {}).items()):
            outbox.add_metric([status], n)
        yield outbox
        yield GaugeMetricFamily(
            "monitor_feeds_unhealthy",
            "Feeds marked unhealthy (failing for long or missing) or disabled (410 Gone)",
            value=data.get("unhealthy", 0),
        )
        yield GaugeMetricFamily("monitor_feeds", "Configured feeds", value=data.get("feeds", 0))


class Metrics:
    def __init__(self, sample: Callable[[], dict[str, Any]] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("monitor_polls", "Feed polls by outcome", ["outcome"], registry=r)
        self.poll_errors = Counter(
            "monitor_poll_errors", "Failed feed polls by error kind", ["kind"], registry=r
        )
        self.fetch_seconds = Histogram(
            "monitor_fetch_seconds",
            "Time to fetch one feed",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60),
            registry=r,
        )
        self.items = Counter("monitor_items", "New items stored", registry=r)
        self.matches = Counter("monitor_matches", "New matches by topic", ["topic"], registry=r)
        self.deliveries = Counter(
            "monitor_deliveries",
            "Delivery attempts by channel and outcome",
            ["channel", "outcome"],
            registry=r,
        )
        self.last_cycle = Gauge(
            "monitor_last_cycle_timestamp_seconds",
            "When the last poll cycle that polled feeds finished (Unix time)",
            registry=r,
        )
        self.last_cycle_seconds = Gauge(
            "monitor_last_cycle_duration_seconds", "Duration of the last poll cycle", registry=r
        )
        self.reload_errors = Gauge(
            "monitor_config_reload_problems",
            "Problems in the last rejected configuration edit (0 when the last reload was good)",
            registry=r,
        )
        self.job_failures = Gauge(
            "monitor_job_failures",
            "Failures in a row of each scheduled job (0 once it succeeds again)",
            ["job"],
            registry=r,
        )
        self.signals = Counter(
            "monitor_signals",
            "Signals fired (surges, spikes, notices, updates)",
            ["kind"],
            registry=r,
        )
        self.signal_deliveries = Counter(
            "monitor_signal_deliveries",
            "Delivery attempts of signal messages by kind and outcome",
            ["kind", "outcome"],
            registry=r,
        )
        if sample is not None:
            r.register(_Sampled(sample))

    def observe_poll(self, p: PollReport) -> None:
        self.polls.labels(p.outcome).inc()
        if p.outcome == "error":
            self.poll_errors.labels(p.error_kind or "unknown").inc()
        self.fetch_seconds.observe(p.fetch_s)
        self.items.inc(p.new_items)
        for topic in p.topics:
            self.matches.labels(topic).inc()

    def observe_cycle(self, report: CycleReport, finished_at: float) -> None:
        if report.polls:
            self.last_cycle.set(finished_at)
            self.last_cycle_seconds.set(report.duration_s)

    def observe_delivery(self, d: DeliveryReport) -> None:
        self.deliveries.labels(d.channel, d.outcome).inc()
        if d.kind in SIGNAL_KINDS:
            self.signal_deliveries.labels(d.kind, d.outcome).inc()

    def observe_signals(self, fired: Iterable[Signal]) -> None:
        for s in fired:
            self.signals.labels(s.kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
