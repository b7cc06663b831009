"""feeds.next_poll_reason: why the next poll is when it is

Stored with ``next_poll_at`` after every poll (interval, adaptive, max-age, backoff,
slow-backoff, retry-after, gone) and shown by ``monitor feeds``. Rows polled before this
revision have none until their next poll; re-planning treats them by their last outcome.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feeds", sa.Column("next_poll_reason", sa.String(), nullable=True))


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place; a copy of the table would have to be
    # dropped, which the foreign keys of feed_items refuse
    op.execute("ALTER TABLE feeds DROP COLUMN next_poll_reason")
