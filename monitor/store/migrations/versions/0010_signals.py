"""signals, delivery_signals, amendments

``signals``: every signal that fired (a story surging, a topic spiking, a source failing,
silent or back, an amended item), once per key, with its figures. ``delivery_signals``: which
signals went into which delivery, so a signal reaches a channel once. ``amendments``: matched
items whose text changed, with their matches before and after, for the signal pass to judge.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_signals_fired_at", "signals", ["fired_at"])
    op.create_index("ix_signals_kind_subject", "signals", ["kind", "subject"])
    op.create_table(
        "delivery_signals",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"]),
        sa.ForeignKeyConstraint(["signal_id"], ["signals.id"]),
        sa.PrimaryKeyConstraint("delivery_id", "signal_id"),
        sa.UniqueConstraint("channel", "kind", "signal_id", name="uq_delivery_signals_once"),
    )
    op.create_table(
        "amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("amended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("previous_title", sa.Text(), nullable=True),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("decided", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_amendments_item_id", "amendments", ["item_id"])
    op.create_index("ix_amendments_decided", "amendments", ["decided"])


def downgrade() -> None:
    op.drop_table("amendments")
    op.drop_table("delivery_signals")
    op.drop_index("ix_signals_kind_subject", table_name="signals")
    op.drop_index("ix_signals_fired_at", table_name="signals")
    op.drop_table("signals")
