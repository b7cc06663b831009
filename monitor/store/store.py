"""The database: feeds, items, matches, stories and the delivery outbox, as one facade.

Owns: opening the database (bringing its schema up to date) and composing the store's
per-area parts: ``feeds`` (the configured list, claims, leases, polls' outcomes), ``ingest``
(what is known of polls' items, and writing plans), ``storyindex`` (candidate keys and
signatures), ``reads`` (matches and items as people see them, retention) and ``deliveries``
(the outbox), over the engine and SQL helpers of ``sql``. Returns ``monitor.model`` values
only; table classes never leave this package.
Must not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.errors import StoreError
from monitor.intents import SaveResult
from monitor.store import articles, migrate, pages, search
from monitor.store.deliveries import DeliveriesMixin
from monitor.store.feeds import FeedsMixin, FeedSpecLike
from monitor.store.ingest import IngestMixin
from monitor.store.schema import meta_t
from monitor.store.signals import SignalStore
from monitor.store.sql import make_engine, translated
from monitor.store.storyindex import STORY_CACHE_SIZE, StoryCache

if TYPE_CHECKING:
    from monitor.store.feedback import FeedbackStore


class Store(FeedsMixin, IngestMixin, DeliveriesMixin):
    """Access to the database. Thread-safe: every method takes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._stories = StoryCache(STORY_CACHE_SIZE)
        self.articles = articles.ArticleStore(engine)
        self.signals = SignalStore(engine)  # signals' own tables and queries

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect, and bring the schema up to date unless ``upgrade`` is false."""
        try:
            engine = make_engine(url)
            if upgrade:
                migrate.upgrade(engine)
            elif not migrate.at_head(engine):
                raise StoreError(
                    f"the database at {engine.url.render_as_string(hide_password=True)} "
                    "is not at the current schema; `monitor run` (or any command that opens "
                    "it) upgrades it"
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the database: {exc}") from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @functools.cached_property
    def text_index(self) -> search.TextIndex:
        """The pages' text search index (:mod:`monitor.store.search`)."""
        return search.TextIndex(self.engine)

    @functools.cached_property
    def feedback(self) -> FeedbackStore:
        """Judgements of items (:mod:`monitor.store.feedback`)."""
        from monitor.store.feedback import FeedbackStore

        return FeedbackStore(self.engine)

    @translated
    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    @translated
    def installation_id(self) -> str:
        """This database's random installation id (made when the schema was created; made
        again here if the row was lost, the first writer's id winning a race)."""
        query = select(meta_t.c.value).where(meta_t.c.name == "installation_id")
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        if found is not None:
            return str(found)
        try:
            with self.engine.begin() as conn:
                conn.execute(meta_t.insert().values(name="installation_id", value=uuid4().hex))
        except IntegrityError:
            pass
        with self.engine.connect() as conn:
            return str(conn.execute(query).scalar_one())

    @translated
    def page_text(self, feed_id: int) -> str | None:
        """A watched page's text as last seen (:mod:`monitor.store.pages`)."""
        return pages.page_text(self.engine, feed_id)

    @translated
    def save_page_text(self, feed_id: int, text: str, text_hash: str, now: datetime) -> None:
        pages.save_page_text(self.engine, feed_id, text, text_hash, now)


__all__ = [
    "FeedSpecLike",
    "SaveResult",
    "Store",
    "make_engine",
]
