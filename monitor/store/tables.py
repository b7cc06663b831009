"""Database tables, declared as SQLModel classes. These classes never leave ``monitor.store``,
and the store does not run on them: it runs on their SQLAlchemy Core form in ``schema``,
written from these by ``python -m monitor.store.schemagen`` (so that opening the store does
not import SQLModel); ``tests/test_schema.py`` checks the two agree.

Times are stored through :class:`UTCDateTime`, so both SQLite and PostgreSQL give back aware
UTC datetimes. Any change here needs a new Alembic migration in ``migrations/versions`` and
``schema.py`` written again; ``tests/test_store.py`` checks that the migrations and these
tables agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from monitor.store.coltypes import UTCDateTime


def _ts(**kw: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, **kw)


class FeedRow(SQLModel, table=True):
    __tablename__ = "feeds"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=Text, unique=True)
    name: str | None = Field(default=None, sa_type=Text)
    lang: str | None = None
    interval_s: float | None = None
    configured: bool = True
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = None
    body_hash: str | None = None
    next_poll_at: datetime | None = _ts(index=True)
    next_poll_reason: str | None = None
    last_polled_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    last_status: int | None = None
    last_error_kind: str | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    consecutive_failures: int = 0
    unhealthy: bool = False
    disabled_reason: str | None = Field(default=None, sa_type=Text)
    items_per_day: float | None = None
    entries_cut: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    lease_owner: str | None = None
    lease_until: datetime | None = _ts()
    created_at: datetime | None = _ts()


class ItemRow(SQLModel, table=True):
    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_first_seen", "first_seen_at"),
        Index(
            "ix_items_lang", "lang"
        ),  # the language filter and its choices (the page-index migration)
    )

    id: int | None = Field(default=None, primary_key=True)
    url: str | None = Field(default=None, sa_type=Text, index=True)
    title: str = Field(sa_type=Text)
    summary: str = Field(default="", sa_type=Text)
    published: datetime | None = _ts()
    author: str | None = Field(default=None, sa_type=Text)
    source: str | None = Field(default=None, sa_type=Text)
    lang: str | None = None
    content_hash: str = ""
    fingerprint: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    story: str | None = Field(default=None, index=True)
    previous_title: str | None = Field(default=None, sa_type=Text)
    #: the story signature (``monitor.stories.signature_to_bytes``), so that placing later
    #: items never shingles this one's text again; empty for items stored before it was kept
    sketch: bytes | None = Field(default=None, sa_type=LargeBinary)
    first_seen_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class FeedItemRow(SQLModel, table=True):
    """An item as carried by one feed; one item may be carried by several feeds."""

    __tablename__ = "feed_items"
    # one feed's items, newest first: the Items page's feed filter (the page-index migration)
    __table_args__ = (Index("ix_feed_items_feed_seen", "feed_id", "first_seen_at"),)

    feed_id: int = Field(foreign_key="feeds.id", primary_key=True)
    key: str = Field(primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    content_hash: str = ""
    first_seen_at: datetime | None = _ts()
    last_seen_at: datetime | None = _ts()


class MatchRow(SQLModel, table=True):
    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("item_id", "topic", name="uq_matches_item_topic"),
        # one topic's matches, newest first: the Matches page (the page-index migration)
        Index("ix_matches_topic_matched", "topic", "matched_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    topic: str = Field(index=True)
    score: float
    severity: str = "digest"
    urgent: bool = False
    reasons: str = Field(default="[]", sa_type=Text)
    matched_at: datetime | None = _ts(index=True)
    updated_at: datetime | None = _ts()


class StoryBandRow(SQLModel, table=True):
    """Locality-sensitive hash bands of recent items, to find near-duplicate stories fast.

    ``item_id`` names an item but is deliberately not a foreign key: the store writes an item's
    bands with it and deletes them before it, and a foreign key without an index of its own
    would make every item deletion scan this whole table (migration 0013).
    """

    __tablename__ = "story_bands"
    # on SQLite the rows live in the primary key's B-tree alone (migration 0016)
    __table_args__ = {"sqlite_with_rowid": False}

    band: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    item_id: int = Field(primary_key=True)


class DeliveryRow(SQLModel, table=True):
    """The outbox: one digest or alert batch for one channel, built once and sent until done.

    ``key`` is the idempotency key; it is unique, so however many workers build the digest of
    one window, one row (and so one message) exists.
    """

    __tablename__ = "deliveries"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(index=True)
    kind: str = "digest"
    key: str = Field(unique=True)
    window_start: datetime | None = _ts()
    window_end: datetime | None = _ts()
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    parts_sent: int = 0
    next_attempt_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_type=Text)
    payload: str = Field(default="{}", sa_type=Text)
    created_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()


class DeliveryMatchRow(SQLModel, table=True):
    """Which matches went into which delivery; a match enters a channel's digests once."""

    __tablename__ = "delivery_matches"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "match_id", name="uq_delivery_matches_once"),
    )

    delivery_id: int = Field(foreign_key="deliveries.id", primary_key=True)
    match_id: int = Field(foreign_key="matches.id", primary_key=True)
    channel: str
    kind: str


class MetaRow(SQLModel, table=True):
    """Facts about the database itself, by name. ``installation_id`` is a random id made when
    the database is created (migration 0013); idempotency keys include it, so two
    installations never send the same key for different content."""

    __tablename__ = "meta"

    name: str = Field(primary_key=True)
    value: str = Field(sa_type=Text)


class WorkerRow(SQLModel, table=True):
    """A `monitor run` process sharing the database, and when it last said it was alive
    (several workers split the due feeds between them)."""

    __tablename__ = "workers"

    name: str = Field(primary_key=True)
    seen_at: datetime | None = _ts()


class PageTextRow(SQLModel, table=True):
    """The text of a watched web page as last seen: its next version is compared with it,
    and what it added is the page's change item."""

    __tablename__ = "page_texts"

    feed_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    text: str = Field(sa_type=Text)
    text_hash: str
    seen_at: datetime | None = _ts()


class ArticleRow(SQLModel, table=True):
    """An item's article page: whether it is to be fetched, its extracted text (capped), or
    why there is none. One row per item, so one fetch per canonical URL whatever feeds carry
    it; deleted with its item."""

    __tablename__ = "articles"

    item_id: int = Field(foreign_key="items.id", primary_key=True)
    url: str = Field(sa_type=Text)
    #: pending (to fetch), ok (text stored), error (no text: see error_kind), skipped
    status: str = Field(default="pending", index=True)
    reason: str | None = Field(default=None, sa_type=Text)  # why it was fetched or skipped
    text: str | None = Field(default=None, sa_type=Text)
    cut: bool = False
    title: str | None = Field(default=None, sa_type=Text)
    http_status: int | None = None
    error_kind: str | None = None
    error: str | None = Field(default=None, sa_type=Text)
    attempts: int = 0
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = None
    next_attempt_at: datetime | None = _ts()
    lease_until: datetime | None = _ts()
    created_at: datetime | None = _ts()
    fetched_at: datetime | None = _ts()


class SignalRow(SQLModel, table=True):
    """A signal that fired (``monitor.signals``): a surge, a spike, a source notice, an
    amended item. ``key`` is unique, so a decision taken twice is recorded once; ``payload``
    is the signal as JSON (its figures: counts, baseline, outlets)."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_kind_subject", "kind", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    key: str = Field(unique=True)
    subject: str = Field(sa_type=Text)
    fired_at: datetime | None = _ts(index=True)
    payload: str = Field(default="{}", sa_type=Text)


class DeliverySignalRow(SQLModel, table=True):
    """Which signals went into which delivery; a signal enters a channel's messages of one
    kind once (its own message, or the foot of one digest)."""

    __tablename__ = "delivery_signals"
    __table_args__ = (
        UniqueConstraint("channel", "kind", "signal_id", name="uq_delivery_signals_once"),
    )

    delivery_id: int = Field(foreign_key="deliveries.id", primary_key=True)
    signal_id: int = Field(foreign_key="signals.id", primary_key=True)
    channel: str
    kind: str


class AmendmentRow(SQLModel, table=True):
    """A matched item whose text changed: its matches (topic → severity, JSON) before and
    after. ``decided`` once the signal pass has looked at it. ``item_id`` is not a foreign
    key, for the reason given on :class:`StoryBandRow`."""

    __tablename__ = "amendments"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(index=True)
    feed_id: int
    amended_at: datetime | None = _ts()
    title: str = Field(sa_type=Text)
    previous_title: str | None = Field(default=None, sa_type=Text)
    before: str = Field(default="{}", sa_type=Text)
    after: str = Field(default="{}", sa_type=Text)
    decided: bool = Field(default=False, index=True)


class FeedbackRow(SQLModel, table=True):
    """One judgement of one item for one topic (``monitor.feedback.Judgement``). Rows are
    never updated: the newest of an item and topic stands, the older ones are its history.

    The item's text is kept as it was judged, so labels survive the item being pruned or
    amended; ``item_id`` is therefore not a foreign key (as in ``story_bands``).
    ``token_id`` is the digest of the digest-link token that recorded the row, unique, so a
    link records at most once.
    """

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_item_topic", "item_id", "topic"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int
    topic: str = Field(index=True)
    verdict: str
    matched: bool = False
    user: str | None = Field(default=None, sa_type=Text)
    via: str = "cli"
    token_id: str | None = Field(default=None, unique=True, index=True)
    title: str = Field(default="", sa_type=Text)
    summary: str = Field(default="", sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    lang: str | None = None
    created_at: datetime | None = _ts(index=True)


class ItemEventRow(SQLModel, table=True):
    """The event an item reports (``monitor.events``): copies of one story share their story's
    event, and outlets' own reports of one happening share one event. ``profile`` is the item's
    event terms (``monitor.events.profile_to_bytes``); ``at`` its time (published, else first
    seen). ``item_id`` is not a foreign key, as for story bands (migration 0013); on SQLite it
    is the row id (``INTEGER``), so reading an item's event is one B-tree read (migration
    0015)."""

    __tablename__ = "item_events"

    item_id: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
        )
    )
    event: str = Field(index=True)
    profile: bytes = Field(sa_type=LargeBinary)
    at: datetime | None = _ts()


class EventTermRow(SQLModel, table=True):
    """The event terms of recent items, to find the items a new one may report the same event
    as (and how common each term is in the window) by bounded index reads."""

    __tablename__ = "event_terms"
    __table_args__ = {"sqlite_with_rowid": False}  # as story_bands (migration 0016)

    term: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    item_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
