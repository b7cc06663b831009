"""Pruning old items: time of ``Store.prune`` as the story-key table grows, before and after
migration 0002 (which dropped the foreign key from ``story_bands`` to ``items``).

Builds SQLite stores of ``--items`` and twice as many items, ``--keys`` story keys each (the
cold benchmark cycle stores about 8 a feed item; long texts have up to 16), of which
``--prune`` unmatched items are old enough to go, and times one prune of each. The same stores
downgraded to schema 0001 (with the foreign key) are the baseline of the same run.

    python bench/bench_prune.py                     # 30,000 and 60,000 items
    python bench/bench_prune.py --items 10000       # quicker

Rows are written with plain inserts, not through the poll pipeline: only their number and
layout matter here.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alembic import command
from sqlalchemy import insert

from monitor.store import Store
from monitor.store.migrate import alembic_config
from monitor.store.tables import FeedItemRow, ItemRow, StoryBandRow

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=90)


class _Spec:
    url, name, lang, interval = "https://example.org/feed.xml", "Example", "en", None


def build(path: Path, *, schema: str, items: int, keys: int, old: int, seed: int = 1) -> Store:
    store = Store.open(f"sqlite:///{path}")
    if schema != "head":
        cfg = alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, schema)
    store.sync_feeds([_Spec()], NOW)
    [feed] = store.feeds()
    rng = random.Random(seed)
    item_rows = [
        {
            "id": n + 1,
            "url": f"https://example.org/{n}",
            "title": f"Item {n}",
            "summary": "",
            "content_hash": f"h{n}",
            "fingerprint": n + 1,
            "first_seen_at": OLD if n < old else NOW,
            "updated_at": NOW,
        }
        for n in range(items)
    ]
    links = [
        {"feed_id": feed.id, "key": f"k{n}", "item_id": n + 1, "first_seen_at": NOW}
        for n in range(items)
    ]
    bands = [
        {"band": rng.getrandbits(63), "item_id": n + 1} for n in range(items) for _ in range(keys)
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(ItemRow.__table__), item_rows)  # type: ignore[attr-defined]
        conn.execute(insert(FeedItemRow.__table__), links)  # type: ignore[attr-defined]
        # the old items' keys stay, as if they were younger than the story window
        conn.execute(insert(StoryBandRow.__table__), bands)  # type: ignore[attr-defined]
    return store


def measure(schema: str, items: int, keys: int, old: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as folder:
        store = build(Path(folder) / "prune.db", schema=schema, items=items, keys=keys, old=old)
        try:
            t0 = time.perf_counter()
            pruned = store.prune(unmatched_before=NOW - timedelta(days=30), bands_before=OLD)
            elapsed = time.perf_counter() - t0
        finally:
            store.close()
    assert pruned == old, (pruned, old)
    return pruned, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=30_000, help="items in the smaller store")
    parser.add_argument("--keys", type=int, default=8, help="story keys per item (8)")
    parser.add_argument("--prune", type=int, default=1_000, help="old items to prune (1,000)")
    args = parser.parse_args(argv)
    print(f"{'schema':<28} {'items':>7} {'key rows':>9} {'pruned':>7} {'s':>7} {'ms/item':>8}")
    for label, schema in (("0001 (foreign key)", "0001"), ("current (no foreign key)", "head")):
        for items in (args.items, 2 * args.items):
            pruned, elapsed = measure(schema, items, args.keys, args.prune)
            print(
                f"{label:<28} {items:>7,} {items * args.keys:>9,} {pruned:>7,} "
                f"{elapsed:>7.2f} {1000 * elapsed / pruned:>8.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
