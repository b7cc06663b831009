"""item_events and event_terms: which event each item reports

An event groups outlets' own reports of one happening, one level above copies of one story
(``monitor.events``). ``item_events`` holds each item's event, its event terms and its time;
``event_terms`` indexes the terms of recent items, so that placing a new item reads a bounded
number of rows. Neither refers to items by a foreign key (see migration 0002). Items stored
before this revision have no event: they are shown by their story, as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_events",
        sa.Column("item_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("profile", sa.LargeBinary(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index("ix_item_events_event", "item_events", ["event"])
    op.create_table(
        "event_terms",
        sa.Column("term", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("item_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("term", "item_id"),
    )


def downgrade() -> None:
    op.drop_table("event_terms")
    op.drop_index("ix_item_events_event", table_name="item_events")
    op.drop_table("item_events")
