"""page indexes: one topic's matches newest first, items by language, one feed's items

The web pages list a topic's matches newest first, filter items by language (and offer the
languages stored) and list one feed's items newest first; without these indexes each reads
the whole table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_matches_topic_matched", "matches", ["topic", "matched_at"])
    op.create_index("ix_items_lang", "items", ["lang"])
    op.create_index("ix_feed_items_feed_seen", "feed_items", ["feed_id", "first_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_feed_items_feed_seen", table_name="feed_items")
    op.drop_index("ix_items_lang", table_name="items")
    op.drop_index("ix_matches_topic_matched", table_name="matches")
