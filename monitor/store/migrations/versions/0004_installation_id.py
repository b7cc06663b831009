"""a random installation id, kept in the new meta table

Idempotency keys were derived from the channel name and the window only, so two databases
with a channel of the same name sent the same key for different digests in the same minute,
and a receiver that drops keys it has seen lost one. Keys now include this id.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "meta",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(meta, [{"name": "installation_id", "value": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("meta")
