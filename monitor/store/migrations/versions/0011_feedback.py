"""feedback: an analyst's judgements of items for topics

One row per judgement ("relevant" or "not relevant" of one item for one topic), never
updated: the newest of an item and topic stands and the older ones are its history. The
item's text is kept as judged, so the labels outlive the item.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("user", sa.Text(), nullable=True),
        sa.Column("via", sa.String(), nullable=False),
        sa.Column("token_id", sa.String(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("lang", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_item_topic", "feedback", ["item_id", "topic"])
    op.create_index("ix_feedback_topic", "feedback", ["topic"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_index("ix_feedback_token_id", "feedback", ["token_id"], unique=True)


def downgrade() -> None:
    op.drop_table("feedback")
