"""text search: a substring index over items' titles and summaries

The pages' text search is a case-insensitive substring of title or summary. Without an index
a search that finds little reads every stored text (0.7 s on SQLite, 2 s on PostgreSQL at
100,000 items).

SQLite gets an FTS5 table with the trigram tokenizer over the items table's own text (external
content: nothing is stored twice). Adding rows one by one from a trigger costs about 200 µs an
item, 4× what the same rows cost added in batches, so a new item only has its id queued in
``search_pending`` (a trigger) and the daemon's ``search`` job moves queued items into the
index in batches. Triggers keep indexed rows in step when they are amended or deleted. The
queue, not the highest id indexed, says what is missing: SQLite may give a new item the id of
a deleted one.

PostgreSQL gets ``pg_trgm`` GIN indexes on both columns, which ``ILIKE`` uses. Where the
extension cannot be made (no privilege), search works as before, unindexed, and a warning
says so.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

log = logging.getLogger("monitor.store")

# the names monitor.store.search reads; a migration keeps its own copy, as it must not change
FTS_TABLE = "items_text"
PENDING = "search_pending"
TRGM_INDEXES = {"ix_items_title_trgm": "title", "ix_items_summary_trgm": "summary"}


def fts_available(bind: sa.Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (3.34 and later)."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(
                "CREATE VIRTUAL TABLE temp.fts_probe USING fts5(t, tokenize='trigram')"
            )
            bind.exec_driver_sql("DROP TABLE temp.fts_probe")
    except sa.exc.DBAPIError:
        return False
    return True


def trgm_schema(bind: sa.Connection) -> str | None:
    """The schema pg_trgm is installed in, installing it where it is missing (in ``public``
    when there is one, so that dropping another schema never drops it); None when the
    extension cannot be made."""
    find = sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    )
    schema = bind.execute(find).scalar()
    if schema is not None:
        return str(schema)
    public = bind.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")).scalar()
    where = " SCHEMA public" if public else ""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS pg_trgm{where}")
    except sa.exc.DBAPIError as exc:
        log.warning("cannot make the pg_trgm extension: %s", exc.orig)
    found = bind.execute(find).scalar()
    return None if found is None else str(found)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if not fts_available(bind):
            log.warning(
                "this SQLite has no FTS5 trigram tokenizer (SQLite 3.34 or later has it): "
                "text search works, unindexed"
            )
            return
        op.execute(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, summary, "
            "content='items', content_rowid='id', tokenize='trigram')"
        )
        op.execute(f"CREATE TABLE {PENDING} (id INTEGER PRIMARY KEY)")
        op.execute(f"INSERT INTO {PENDING} (id) SELECT id FROM items")
        indexed = f"NOT EXISTS (SELECT 1 FROM {PENDING} WHERE id = old.id)"
        # 'delete' must be given the text exactly as it was indexed
        forget = (
            f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, title, summary) "
            f"SELECT 'delete', old.id, old.title, old.summary WHERE {indexed};"
        )
        op.execute(
            f"CREATE TRIGGER {FTS_TABLE}_ai AFTER INSERT ON items BEGIN "
            f"INSERT INTO {PENDING} (id) VALUES (new.id); END"
        )
        op.execute(
            f"CREATE TRIGGER {FTS_TABLE}_ad AFTER DELETE ON items BEGIN {forget} "
            f"DELETE FROM {PENDING} WHERE id = old.id; END"
        )
        op.execute(
            f"CREATE TRIGGER {FTS_TABLE}_au AFTER UPDATE OF title, summary ON items BEGIN "
            f"{forget} INSERT INTO {FTS_TABLE} (rowid, title, summary) "
            f"SELECT new.id, new.title, new.summary WHERE {indexed}; END"
        )
        return
    schema = trgm_schema(bind)
    if schema is None:
        log.warning(
            "the pg_trgm extension is not installed and cannot be made by this user "
            "(CREATE EXTENSION pg_trgm as a superuser makes it): text search works, unindexed"
        )
        return
    for name, column in TRGM_INDEXES.items():
        op.execute(f'CREATE INDEX {name} ON items USING gin ({column} "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {PENDING}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        return
    for name in TRGM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
