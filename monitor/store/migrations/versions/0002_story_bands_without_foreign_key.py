"""story_bands without a foreign key to items

The story-key table is an index the store keeps itself: it writes an item's keys with the item
and deletes them before the item. With a foreign key and no index on ``item_id`` (its primary
key starts with ``band``), every deleted item made the database scan the whole table for rows
still pointing at it: pruning 200 items from a database of 30,000 took 2.2 s instead of 0.15 s,
and the cost grows with the number of feeds. Every key inserted also paid a lookup of its item.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite cannot drop a constraint: copy the rows into a table made without it.
        op.execute(
            "CREATE TABLE story_bands_new (band BIGINT NOT NULL, item_id INTEGER NOT NULL, "
            "PRIMARY KEY (band, item_id))"
        )
        op.execute("INSERT INTO story_bands_new (band, item_id) SELECT band, item_id FROM story_bands")
        op.execute("DROP TABLE story_bands")
        op.execute("ALTER TABLE story_bands_new RENAME TO story_bands")
        return
    for fk in sa.inspect(bind).get_foreign_keys("story_bands"):
        if fk["name"]:  # PostgreSQL names every constraint
            op.drop_constraint(fk["name"], "story_bands", type_="foreignkey")


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DELETE FROM story_bands WHERE item_id NOT IN (SELECT id FROM items)")
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE TABLE story_bands_old (band BIGINT NOT NULL, item_id INTEGER NOT NULL, "
            "PRIMARY KEY (band, item_id), FOREIGN KEY(item_id) REFERENCES items (id))"
        )
        op.execute("INSERT INTO story_bands_old (band, item_id) SELECT band, item_id FROM story_bands")
        op.execute("DROP TABLE story_bands")
        op.execute("ALTER TABLE story_bands_old RENAME TO story_bands")
        return
    op.create_foreign_key(None, "story_bands", "items", ["item_id"], ["id"])
