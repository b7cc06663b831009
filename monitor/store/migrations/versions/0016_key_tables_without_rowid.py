"""story_bands and event_terms stored in their primary key's B-tree on SQLite

Each of the two tables is a list of (key, item) pairs read by bounded range reads of its
primary key. As ordinary SQLite tables, each row was stored twice: in the table's row-id
B-tree, which nothing reads, and in the primary key's index, which the reads use. Made
``WITHOUT ROWID``, the rows live in the primary key's B-tree alone: one insert a row instead
of two, and half the pages (a new item writes about 10 story keys and 20 event terms). The
tables are rebuilt with their rows. PostgreSQL keeps a table and its primary key index
either way; nothing changes there.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TABLES = ("story_bands", "event_terms")


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in _TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
        ):
            pass


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
