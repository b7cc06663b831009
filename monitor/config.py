"""Configuration: ``monitor.yaml`` and the watchlists it names, validated strictly.

The names the rest of the package and its users import, from the modules that own them:
values written in the file (``monitor.config_values``), the schema and ``Config``
(``monitor.config_schema``), the checks of a whole configuration (``monitor.config_validate``,
pure) and the reading of files and the environment (``monitor.configio``, the I/O edge). Does
nothing itself. Must not import fetch, store, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from monitor.config_schema import (
    DEFAULT_LISTEN,
    Config,
    DeliverySettings,
    FeedSpec,
    MonitorFile,
    PollingSettings,
    RetentionSettings,
    SignalSettings,
    StatusSettings,
    TopicSignalSettings,
    WebSettings,
    check_contact,
    check_database_url,
    check_listen,
)
from monitor.config_validate import AREAS
from monitor.config_values import (
    DEFAULT_DATABASE,
    MAX_BYTES,
    MAX_DURATION_S,
    Cron,
    Duration,
    Fraction,
    Jitter,
    Size,
    parse_duration,
    parse_fraction,
    parse_size,
)
from monitor.configio import load_config, load_config_for, load_watchlists

__all__ = [
    "AREAS",
    "DEFAULT_DATABASE",
    "DEFAULT_LISTEN",
    "MAX_BYTES",
    "MAX_DURATION_S",
    "Config",
    "Cron",
    "DeliverySettings",
    "Duration",
    "FeedSpec",
    "Fraction",
    "Jitter",
    "MonitorFile",
    "PollingSettings",
    "RetentionSettings",
    "SignalSettings",
    "Size",
    "StatusSettings",
    "TopicSignalSettings",
    "WebSettings",
    "check_contact",
    "check_database_url",
    "check_listen",
    "load_config",
    "load_config_for",
    "load_watchlists",
    "parse_duration",
    "parse_fraction",
    "parse_size",
]
