"""The text index behind the pages' search: a case-insensitive substring of an item's title
or summary, found without reading every stored text.

Owns: the search condition for a needle, and bringing SQLite's index up to date. On SQLite the
index is an FTS5 table with the trigram tokenizer over the items table's own text (migration
``*_text_search``). A new item's id is queued in ``search_pending`` by a trigger, and
:meth:`TextIndex.catch_up` (the daemon's ``search`` job) moves queued items into the index in
batches; queued items are searched by ``LIKE``, so a search never misses an item the job has
not reached yet. On PostgreSQL ``ILIKE`` is the condition and the ``pg_trgm`` GIN indexes
answer it; PostgreSQL keeps them up to date itself. A needle shorter than three characters has
no trigram and is searched unindexed, and so is one the index finds in many items: reading
items newest first then fills a page sooner than collecting every hit. Decides nothing; must
not import fetch, deliver, pipeline, scheduler, web or cli.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, literal_column, or_, select, text
from sqlalchemy.engine import Connection

from monitor.store.schema import items_t
from monitor.store.sql import translated

#: the FTS5 table over items(title, summary) on SQLite
FTS_TABLE = "items_text"
#: the ids of items not yet in the FTS5 table
PENDING = "search_pending"
#: PostgreSQL's trigram indexes, by name: the column each covers
TRGM_INDEXES = {"ix_items_title_trgm": "title", "ix_items_summary_trgm": "summary"}
#: schema objects the ORM's tables do not describe (for comparing the two)
OBJECTS = frozenset(
    {FTS_TABLE, PENDING, *(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "docsize", "config"))}
    | set(TRGM_INDEXES)
)
#: hits from which a needle is common: a page of its newest items is found sooner by reading
#: items newest first than by collecting every hit (88,000 hits take 190 ms from the index)
COMMON = 1000
#: items added to the index per transaction: big enough to be cheap per item (about 60 µs
#: against 200 µs one at a time), small enough that pollers never wait long for the lock
BATCH = 5000

_QUEUED: Select[Any] = select(literal_column("id")).select_from(text(PENDING))


def _like(needle: str) -> ColumnElement[bool]:
    i = items_t.c
    return or_(
        i.title.contains(needle, autoescape=True), i.summary.contains(needle, autoescape=True)
    )


def _phrase(needle: str) -> str:
    """``needle`` as one FTS5 string: with the trigram tokenizer a phrase matches wherever the
    text holds it as a substring."""
    return '"' + needle.replace('"', '""') + '"'


def condition(
    needle: str, dialect: str, indexed: bool, *, common: bool = False
) -> ColumnElement[bool]:
    """Items whose title or summary holds ``needle`` (stripped), case-insensitively.
    ``indexed``: whether this database has the index (:meth:`TextIndex.indexed`); ``common``:
    whether the needle is in so many items that reading newest first finds a page sooner
    than collecting every hit from the index (:meth:`TextIndex.common`)."""
    needle = needle.strip()
    if dialect == "sqlite":
        if common or not indexed or len(needle) < 3:
            return _like(needle)  # SQLite's LIKE ignores case already
        hits: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text(FTS_TABLE))
            .where(text(f"{FTS_TABLE} MATCH :needle").bindparams(needle=_phrase(needle)))
        )
        return or_(items_t.c.id.in_(hits), and_(items_t.c.id.in_(_QUEUED), _like(needle)))
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    i = items_t.c
    return or_(i.title.ilike(pattern, escape="\\"), i.summary.ilike(pattern, escape="\\"))


class TextIndex:
    """The search index of one database. Thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._indexed: bool | None = None

    @translated
    def indexed(self) -> bool:
        """Whether the database has the index (the migration makes it where it can)."""
        if self._indexed is None:
            with self.engine.connect() as conn:
                self._indexed = _has_index(conn)
        return self._indexed

    @translated
    def common(self, needle: str, *, hits: int = COMMON) -> bool:
        """Whether SQLite's index holds ``needle`` in at least ``hits`` items (reading the
        index no further than that: a few milliseconds)."""
        needle = needle.strip()
        if self.engine.dialect.name != "sqlite" or len(needle) < 3 or not self.indexed():
            return False
        probe = text(
            f"SELECT count(*) FROM (SELECT rowid FROM {FTS_TABLE} "
            f"WHERE {FTS_TABLE} MATCH :needle LIMIT :n)"
        )
        with self.engine.connect() as conn:
            found = conn.execute(probe, {"needle": _phrase(needle), "n": hits}).scalar_one()
        return int(found) >= hits

    def condition(self, needle: str) -> ColumnElement[bool]:
        """The search condition for ``needle`` in this database (:func:`condition`)."""
        return condition(
            needle, self.engine.dialect.name, self.indexed(), common=self.common(needle)
        )

    @translated
    def catch_up(self, *, batch: int = BATCH) -> int:
        """Move the items queued for SQLite's index into it, ``batch`` per transaction, until
        none is left; returns how many were added. Nothing to do on PostgreSQL or without
        the index."""
        if self.engine.dialect.name != "sqlite" or not self.indexed():
            return 0
        done = 0
        while True:
            with self.engine.begin() as conn:
                # the first statement writes, so the lock is taken before the queue is read:
                # two daemons on one file never index one row twice
                params = {"n": batch}
                head = f"SELECT id FROM {PENDING} ORDER BY id LIMIT :n"
                added = conn.execute(
                    text(
                        f"INSERT INTO {FTS_TABLE} (rowid, title, summary) "
                        f"SELECT id, title, summary FROM items WHERE id IN ({head})"
                    ),
                    params,
                ).rowcount
                taken = conn.execute(
                    text(f"DELETE FROM {PENDING} WHERE id IN ({head})"), params
                ).rowcount
            done += max(added, 0)
            if taken < batch:
                return done

    @translated
    def pending(self) -> int:
        """Items not yet in the index (0 on PostgreSQL or without the index)."""
        if self.engine.dialect.name != "sqlite" or not self.indexed():
            return 0
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {PENDING}")).scalar_one())


def _has_index(conn: Connection) -> bool:
    if conn.dialect.name == "sqlite":
        found = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
            {"n": FTS_TABLE},
        ).first()
        return found is not None
    found = conn.execute(
        text("SELECT 1 FROM pg_indexes WHERE indexname = :n AND schemaname = current_schema()"),
        {"n": next(iter(TRGM_INDEXES))},
    ).first()
    return found is not None
