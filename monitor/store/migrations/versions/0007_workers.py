"""workers: the `monitor run` processes sharing the database

Each worker writes its name and the time at every poll tick, and reads how many others did so
recently, so that feeds falling due together are split between the workers instead of taken
by whichever claims first. Rows of workers that stopped saying so are deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("workers")
