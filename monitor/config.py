"""Configuration: ``monitor.yaml`` and the watchlists it names, validated strictly.

Owns: the schema of ``monitor.yaml`` (channels' schema lives in ``monitor.channels``, topics'
in ``monitor.score.spec``), ``${VAR}`` expansion, path resolution and the overrides
(``--config``, ``MONITOR_CONFIG``, ``MONITOR_DATABASE_URL``, ``MONITOR_STATUS_LISTEN``).
Every problem in every file is reported at once as ``path:line: message``.

Reads the files it is given; does no other I/O. Must not import fetch, store, deliver, pipeline,
scheduler or cli.
"""

from __future__ import annotations

import glob
import math
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor import access
from monitor.articles import SHORT_SUMMARY, FulltextMode, FulltextSettings
from monitor.channels import ChannelSpec
from monitor.errors import ConfigError, Problem
from monitor.links import MIN_SECRET, DigestLinks
from monitor.model import MAX_ENTRIES, SourceSpec
from monitor.pages import check_selector
from monitor.schedule import parse_cron
from monitor.score.spec import TopicSpec, validate_watchlist
from monitor.scrub import Scrubber, model_secrets, referenced_values
from monitor.yamlsrc import (
    Document,
    Located,
    expand_env_located,
    load_yaml,
    validation_problems_located,
)

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
        if not math.isfinite(value):
            raise ValueError("expected a duration like 15m, 30s, 1h30m (a finite number)")
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


#: The longest duration a setting may have: longer ones would take dates past what a
#: calendar (and the database) can hold once added to today.
MAX_DURATION_S = 100 * 365 * 86400.0
MAX_BYTES = 2**30


def _positive_duration(value: float) -> float:
    if value <= 0:
        raise ValueError("must be longer than 0, e.g. 30s, 15m or 1h")
    if value > MAX_DURATION_S:
        raise ValueError("must be at most 100 years")
    return value


def _positive_size(value: int) -> int:
    if not 0 < value <= MAX_BYTES:
        raise ValueError("must be more than 0 bytes and at most 1GiB, e.g. 10MB")
    return value


def _below_one(value: float) -> float:
    if value >= 1:
        raise ValueError("must be below 100% (0.1 = 10% either way), e.g. 10%")
    return value


def _cron(value: str) -> str:
    return parse_cron(value).expression


Duration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_positive_duration)]
Size = Annotated[int, BeforeValidator(parse_size), AfterValidator(_positive_size)]
Fraction = Annotated[float, BeforeValidator(parse_fraction)]
Jitter = Annotated[float, BeforeValidator(parse_fraction), AfterValidator(_below_one)]
Cron = Annotated[str, AfterValidator(_cron)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PollingSettings(_Strict):
    interval: Duration = 900.0
    jitter: Jitter = 0.1
    timeout: Duration = 20.0
    deadline: Duration = 60.0
    concurrency: int = Field(50, ge=1, le=1000)
    per_host: int = Field(4, ge=1, le=100)
    parse_workers: int = Field(2, ge=1, le=64)
    max_bytes: Size = 10_000_000
    max_entries: int = Field(MAX_ENTRIES, ge=1, le=1_000_000)  # read from one document
    adaptive: bool = False  # slow down for feeds that publish rarely (up to 4 intervals)
    min_interval: Duration = 300.0
    max_interval: Duration = 21600.0
    max_backoff: Duration = 3600.0
    lease: Duration = 600.0  # how long a worker may hold a claimed feed before others take it
    # an item published longer ago than this never alerts at once: it goes to the digest
    alert_max_age: Duration = 43200.0
    # whether the items of a feed's first poll (its backlog) may alert; by default they may not
    first_poll_alerts: bool = False
    # the most one body may take to parse (plus 5 s a megabyte): a parse worker still busy then
    # is stopped and replaced, and the feed records "parse timed out"
    parse_deadline: Duration = 10.0
    # article text: fetch the page of items whose summary is short (auto), of every item
    # (always) or never; a feed's own `fulltext` overrides it
    fulltext: FulltextMode = "auto"
    fulltext_below: int = Field(SHORT_SUMMARY, ge=1, le=100_000)  # "short" in characters
    article_max_bytes: Size = 5_000_000  # an article page's body, at most
    article_concurrency: int = Field(8, ge=1, le=200)  # article fetches in flight at once
    # honour robots.txt for article pages, web pages and documents (a source may say otherwise)
    robots: bool = True
    # a page about this installation or a mailto: address, sent in the User-Agent so that a
    # site's operator can reach whoever runs it
    contact: str | None = None

    @field_validator("contact")
    @classmethod
    def _contact_url(cls, v: str | None) -> str | None:
        return None if v is None else check_contact(v)

    @field_validator("parse_deadline")
    @classmethod
    def _parse_deadline_bounds(cls, v: float) -> float:
        return _within(
            v,
            1.0,
            3600.0,
            "a parse deadline",
            "1s and 1h",
            "10s by default: an ordinary feed parses in well under a second",
        )

    @model_validator(mode="after")
    def _bounds_in_order(self) -> PollingSettings:
        if self.min_interval > self.max_interval:
            raise ValueError(
                f"min_interval ({self.min_interval:g}s) is longer than max_interval "
                f"({self.max_interval:g}s); the shortest gap between polls must not exceed "
                "the longest"
            )
        return self


def _within(v: float, low: float, high: float, what: str, written: str, hint: str) -> float:
    """``v`` seconds when from ``low`` to ``high``, else a ValueError saying what to write."""
    if not low <= v <= high:
        raise ValueError(f"{what} of {v:g} s is out of range; write between {written} ({hint})")
    return v


def check_listen(value: str) -> str:
    """``host:port`` with a port from 0 to 65535 (0: any free port), else ValueError."""
    m = re.fullmatch(r"([\w.\-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})", value)
    if not m or int(m.group(2)) > 65535:
        raise ValueError(
            f"'{value}' is not host:port with a port from 0 to 65535, e.g. 127.0.0.1:8787 "
            "(or null for no status endpoint)"
        )
    return value


class DeliverySettings(_Strict):
    # how long a worker may hold a claimed delivery before another sends it; a delivery being
    # sent when its worker died goes out again when this runs out
    lease: Duration = 120.0

    @field_validator("lease")
    @classmethod
    def _lease_bounds(cls, v: float) -> float:
        return _within(
            v,
            1.0,
            86400.0,
            "a delivery lease",
            "1s and 1d",
            "longer than a send takes: 2m by default",
        )


DEFAULT_LISTEN = "127.0.0.1:8787"


class TopicSignalSettings(_Strict):
    """A topic's own surge rule (``signals.topics.<id>``); unset fields take the defaults."""

    surge_outlets: int | None = Field(default=None, ge=2, le=1000)
    surge_window: Duration | None = None


class SignalSettings(_Strict):
    """When signals fire (``docs/delivery.md``, "Signals"): story surges, topic spikes,
    source notices. ``every`` is how often the daemon looks."""

    every: Duration = 60.0
    surge_outlets: int = Field(default=4, ge=2, le=1000)
    surge_window: Duration = 6 * 3600.0
    spike_days: int = Field(default=14, ge=2, le=90)
    spike_sd: float = Field(default=3.0, gt=0, le=20)
    spike_min_count: int = Field(default=5, ge=1)
    spike_min_history: int = Field(default=7, ge=1, le=90)
    failing_after: Duration = 6 * 3600.0
    silent_factor: float = Field(default=4.0, ge=1, le=100)
    silent_min: Duration = 2 * 86400.0
    topics: dict[str, TopicSignalSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _history_within_days(self) -> SignalSettings:
        if self.spike_min_history > self.spike_days:
            raise ValueError(
                f"spike_min_history ({self.spike_min_history}) must be at most spike_days "
                f"({self.spike_days}): the baseline has no more days than that"
            )
        return self


class StatusSettings(_Strict):
    listen: str | None = DEFAULT_LISTEN

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str | None) -> str | None:
        return None if v is None else check_listen(v)


class WebSettings(_Strict):
    """Where people reach the web application, and the secret that signs the feedback links
    of digests (``monitor.links``). It listens where ``status.listen`` says, with /healthz and
    /metrics."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, hide_input_in_errors=True
    )

    #: the address people open it at; when set, digests carry feedback links under it
    public_url: str | None = None
    #: signs feedback links; from the environment, e.g. ``secret: ${MONITOR_WEB_SECRET}``
    secret: SecretStr | None = None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", v):
            raise ValueError(
                f"'{v}' is not an http(s) address without query, e.g. "
                "https://monitor.example.org or http://127.0.0.1:8787"
            )
        return v

    @field_validator("secret", mode="before")
    @classmethod
    def _secret_str(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, str | SecretStr):
            raise ValueError("web.secret must be a string; use a ${VARIABLE} reference")
        return v

    @field_validator("secret")
    @classmethod
    def _secret_length(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < MIN_SECRET:
            raise ValueError(
                f"web.secret is shorter than {MIN_SECRET} characters; make one with "
                "`openssl rand -hex 32` and give it through the environment"
            )
        return v

    @model_validator(mode="after")
    def _links_need_a_secret(self) -> WebSettings:
        if self.public_url is not None and self.secret is None:
            raise ValueError(
                "web.public_url is set, so digests carry feedback links, which need "
                "web.secret to sign them: add secret: ${MONITOR_WEB_SECRET} (at least "
                f"{MIN_SECRET} characters, e.g. from `openssl rand -hex 32`)"
            )
        return self

    def digest_links(self) -> DigestLinks | None:
        """What makes the feedback links of digests, or ``None`` when there are none."""
        if self.public_url is None or self.secret is None:
            return None
        return DigestLinks(self.public_url, self.secret.get_secret_value())


class RetentionSettings(_Strict):
    unmatched_items: Duration = 30 * 86400.0
    matches: Duration = 365 * 86400.0
    deliveries: Duration = 365 * 86400.0
    schedule: Cron = "17 3 * * *"


def check_contact(value: str) -> str:
    """A contact for the User-Agent: an http(s) URL or a mailto: address, printable ASCII
    without spaces, parentheses or semicolons (they would break the header)."""
    if not re.fullmatch(
        r"(https?://[^\s/()<>;\\\"]+(/[^\s()<>;\\\"]*)?|mailto:[^\s@()<>;]+@[^\s@()<>;]+)", value
    ):
        raise ValueError(
            f"'{value}' is not a contact URL; write a page about this installation, e.g. "
            "https://example.org/policy-monitor, or mailto:ops@example.org"
        )
    if not value.isascii() or len(value) > 200:
        raise ValueError("a contact URL must be ASCII and at most 200 characters")
    return value


class FeedSpec(_Strict):
    url: str
    name: str | None = None
    lang: str | None = None
    interval: Duration | None = None
    enabled: bool = True
    # feed (RSS, Atom, JSON Feed), page (an HTML page: its links, or its text) or document (PDF)
    type: Literal["feed", "page", "document"] = "feed"
    items: str | None = None  # page: CSS selector of its links (or, watch: text, its part)
    watch: Literal["links", "text"] | None = None  # page: new links (default) or changed text

    @field_validator("items")
    @classmethod
    def _selector(cls, v: str | None) -> str | None:
        return None if v is None else check_selector(v)

    @model_validator(mode="after")
    def _page_options(self) -> FeedSpec:
        if self.type != "page":
            given = [k for k in ("items", "watch") if getattr(self, k) is not None]
            if given:
                raise ValueError(
                    f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for web "
                    f"pages only, and this source is type: {self.type}; write type: page "
                    "or remove them"
                )
        return self

    def source(self, robots: bool = True) -> SourceSpec:
        """How this source's body is read; ``robots`` is whether robots.txt is asked when the
        source does not say (``polling.robots``)."""
        return SourceSpec(
            kind=self.type,
            items=self.items,
            watch=self.watch or "links",
            robots=robots if self.robots is None else self.robots,
        )

    # fetch each item's article page: auto (when the summary is short), always or never;
    # unset: polling.fulltext
    fulltext: FulltextMode | None = None
    # honour robots.txt for this source's articles, or for the page or document itself;
    # unset: polling.robots
    robots: bool | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"'{v}' is not an http(s) URL")
        return v


def check_database_url(value: str) -> str:
    """A URL the store can open: ``sqlite:///path`` or ``postgresql+psycopg://…``."""
    if not re.match(r"^(sqlite://|postgresql(\+psycopg)?://)", value):
        shown = value.split(":", 1)[0] if ":" in value else value
        raise ValueError(
            f"'{shown}' is not a database this monitor can use; write sqlite:///monitor.db "
            "or postgresql+psycopg://user@host/db"
        )
    return value


class MonitorFile(_Strict):
    database: str = DEFAULT_DATABASE
    timezone: str = "UTC"
    watchlists: list[str] = Field(default_factory=lambda: ["watchlists/*.yaml"])
    polling: PollingSettings = Field(default_factory=lambda: PollingSettings())
    delivery: DeliverySettings = Field(default_factory=lambda: DeliverySettings())
    signals: SignalSettings = Field(default_factory=lambda: SignalSettings())
    status: StatusSettings = Field(default_factory=lambda: StatusSettings())
    retention: RetentionSettings = Field(default_factory=lambda: RetentionSettings())
    web: WebSettings = Field(default_factory=lambda: WebSettings())
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

    @field_validator("database")
    @classmethod
    def _database(cls, v: str) -> str:
        return check_database_url(v)


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
    signals: SignalSettings = field(default_factory=SignalSettings)
    web_auth: access.WebAuth = field(default_factory=access.WebAuth)
    watchlist_files: tuple[str, ...] = field(default_factory=tuple)
    watchlist_globs: tuple[str, ...] = field(default_factory=tuple)
    web: WebSettings = field(default_factory=WebSettings)

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
            [*model_secrets((self.channels, self.web)), *self.web_auth.secrets()],
            urls=[self.database_url, *(f.url for f in self.feeds)],
        )

    def sources(self) -> dict[str, SourceSpec]:
        """How each source that is not a feed is read, by URL."""
        return {f.url: f.source(self.polling.robots) for f in self.feeds if f.type != "feed"}

    def fulltext(self) -> FulltextSettings:
        """The article-text settings: ``polling``'s defaults and each feed's own."""
        p = self.polling
        return FulltextSettings(
            mode=p.fulltext,
            short_below=p.fulltext_below,
            robots=p.robots,
            # a document's whole text is read as an article's is (its poll keeps only the
            # start of it as the summary): always, unless the source says otherwise
            feeds={
                f.url: (f.fulltext or ("always" if f.type == "document" else None), f.robots)
                for f in self.feeds
            },
        )

    def channel(self, name: str) -> ChannelSpec:
        for ch in self.channels:
            if ch.name == name:
                return ch
        raise KeyError(name)


#: The parts of a configuration a command may need (see ``load_config_for``): the top-level
#: keys of monitor.yaml, with the watchlist files under ``watchlists``; ``other`` holds
#: problems of the file as a whole, such as an unknown top-level key.
AREAS = frozenset(
    {
        "database",
        "timezone",
        "watchlists",
        "polling",
        "status",
        "retention",
        "feeds",
        "channels",
        "delivery",
        "signals",
        "web",
        "other",
    }
)
_LISTS = ("feeds", "channels")


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``monitor.yaml`` and its watchlists; raise one ConfigError for all."""
    cfg, _ = load_config_for(path, AREAS, environ)
    return cfg


def load_config_for(
    path: str | os.PathLike[str],
    needs: Collection[str],
    environ: Mapping[str, str] | None = None,
) -> tuple[Config, list[Problem]]:
    """The configuration for a command that uses only the parts named in ``needs`` (of
    ``AREAS``), and the problems found in the other parts.

    A problem in a needed part raises ``ConfigError`` with every problem in those parts. A
    problem elsewhere leaves its part out (a broken channel is dropped, a broken setting is
    left at its default, broken watchlists give no topics) and is returned, so that the
    caller can warn about it. No problem quotes a secret: the values of the environment
    variables the file references, and URL credentials, are scrubbed from every one.
    """
    env = os.environ if environ is None else environ
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    scrub = Scrubber(referenced_values(text, env))
    try:
        cfg, elsewhere = _load_config_for(str(path), needs, env)
    except ConfigError as exc:
        raise ConfigError(scrub.problems(exc.problems)) from None
    return cfg, scrub.problems(elsewhere)


def _load_config_for(
    path: str, needs: Collection[str], env: Mapping[str, str]
) -> tuple[Config, list[Problem]]:
    doc, problems = load_yaml(path)
    if doc is None:
        raise ConfigError(problems)
    if not isinstance(doc.data, dict):
        raise ConfigError([Problem(path, 1, "the file must be a mapping of settings")])
    located: list[tuple[str, Located]] = []
    data, missing = expand_env_located(doc, env)
    for loc, problem in missing:
        located.append((_area(loc), (loc, problem)))
    unresolved = {loc for loc, _ in missing}
    try:
        MonitorFile.model_validate(data)
    except ValidationError as exc:
        for loc, problem in validation_problems_located(exc, doc, model=MonitorFile):
            # a value naming a missing variable is reported once, as that
            if not any(loc[: len(u)] == u for u in unresolved):
                located.append((_area(loc), (loc, problem)))
    if not data.get("feeds") and not data.get("channels"):
        problem = Problem(
            path,
            1,
            "no feeds and no channels: this configuration would poll nothing and send "
            "nothing; add feeds: and channels: (see config/monitor.yaml)",
        )
        located.append(("feeds", (("feeds",), problem)))
    patterns = data.get("watchlists", MonitorFile().watchlists)
    if not isinstance(patterns, list):
        patterns = []
    topic_problems: list[Problem] = []
    files = _watchlist_files(doc, [p for p in patterns if isinstance(p, str)], topic_problems)
    topics, written = _load_topics(files, topic_problems)
    located += [("watchlists", ((), p)) for p in topic_problems]
    for loc, problem in _cross_checks(doc, data, topics, files, written):
        located.append((_area(loc), (loc, problem)))
    overrides, env_problems = _overrides(env)
    located += [(area, ((), p)) for area, p in env_problems]
    auth, auth_problems = access.web_auth(env)
    located += [("status", ((), Problem("environment", None, p))) for p in auth_problems]
    status = data.get("status") if isinstance(data.get("status"), dict) else {}
    listen = overrides["listen"] if "listen" in overrides else status.get("listen", DEFAULT_LISTEN)
    if why := access.listen_problem(listen if isinstance(listen, str) else None, auth):
        at = Problem(path, doc.line_of(["status", "listen"]), why)
        located.append(("status", (("status",), at)))
    fatal = [p for area, (_, p) in located if area in needs]
    if fatal:
        raise ConfigError(fatal)
    rest = [p for _, (_, p) in located]
    cleaned = _without(data, [loc for _, (loc, _) in located])
    try:
        settings = MonitorFile.model_validate(cleaned)
    except ValidationError:  # pragma: no cover - every failing part was left out above
        raise ConfigError(rest) from None
    if topic_problems:
        topics = []
    cfg = Config(
        path=path,
        database_url=overrides.get("database") or settings.database,
        timezone=settings.timezone,
        polling=settings.polling,
        status=(
            StatusSettings(listen=overrides["listen"] or None)
            if "listen" in overrides
            else settings.status
        ),
        retention=settings.retention,
        feeds=tuple(settings.feeds),
        channels=tuple(settings.channels),
        topics=tuple(topics),
        delivery=settings.delivery,
        signals=settings.signals,
        web=settings.web,
        web_auth=auth,
        watchlist_files=tuple(files),
        watchlist_globs=tuple(
            p if os.path.isabs(p) else str(Path(path).parent / p)
            for p in patterns
            if isinstance(p, str)
        ),
    )
    return cfg, rest


def _area(loc: tuple[str | int, ...]) -> str:
    first = loc[0] if loc else None
    return first if isinstance(first, str) and first in AREAS else "other"


def _without(data: dict[str, Any], locs: list[tuple[str | int, ...]]) -> dict[str, Any]:
    """``data`` without the parts the problems at ``locs`` are in: an entry of a list, or
    a whole top-level key (which then takes its default)."""
    drop_keys: set[str] = set()
    drop_items: dict[str, set[int]] = {}
    for loc in locs:
        if not loc:
            continue
        key = loc[0]
        if not isinstance(key, str):
            continue
        if key in _LISTS and len(loc) > 1 and isinstance(loc[1], int):
            drop_items.setdefault(key, set()).add(loc[1])
        else:
            drop_keys.add(key)
    out = {k: v for k, v in data.items() if k not in drop_keys}
    for key, indexes in drop_items.items():
        if isinstance(out.get(key), list):
            out[key] = [v for i, v in enumerate(out[key]) if i not in indexes]
    return out


def _overrides(env: Mapping[str, str]) -> tuple[dict[str, str], list[tuple[str, Problem]]]:
    """The settings given by environment variables, each checked as its key in the file."""
    out: dict[str, str] = {}
    problems: list[tuple[str, Problem]] = []
    for var, key, area, check in (
        ("MONITOR_DATABASE_URL", "database", "database", check_database_url),
        ("MONITOR_STATUS_LISTEN", "listen", "status", check_listen),
    ):
        value = env.get(var)
        if value is None:
            continue
        try:
            out[key] = check(value) if value else value
        except ValueError as exc:
            problems.append((area, Problem(f"${var}", None, str(exc))))
    return out, problems


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
    topics, _ = _load_topics([str(p) for p in paths], problems)
    if problems:
        raise ConfigError(problems)
    return topics


def _load_topics(
    files: list[str], problems: list[Problem]
) -> tuple[list[TopicSpec], dict[str, set[str]]]:
    """The good topics of the files, and the ids written in each file that could be read
    (a topic with a mistake still has its id), ``None`` for a file that could not be."""
    topics: list[TopicSpec] = []
    written: dict[str, set[str]] = {}
    where: dict[str, str] = {}
    for name in files:
        wdoc, wproblems = load_yaml(name)
        problems.extend(wproblems)
        if wdoc is None:
            continue
        found, wproblems = validate_watchlist(wdoc)
        problems.extend(wproblems)
        raw = wdoc.data.get("topics") if isinstance(wdoc.data, dict) else None
        written[name] = {
            t["id"]
            for t in (raw if isinstance(raw, list) else [])
            if isinstance(t, dict) and isinstance(t.get("id"), str)
        }
        for topic in found:
            if where.get(topic.id) == name:
                continue  # the file's own check has reported an id used twice in it
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
    return topics, written


def _cross_checks(
    doc: Document,
    data: dict[str, Any],
    topics: list[TopicSpec],
    files: list[str],
    written: dict[str, set[str]],
) -> list[Located]:
    """Checks across entries and files, on the raw data so they run even when the schema
    check failed elsewhere (every problem is reported at once).

    A channel's topic is known when a watchlist file names it, even in a topic that has
    mistakes of its own; when a watchlist file could not be read at all, the message says
    that its topics could not be known.
    """
    problems: list[Located] = []
    known = {t.id for t in topics}.union(*written.values())
    unread = [f for f in files if f not in written]
    unknown_because = (
        f" ({', '.join(unread)} could not be read, so its topics are not known)" if unread else ""
    )
    names: set[str] = set()
    channels = data.get("channels")
    for i, ch in enumerate(channels if isinstance(channels, list) else []):
        if not isinstance(ch, dict):
            continue
        name = ch.get("name")
        if isinstance(name, str):
            if name in names:
                loc: tuple[str | int, ...] = ("channels", i, "name")
                problems.append(
                    (
                        loc,
                        Problem(
                            doc.path,
                            doc.line_of(list(loc)),
                            f"channels[{i}]: channel name '{name}' is used twice",
                        ),
                    )
                )
            names.add(name)
        wanted = ch.get("topics")
        for j, topic in enumerate(wanted if isinstance(wanted, list) else []):
            if isinstance(topic, str) and topic not in known:
                hint = ", ".join(sorted(known)) or "none"
                loc = ("channels", i, "topics", j)
                problems.append(
                    (
                        loc,
                        Problem(
                            doc.path,
                            doc.line_of(list(loc)),
                            f"channels[{i}].topics: unknown topic '{topic}'; known topics: "
                            f"{hint}{unknown_because}",
                        ),
                    )
                )
    signals = data.get("signals")
    per_topic = signals.get("topics") if isinstance(signals, dict) else None
    for topic in per_topic if isinstance(per_topic, dict) else []:
        if isinstance(topic, str) and topic not in known:
            hint = ", ".join(sorted(known)) or "none"
            loc = ("signals", "topics", topic)
            problems.append(
                (
                    loc,
                    Problem(
                        doc.path,
                        doc.line_of(list(loc)),
                        f"signals.topics: unknown topic '{topic}'; known topics: "
                        f"{hint}{unknown_because}",
                    ),
                )
            )
    urls: set[str] = set()
    feeds = data.get("feeds")
    for i, feed in enumerate(feeds if isinstance(feeds, list) else []):
        url = feed.get("url") if isinstance(feed, dict) else None
        if isinstance(url, str):
            if url in urls:
                loc = ("feeds", i, "url")
                problems.append(
                    (
                        loc,
                        Problem(
                            doc.path, doc.line_of(list(loc)), f"feeds[{i}]: {url} is listed twice"
                        ),
                    )
                )
            urls.add(url)
    return problems
