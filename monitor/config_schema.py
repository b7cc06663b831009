"""The schema of ``monitor.yaml``: its settings, feeds and the validated ``Config``.

Owns: the pydantic models of every section (``PollingSettings``, ``DeliverySettings``,
``SignalSettings``, ``StatusSettings``, ``WebSettings``, ``RetentionSettings``, ``FeedSpec``,
``MonitorFile``) and ``Config``, the whole validated configuration. Channels' schema lives in
``monitor.channels``, topics' in ``monitor.score.spec``. Pure: validates values, does no I/O
(reading the files is ``monitor.configio``'s). Must not import store, fetch, deliver, pipeline,
scheduler or cli.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from monitor import access
from monitor.articles import SHORT_SUMMARY, FulltextMode, FulltextSettings
from monitor.channels import ChannelSpec
from monitor.config_values import (
    DEFAULT_DATABASE,
    Cron,
    Duration,
    Jitter,
    Size,
)
from monitor.links import MIN_SECRET, DigestLinks
from monitor.model import MAX_ENTRIES, SourceSpec
from monitor.score.spec import TopicSpec
from monitor.scrub import Scrubber, model_secrets


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
        if v is None:
            return None
        from monitor.pages import check_selector  # lxml: only for a page source's selector

        return check_selector(v)

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
