"""The store's tables as SQLAlchemy Core tables, written by ``monitor.store.schemagen``
from the declarations in ``monitor.store.tables``: edit those, then run
``python -m monitor.store.schemagen``. ``tests/test_schema.py`` checks the two agree.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from monitor.store.coltypes import UTCDateTime

metadata = MetaData()

amendments_t = Table(
    "amendments",
    metadata,
    Column("id", Integer(), primary_key=True, nullable=False),
    Column("item_id", Integer(), nullable=False),
    Column("feed_id", Integer(), nullable=False),
    Column("amended_at", UTCDateTime(), nullable=True),
    Column("title", Text(), nullable=False),
    Column("previous_title", Text(), nullable=True),
    Column("before", Text(), nullable=False, default="{}"),
    Column("after", Text(), nullable=False, default="{}"),
    Column("decided", Boolean(), nullable=False, default=False),
    Index("ix_amendments_decided", "decided"),
    Index("ix_amendments_item_id", "item_id"),
)

articles_t = Table(
    "articles",
    metadata,
    Column("item_id", Integer(), ForeignKey("items.id"), primary_key=True, nullable=False),
    Column("url", Text(), nullable=False),
    Column("status", String(), nullable=False, default="pending"),
    Column("reason", Text(), nullable=True),
    Column("text", Text(), nullable=True),
    Column("cut", Boolean(), nullable=False, default=False),
    Column("title", Text(), nullable=True),
    Column("http_status", Integer(), nullable=True),
    Column("error_kind", String(), nullable=True),
    Column("error", Text(), nullable=True),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("etag", Text(), nullable=True),
    Column("last_modified", String(), nullable=True),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=True),
    Column("fetched_at", UTCDateTime(), nullable=True),
    Index("ix_articles_status", "status"),
)

deliveries_t = Table(
    "deliveries",
    metadata,
    Column("id", Integer(), primary_key=True, nullable=False),
    Column("channel", String(), nullable=False),
    Column("kind", String(), nullable=False, default="digest"),
    Column("key", String(), nullable=False),
    Column("window_start", UTCDateTime(), nullable=True),
    Column("window_end", UTCDateTime(), nullable=True),
    Column("status", String(), nullable=False, default="pending"),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("parts_sent", Integer(), nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("payload", Text(), nullable=False, default="{}"),
    Column("created_at", UTCDateTime(), nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    UniqueConstraint("key"),
    Index("ix_deliveries_channel", "channel"),
    Index("ix_deliveries_status", "status"),
)

delivery_matches_t = Table(
    "delivery_matches",
    metadata,
    Column("delivery_id", Integer(), ForeignKey("deliveries.id"), primary_key=True, nullable=False),
    Column("match_id", Integer(), ForeignKey("matches.id"), primary_key=True, nullable=False),
    Column("channel", String(), nullable=False),
    Column("kind", String(), nullable=False),
    UniqueConstraint("channel", "kind", "match_id", name="uq_delivery_matches_once"),
)

delivery_signals_t = Table(
    "delivery_signals",
    metadata,
    Column("delivery_id", Integer(), ForeignKey("deliveries.id"), primary_key=True, nullable=False),
    Column("signal_id", Integer(), ForeignKey("signals.id"), primary_key=True, nullable=False),
    Column("channel", String(), nullable=False),
    Column("kind", String(), nullable=False),
    UniqueConstraint("channel", "kind", "signal_id", name="uq_delivery_signals_once"),
)

event_terms_t = Table(
    "event_terms",
    metadata,
    Column("term", BigInteger(), primary_key=True, autoincrement=False, nullable=False),
    Column("item_id", BigInteger(), primary_key=True, autoincrement=False, nullable=False),
    sqlite_with_rowid=False,
)

feed_items_t = Table(
    "feed_items",
    metadata,
    Column("feed_id", Integer(), ForeignKey("feeds.id"), primary_key=True, nullable=False),
    Column("key", String(), primary_key=True, nullable=False),
    Column("item_id", Integer(), ForeignKey("items.id"), nullable=False),
    Column("content_hash", String(), nullable=False, default=""),
    Column("first_seen_at", UTCDateTime(), nullable=True),
    Column("last_seen_at", UTCDateTime(), nullable=True),
    Index("ix_feed_items_feed_seen", "feed_id", "first_seen_at"),
    Index("ix_feed_items_item_id", "item_id"),
)

feedback_t = Table(
    "feedback",
    metadata,
    Column("id", Integer(), primary_key=True, nullable=False),
    Column("item_id", Integer(), nullable=False),
    Column("topic", String(), nullable=False),
    Column("verdict", String(), nullable=False),
    Column("matched", Boolean(), nullable=False, default=False),
    Column("user", Text(), nullable=True),
    Column("via", String(), nullable=False, default="cli"),
    Column("token_id", String(), nullable=True),
    Column("title", Text(), nullable=False, default=""),
    Column("summary", Text(), nullable=False, default=""),
    Column("url", Text(), nullable=True),
    Column("lang", String(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=True),
    Index("ix_feedback_created_at", "created_at"),
    Index("ix_feedback_item_topic", "item_id", "topic"),
    Index("ix_feedback_token_id", "token_id", unique=True),
    Index("ix_feedback_topic", "topic"),
)

feeds_t = Table(
    "feeds",
    metadata,
    Column("id", Integer(), primary_key=True, nullable=False),
    Column("url", Text(), nullable=False),
    Column("name", Text(), nullable=True),
    Column("lang", String(), nullable=True),
    Column("interval_s", Float(), nullable=True),
    Column("configured", Boolean(), nullable=False, default=True),
    Column("etag", Text(), nullable=True),
    Column("last_modified", String(), nullable=True),
    Column("body_hash", String(), nullable=True),
    Column("next_poll_at", UTCDateTime(), nullable=True),
    Column("next_poll_reason", String(), nullable=True),
    Column("last_polled_at", UTCDateTime(), nullable=True),
    Column("last_success_at", UTCDateTime(), nullable=True),
    Column("last_status", Integer(), nullable=True),
    Column("last_error_kind", String(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("consecutive_failures", Integer(), nullable=False, default=0),
    Column("unhealthy", Boolean(), nullable=False, default=False),
    Column("disabled_reason", Text(), nullable=True),
    Column("items_per_day", Float(), nullable=True),
    Column("entries_cut", Integer(), nullable=False, default=0, server_default="0"),
    Column("lease_owner", String(), nullable=True),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=True),
    UniqueConstraint("url"),
    Index("ix_feeds_next_poll_at", "next_poll_at"),
)

item_events_t = Table(
    "item_events",
    metadata,
    Column(
        "item_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
        nullable=False,
    ),
    Column("event", String(), nullable=False),
    Column("profile", LargeBinary(), nullable=False),
    Column("at", UTCDateTime(), nullable=True),
    Index("ix_item_events_event", "event"),
)

items_t = Table(
    "items",
    metadata,
    Column("id", Integer(), primary_key=True, nullable=False),
    Column("url", Text(), nullable=True),
    Column("title", Text(), nullable=False),
    Column("summary", Text(), nullable=False, default=""),
    Column("published", UTCDateTime(), nullable=True),
    Column("author", Text(), nullable=True),
    Column("source", Text(), nullable=True),
    Column("lang", String(), nullable=True),
    Column("content_hash", String(), nullable=False, default=""),
    Column("fingerprint", BigInteger(), nullable=False, default=0),
    Column("story", String(), nullable=True),
    Column("previous_title", Text(), nullable=True),
    Column("sketch", LargeBinary(), nullable=True),
    Column("first_seen_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=True),
    Index("ix_items_first_seen", "first_seen_at"),
    Index("ix_items_lang", "lang"),
    Index("ix_items_story", "story"),
    Index("ix_items_url", "url"),
)

matches_t = Table(
    "matches",
    metadata,
    Column("id", Integer(), primary_key=True, nullable=False),
    Column("item_id", Integer(), ForeignKey("items.id"), nullable=False),
    Column("topic", String(), nullable=False),
    Column("score", Float(), nullable=False),
    Column("severity", String(), nullable=False, default="digest"),
    Column("urgent", Boolean(), nullable=False, default=False),
    Column("reasons", Text(), nullable=False, default="[]"),
    Column("matched_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=True),
    UniqueConstraint("item_id", "topic", name="uq_matches_item_topic"),
    Index("ix_matches_item_id", "item_id"),
    Index("ix_matches_matched_at", "matched_at"),
    Index("ix_matches_topic", "topic"),
    Index("ix_matches_topic_matched", "topic", "matched_at"),
)

meta_t = Table(
    "meta",
    metadata,
    Column("name", String(), primary_key=True, nullable=False),
    Column("value", Text(), nullable=False),
)

page_texts_t = Table(
    "page_texts",
    metadata,
    Column("feed_id", Integer(), primary_key=True, autoincrement=False, nullable=False),
    Column("text", Text(), nullable=False),
    Column("text_hash", String(), nullable=False),
    Column("seen_at", UTCDateTime(), nullable=True),
)

signals_t = Table(
    "signals",
    metadata,
    Column("id", Integer(), primary_key=True, nullable=False),
    Column("kind", String(), nullable=False),
    Column("key", String(), nullable=False),
    Column("subject", Text(), nullable=False),
    Column("fired_at", UTCDateTime(), nullable=True),
    Column("payload", Text(), nullable=False, default="{}"),
    UniqueConstraint("key"),
    Index("ix_signals_fired_at", "fired_at"),
    Index("ix_signals_kind_subject", "kind", "subject"),
)

story_bands_t = Table(
    "story_bands",
    metadata,
    Column("band", BigInteger(), primary_key=True, autoincrement=False, nullable=False),
    Column("item_id", Integer(), primary_key=True, nullable=False),
    sqlite_with_rowid=False,
)

workers_t = Table(
    "workers",
    metadata,
    Column("name", String(), primary_key=True, nullable=False),
    Column("seen_at", UTCDateTime(), nullable=True),
)
