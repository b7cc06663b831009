"""Configuration: ``monitor.yaml`` and the watchlists it names, validated strictly.

Owns: the schema of ``monitor.yaml`` (channels' schema lives in ``monitor.channels``, topics'
in ``monitor.score.spec``), ``${VAR}`` expansion, path resolution and the overrides
(``--config``, ``MONITOR_CONFIG``, ``MONITOR_DATABASE_URL``, ``MONITOR_STATUS_LISTEN``).
Every problem in every file is reported at once as ``path:line: message``.

Reads the files it is given; does no other I/O. Must not import fetch, store, deliver, pipeline,
scheduler or cli.
"""

from __future__ import annotations

import functools
import glob
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from monitor.channels import ChannelSpec
from monitor.errors import ConfigError, Problem
from monitor.parse import MAX_ENTRIES
from monitor.score.spec import TopicSpec, validate_watchlist
from monitor.scrub import Scrubber, model_secrets, referenced_values, scrubbed_config_error
from monitor.yamlsrc import Document, expand_env, load_yaml, validation_problems

DEFAULT_DATABASE = "sqlite:///monitor.db"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration(value: Any) -> float:
    """``"15m"``, ``"1h30m"``, ``"20s"``, ``"2d"`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 15m, 30s, 1h30m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like 15m, 30s, 1h30m")
    text = value.strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"'{value}' is not a duration; write e.g. 45s, 15m, 1h30m or 2d")
    return total


def parse_size(value: Any) -> int:
    """``"10MB"``, ``"512KiB"`` or a number of bytes → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a size; write e.g. 10MB, 512KB or 2MiB")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])


def parse_fraction(value: Any) -> float:
    """``"10%"`` or ``0.1`` → 0.1."""
    if isinstance(value, str) and value.strip().endswith("%"):
        value = float(value.strip()[:-1]) / 100
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a fraction like 10% or 0.1")
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(f"{value} is not between 0% and 100%")
    return number


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
Fraction = Annotated[float, BeforeValidator(parse_fraction)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PollingSettings(_Strict):
    interval: Duration = 900.0
    jitter: Fraction = 0.1
    timeout: Duration = 20.0
    deadline: Duration = 60.0
    concurrency: int = Field(50, ge=1, le=1000)
    per_host: int = Field(4, ge=1, le=100)
    parse_workers: int = Field(2, ge=1, le=64)
    max_bytes: Size = 10_000_000
    max_entries: int = Field(MAX_ENTRIES, ge=1, le=1_000_000)  # read from one document
    min_interval: Duration = 300.0
    max_interval: Duration = 21600.0
    max_backoff: Duration = 21600.0
    lease: Duration = 600.0  # how long a worker may hold a claimed feed before others take it
    # an item published longer ago than this never alerts at once: it goes to the digest
    alert_max_age: Duration = 43200.0
    # whether the items of a feed's first poll (its backlog) may alert; by default they may not
    first_poll_alerts: bool = False
    # the most one body may take to parse (plus 5 s a megabyte): a parse worker still busy then
    # is stopped and replaced, and the feed records "parse timed out"
    parse_deadline: Duration = 10.0

    @field_validator("parse_deadline")
    @classmethod
    def _parse_deadline_bounds(cls, v: float) -> float:
        if not 1.0 <= v <= 3600.0:
            raise ValueError(
                f"a parse deadline of {v:g} s is out of range; write between 1s and 1h "
                "(10s by default: an ordinary feed parses in well under a second)"
            )
        return v


class DeliverySettings(_Strict):
    # how long a worker may hold a claimed delivery before another sends it; a delivery being
    # sent when its worker died goes out again when this runs out
    lease: Duration = 120.0

    @field_validator("lease")
    @classmethod
    def _lease_bounds(cls, v: float) -> float:
        if not 1.0 <= v <= 86400.0:
            raise ValueError(
                f"a delivery lease of {v:g} s is out of range; write between 1s and 1d "
                "(longer than a send takes: 2m by default)"
            )
        return v


class StatusSettings(_Strict):
    listen: str | None = "127.0.0.1:8787"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[\w.\-\[\]:]+:\d{1,5}", v):
            raise ValueError(f"'{v}' is not host:port, e.g. 127.0.0.1:8787")
        return v


class RetentionSettings(_Strict):
    unmatched_items: Duration = 30 * 86400.0
    matches: Duration = 365 * 86400.0
    deliveries: Duration = 365 * 86400.0
    schedule: str = "17 3 * * *"


class FeedSpec(_Strict):
    url: str
    name: str | None = None
    lang: str | None = None
    interval: Duration | None = None
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"'{v}' is not an http(s) URL")
        return v


class MonitorFile(_Strict):
    database: str = DEFAULT_DATABASE
    timezone: str = "UTC"
    watchlists: list[str] = Field(default_factory=lambda: ["watchlists/*.yaml"])
    polling: PollingSettings = Field(default_factory=lambda: PollingSettings())
    delivery: DeliverySettings = Field(default_factory=lambda: DeliverySettings())
    status: StatusSettings = Field(default_factory=lambda: StatusSettings())
    retention: RetentionSettings = Field(default_factory=lambda: RetentionSettings())
    feeds: list[FeedSpec] = Field(default_factory=list)
    channels: list[ChannelSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone '{v}'; use an IANA name like America/Toronto or UTC"
            ) from None
        return v


@dataclass(frozen=True)
class Config:
    """The whole validated configuration: settings, feeds, channels and topics."""

    path: str
    database_url: str
    timezone: str
    polling: PollingSettings
    status: StatusSettings
    retention: RetentionSettings
    feeds: tuple[FeedSpec, ...]
    channels: tuple[ChannelSpec, ...]
    topics: tuple[TopicSpec, ...]
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    watchlist_files: tuple[str, ...] = field(default_factory=tuple)
    watchlist_globs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def files(self) -> tuple[str, ...]:
        """Every file this configuration was read from."""
        return (self.path, *self.watchlist_files)

    def watched_files(self) -> tuple[str, ...]:
        """The files to watch for hot reload now: this configuration's, plus any watchlist
        file added since that matches its patterns."""
        found = {f for pattern in self.watchlist_globs for f in glob.glob(pattern)}
        return (self.path, *sorted(found | set(self.watchlist_files)))

    def scrubber(self) -> Scrubber:
        """What hides this configuration's secrets from text: every secret value its channels
        hold, and the credentials in the database URL and the feed URLs."""
        return Scrubber(
            model_secrets(self.channels), urls=[self.database_url, *(f.url for f in self.feeds)]
        )

    def channel(self, name: str) -> ChannelSpec:
        for ch in self.channels:
            if ch.name == name:
                return ch
        raise KeyError(name)


def _scrubbed_errors(load: Callable[..., Config]) -> Callable[..., Config]:
    """Configuration errors never quote a secret: the values of the environment variables the
    file references, and URL credentials, are scrubbed from every problem."""

    @functools.wraps(load)
    def checked(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
        try:
            return load(path, environ)
        except ConfigError as exc:
            env = os.environ if environ is None else environ
            try:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            raise scrubbed_config_error(exc, Scrubber(referenced_values(text, env))) from None

    return checked


@_scrubbed_errors
def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``monitor.yaml`` and its watchlists; raise one ConfigError for all."""
    env = os.environ if environ is None else environ
    path = str(path)
    doc, problems = load_yaml(path)
    if doc is None:
        raise ConfigError(problems)
    if not isinstance(doc.data, dict):
        raise ConfigError([Problem(path, 1, "the file must be a mapping of settings")])
    data, problems = expand_env(doc, env)
    settings: MonitorFile | None = None
    try:
        settings = MonitorFile.model_validate(data)
    except ValidationError as exc:
        problems += validation_problems(exc, doc, model=MonitorFile)
    patterns = data.get("watchlists", MonitorFile().watchlists)
    if not isinstance(patterns, list):
        patterns = []
    files = _watchlist_files(doc, [p for p in patterns if isinstance(p, str)], problems)
    topics = _load_topics(files, problems)
    problems += _cross_checks(doc, data, topics)
    if problems or settings is None:
        raise ConfigError(problems)
    return Config(
        path=path,
        database_url=env.get("MONITOR_DATABASE_URL") or settings.database,
        timezone=settings.timezone,
        polling=settings.polling,
        status=(
            StatusSettings(listen=env["MONITOR_STATUS_LISTEN"] or None)
            if "MONITOR_STATUS_LISTEN" in env
            else settings.status
        ),
        retention=settings.retention,
        feeds=tuple(settings.feeds),
        channels=tuple(settings.channels),
        topics=tuple(topics),
        delivery=settings.delivery,
        watchlist_files=tuple(files),
        watchlist_globs=tuple(
            p if os.path.isabs(p) else str(Path(path).parent / p)
            for p in patterns
            if isinstance(p, str)
        ),
    )


def _watchlist_files(doc: Document, patterns: list[str], problems: list[Problem]) -> list[str]:
    base = Path(doc.path).parent
    files: list[str] = []
    for i, pattern in enumerate(patterns):
        full = pattern if os.path.isabs(pattern) else str(base / pattern)
        found = sorted(glob.glob(full))
        if not found:
            problems.append(
                Problem(
                    doc.path,
                    doc.line_of(["watchlists", i]),
                    f"watchlists[{i}]: no file matches '{pattern}' (relative to {base}/)",
                )
            )
        files.extend(f for f in found if f not in files)
    return files


def load_watchlists(paths: list[str] | list[Path]) -> list[TopicSpec]:
    """Topics from watchlist files given directly; raise ``ConfigError`` with every problem."""
    problems: list[Problem] = []
    topics = _load_topics([str(p) for p in paths], problems)
    if problems:
        raise ConfigError(problems)
    return topics


def _load_topics(files: list[str], problems: list[Problem]) -> list[TopicSpec]:
    topics: list[TopicSpec] = []
    where: dict[str, str] = {}
    for name in files:
        wdoc, wproblems = load_yaml(name)
        problems.extend(wproblems)
        if wdoc is None:
            continue
        found, wproblems = validate_watchlist(wdoc)
        problems.extend(wproblems)
        raw = wdoc.data.get("topics") if isinstance(wdoc.data, dict) else None
        for topic in found:
            if topic.id in where:
                index = next(
                    (
                        i
                        for i, t in enumerate(raw if isinstance(raw, list) else [])
                        if isinstance(t, dict) and t.get("id") == topic.id
                    ),
                    None,
                )
                line = wdoc.line_of(["topics", index, "id"]) if index is not None else None
                problems.append(
                    Problem(
                        name,
                        line,
                        f"topic id '{topic.id}' is already defined in {where[topic.id]}; "
                        "topic ids must be unique across watchlists",
                    )
                )
                continue
            where[topic.id] = name
            topics.append(topic)
    return topics


def _cross_checks(doc: Document, data: dict[str, Any], topics: list[TopicSpec]) -> list[Problem]:
    """Checks across entries and files, on the raw data so they run even when the schema
    check failed elsewhere (every problem is reported at once)."""
    problems = []
    known = {t.id for t in topics}
    names: set[str] = set()
    channels = data.get("channels")
    for i, ch in enumerate(channels if isinstance(channels, list) else []):
        if not isinstance(ch, dict):
            continue
        name = ch.get("name")
        if isinstance(name, str):
            if name in names:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line_of(["channels", i, "name"]),
                        f"channels[{i}]: channel name '{name}' is used twice",
                    )
                )
            names.add(name)
        wanted = ch.get("topics")
        for j, topic in enumerate(wanted if isinstance(wanted, list) else []):
            if topics and isinstance(topic, str) and topic not in known:
                hint = ", ".join(sorted(known))
                problems.append(
                    Problem(
                        doc.path,
                        doc.line_of(["channels", i, "topics", j]),
                        f"channels[{i}].topics: unknown topic '{topic}'; known topics: {hint}",
                    )
                )
    urls: set[str] = set()
    feeds = data.get("feeds")
    for i, feed in enumerate(feeds if isinstance(feeds, list) else []):
        url = feed.get("url") if isinstance(feed, dict) else None
        if isinstance(url, str):
            if url in urls:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line_of(["feeds", i, "url"]),
                        f"feeds[{i}]: {url} is listed twice",
                    )
                )
            urls.add(url)
    return problems
