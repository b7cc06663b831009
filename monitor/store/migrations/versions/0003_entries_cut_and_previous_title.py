"""feeds.entries_cut and items.previous_title

``entries_cut``: how many entries the feed's last parsed document had past the per-document cap
(``polling.max_entries``), so ``monitor feeds`` can say that a feed is cut. ``previous_title``:
an amended item's title before its last change, so a digest can show what it was.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "feeds", sa.Column("entries_cut", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("items", sa.Column("previous_title", sa.Text(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN: SQLite has it since 3.35 (no table copy, which the foreign
    # keys pointing at these tables would refuse)
    op.drop_column("items", "previous_title")
    op.drop_column("feeds", "entries_cut")
