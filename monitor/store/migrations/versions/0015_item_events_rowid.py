"""item_events keyed by the table's own row id on SQLite

On SQLite a primary key declared ``BIGINT`` is an index beside the table: reading an item's
event was two B-tree reads (the index, then the row) and writing one two inserts. Declared
``INTEGER``, the key is the row id itself. Story placing reads the events of candidates spread
over the whole window, so in a large window each of those reads was two pages fetched from
outside the page cache instead of one. The table is rebuilt with its rows. PostgreSQL's
``BIGINT`` primary key is one index either way and stays as it is.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _key_type(new: sa.types.TypeEngine[int], old: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("item_events", recreate="always") as batch:
        batch.alter_column("item_id", type_=new, existing_type=old, existing_nullable=False)


def upgrade() -> None:
    _key_type(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _key_type(sa.BigInteger(), sa.Integer())
