"""items.sketch: each item's story signature, stored with it

Placing a new item in a story compares it with earlier items that share a candidate key. Their
signatures were computed again from their stored text whenever they were not in the store's
memory cache (about 150 µs an item), which made placing an item cost more as the story window
outgrew the cache. Items stored before this revision keep an empty sketch and are shingled from
their text as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("sketch", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN: SQLite has it since 3.35 (no table copy)
    op.drop_column("items", "sketch")
