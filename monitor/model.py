"""Frozen values passed between the stages of the pipeline.

Owns: the data records that cross module boundaries (those of article text are
``monitor.model_articles``'s, re-exported here). Imports nothing else from ``monitor``.
Database tables never leave ``monitor.store``; everything else sees these values.

Records are named after where they sit in the flow: an :class:`Entry` is what a feed says,
an :class:`Item` is an entry after normalisation, a :class:`TopicMatch` is what scoring decided,
a :class:`MatchRecord` is a stored match as the CLI and digests see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

# re-exported: records of article text are imported from here as all the others are
from monitor.model_articles import (  # noqa: F401
    ArticleCandidate,
    ArticleJob,
    ArticleOutcome,
    ArticleState,
    ItemText,
)

FetchOutcome = Literal["ok", "not_modified", "unchanged", "error"]
#: what kind of document a fetch expects: a feed is sniffed and refused when it is not one;
#: a page (an article) and robots.txt are taken as they come
FetchKind = Literal["feed", "page", "robots"]
Severity = Literal["digest", "alert"]
SEVERITY_RANK: dict[str, int] = {"digest": 1, "alert": 2}

#: publication dates outside this range are not real (``Mon, 01 Jan 0001``, year 9999): they
#: are unknown, and a time zone west or east of UTC could not even show them
EARLIEST_DATE = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_DATE = datetime(2200, 1, 1, tzinfo=UTC)


def plausible_date(value: datetime | None) -> datetime | None:
    """``value`` (naive means UTC) if it lies between ``EARLIEST_DATE`` and ``LATEST_DATE``,
    else None: the date is unknown."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        return value if EARLIEST_DATE <= aware < LATEST_DATE else None
    except OverflowError:  # an offset that takes it past datetime's own range
        return None


SourceKind = Literal["feed", "page", "document"]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """How a source's body is read: a feed; a web page (each link of its list an item, or
    with ``watch="text"`` its text watched for additions); a document (a PDF)."""

    kind: SourceKind = "feed"
    #: a CSS selector: the page's links (``watch="links"``) or the part watched (``"text"``)
    items: str | None = None
    watch: Literal["links", "text"] = "links"
    #: ask the site's robots.txt before each poll
    robots: bool = True


FEED_SOURCE = SourceSpec()


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store knows about a feed that polling needs."""

    id: int
    url: str
    name: str | None = None
    lang: str | None = None
    interval_s: float | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    items_per_day: float | None = None
    unhealthy: bool = False
    #: entries of the last parsed document past the per-document cap, not read
    entries_cut: int = 0
    next_poll_reason: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one HTTP fetch of a feed. Failures are values, not exceptions."""

    url: str
    outcome: FetchOutcome
    status: int | None = None
    final_url: str | None = None
    permanent_redirect: str | None = None
    body: bytes | None = None
    body_hash: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after_s: float | None = None
    max_age_s: float | None = None
    error_kind: str | None = None
    error: str | None = None
    elapsed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry as the feed gives it (HTML not yet stripped, dates already in UTC)."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    source: str | None = None


#: Most entries read from one document unless the configuration says otherwise: a bound on the
#: memory one document can take, well above what real feeds publish (podcast archives run to a
#: few hundred episodes). The entries past it are counted in :attr:`ParsedFeed.cut`.
MAX_ENTRIES = 2000


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed document."""

    title: str | None
    link: str | None
    entries: tuple[Entry, ...]
    version: str = ""
    warning: str | None = None
    #: entries of the document past the parser's cap, not read
    cut: int = 0


@dataclass(frozen=True, slots=True)
class Item:
    """An entry after normalisation: plain text, UTC dates, canonical URL, stable identity."""

    key: str
    feed_url: str
    title: str
    summary: str
    url: str | None = None
    link: str | None = None
    published: datetime | None = None
    author: str | None = None
    source: str | None = None
    lang: str | None = None
    content_hash: str = ""
    fingerprint: int = 0

    def __reduce__(self) -> tuple[type[Item], tuple[object, ...]]:
        # Items cross from the parse workers by pickle; a frozen slots dataclass pickles
        # through dataclasses.fields() on every object, four times slower than this.
        return (
            Item,
            (
                self.key,
                self.feed_url,
                self.title,
                self.summary,
                self.url,
                self.link,
                self.published,
                self.author,
                self.source,
                self.lang,
                self.content_hash,
                self.fingerprint,
            ),
        )


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence behind a score."""

    term: str
    field: str
    position: int
    weight: float
    rule: str

    def __str__(self) -> str:
        sign = "+" if self.weight >= 0 else ""
        return f"{self.rule}: '{self.term}' in {self.field}@{self.position} ({sign}{self.weight:g})"


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic an item matched, with its score, severity and reasons."""

    topic: str
    score: float
    severity: Severity = "digest"
    reasons: tuple[Reason, ...] = ()
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """A stored match as reports, digests and the CLI see it."""

    id: int
    item_id: int
    feed_url: str
    feed_name: str | None
    url: str | None
    title: str
    summary: str
    published: datetime | None
    topic: str
    score: float
    severity: str
    reasons: tuple[Reason, ...]
    matched_at: datetime
    story: str | None = None
    also_in: tuple[str, ...] = field(default_factory=tuple)
    urgent: bool = False
    #: the event the item reports (copies of one story, and outlets' own reports of one
    #: happening, share it); ``None`` for items stored before events were kept
    event: str | None = None
    #: the item's title before its last amendment, when the feed changed it
    previous_title: str | None = None

    def as_json(self) -> dict[str, object]:
        published = plausible_date(self.published)
        return {
            "id": self.id,
            "item_id": self.item_id,
            "feed_url": self.feed_url,
            "feed_name": self.feed_name,
            "url": self.url,
            "title": self.title,
            "published": published.isoformat() if published else None,
            "topic": self.topic,
            "score": self.score,
            "severity": self.severity,
            "reasons": [
                {
                    "term": r.term,
                    "field": r.field,
                    "position": r.position,
                    "weight": r.weight,
                    "rule": r.rule,
                }
                for r in self.reasons
            ],
            "matched_at": self.matched_at.isoformat(),
            "story": self.story,
            "event": self.event,
            "also_in": list(self.also_in),
            "previous_title": self.previous_title,
        }


#: the kinds of signal, each its own webhook event type (``docs/delivery.md``)
SignalKind = Literal["story.surge", "topic.spike", "source.health", "item.updated"]
SIGNAL_KINDS: tuple[str, ...] = ("story.surge", "topic.spike", "source.health", "item.updated")


@dataclass(frozen=True, slots=True)
class Signal:
    """Something beyond one match that fired once: a story surging across outlets, a topic
    spiking, a source gone broken or silent (or back), an item amended.

    ``key`` is its identity (the same decision made twice, by two workers or two passes, has
    the same key, so it is recorded once); ``subject`` is what it is about (a story id, a topic
    id, a feed URL, an item id); ``details`` holds the figures behind it as JSON values (the
    counts, the baseline, the outlets), documented per kind in ``docs/delivery.md``.
    """

    kind: SignalKind
    key: str
    subject: str
    title: str
    fired_at: datetime
    topics: tuple[str, ...] = ()
    urgent: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    id: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "key": self.key,
            "subject": self.subject,
            "title": self.title,
            "fired_at": self.fired_at.isoformat(),
            "topics": list(self.topics),
            "urgent": self.urgent,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signal:
        return cls(
            kind=data["kind"],
            key=data["key"],
            subject=data["subject"],
            title=data["title"],
            fired_at=datetime.fromisoformat(data["fired_at"]),
            topics=tuple(data.get("topics", ())),
            urgent=bool(data.get("urgent", False)),
            details=dict(data.get("details") or {}),
            id=int(data.get("id", 0)),
        )


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One story in a digest: its lead match, plus where else and under which topics it ran."""

    lead: MatchRecord
    topics: tuple[str, ...]
    also_in: tuple[str, ...] = ()
    match_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Digest:
    """What one message to one channel holds; built by ``monitor.digest``, rendered per channel.

    ``kind`` is ``digest`` for a scheduled digest, ``alert`` for an immediate alert batch, or
    a signal kind (``story.surge`` …) for a message carrying one signal. ``signals`` holds that
    signal, or, in a digest, the source notices and updated items listed at its foot.
    ``key`` is the idempotency key, stable across retries of the same delivery.
    """

    key: str
    channel: str
    kind: Literal["digest", "alert", "story.surge", "topic.spike", "source.health", "item.updated"]
    window_start: datetime
    window_end: datetime
    entries: tuple[DigestEntry, ...]
    timezone: str = "UTC"
    topic_labels: tuple[tuple[str, str], ...] = ()  # (topic id, its name) for people
    signals: tuple[Signal, ...] = ()

    @property
    def signal(self) -> Signal | None:
        """The signal this message is about, when it is a signal's own message."""
        return self.signals[0] if self.kind in SIGNAL_KINDS and self.signals else None

    def label(self, topic: str) -> str:
        """The name people see for ``topic``: its configured name, else its id."""
        return dict(self.topic_labels).get(topic, topic)

    @property
    def topic_titles(self) -> tuple[str, ...]:
        """The names of the topics in this digest, in ``topic_names`` order."""
        return tuple(self.label(t) for t in self.topic_names)

    @property
    def match_count(self) -> int:
        return sum(len(e.match_ids) or 1 for e in self.entries)

    @property
    def topic_names(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for e in self.entries:
            for t in e.topics:
                seen.setdefault(t, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """What to record about a feed after one poll (from the fetch result and cadence)."""

    polled_at: datetime
    next_poll_at: datetime
    success: bool
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    error_kind: str | None = None
    error: str | None = None
    consecutive_failures: int = 0
    disabled_reason: str | None = None
    items_per_day: float | None = None
    new_url: str | None = None
    unhealthy: bool = False
    #: entries of the parsed document past the cap (``None``: no document was parsed)
    entries_cut: int | None = None
    next_poll_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as stored, with the feeds that carried it and its matches."""

    id: int
    url: str | None
    title: str
    summary: str
    published: datetime | None
    lang: str | None
    story: str | None
    first_seen_at: datetime
    feeds: tuple[str, ...] = ()
    matches: tuple[TopicMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class ListedItem:
    """A stored item as one feed carried it, matched or not (``monitor items``)."""

    id: int
    feed_url: str
    feed_name: str | None
    url: str | None
    title: str
    published: datetime | None
    story: str | None
    topics: tuple[str, ...]
    first_seen_at: datetime | None = None
    previous_title: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "feed": self.feed_url,
            "feed_name": self.feed_name,
            "url": self.url,
            "title": self.title,
            "previous_title": self.previous_title,
            "published": self.published.isoformat() if self.published else None,
            "first_seen_at": self.first_seen_at.isoformat() if self.first_seen_at else None,
            "story": self.story,
            "topics": list(self.topics),
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row: a digest or alert for one channel and how its sending went."""

    id: int
    channel: str
    kind: str
    key: str
    status: str
    attempts: int
    parts_sent: int
    created_at: datetime
    window_start: datetime | None = None
    window_end: datetime | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    match_count: int = 0
    payload: str = ""
