"""The web pages with a large store: time of each page and filter, served by uvicorn and
asked over HTTP, with and without the page indexes (migrations ``*_page_indexes`` and
``*_text_search``).

Builds a store of ``--items`` items from ``--feeds`` feeds over 30 days (one in ``--every``
matched, one in five carried by a second feed, one in three in English or French...), then
asks each page ``--repeat`` times with httpx and prints the median and 95th percentile. The
baseline of the same run is ``/healthz`` (the framework and server alone, no database), so
each page's figure is also given as a multiple of it. The same store downgraded to the
schema before the page indexes (and so without the text index) is measured after.

    python bench/bench_web.py                                   # SQLite, 100,000 items
    python bench/bench_web.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/bench_web.py --items 20000 --repeat 5          # quicker
    python bench/bench_web.py --pending 2000   # 2,000 items not yet in SQLite's text index

Rows are written with plain inserts, not through the poll pipeline: only their number and
layout matter here. On PostgreSQL the tables are made in a schema of their own, dropped after.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import insert

from monitor.store import Store, search
from monitor.store.migrate import alembic_config
from monitor.store.tables import FeedItemRow, FeedRow, ItemRow, MatchRow
from tests.webapp import serving, web_config

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WORDS = (
    "budget minister tariff defence arctic radar trade climate housing election court ruling "
    "senate bill health transit energy pipeline wildfire census budget province treaty steel "
    "aluminium dairy lumber border procurement fighter jets satellite sovereignty"
).split()
TOPICS = ("norad", "tariffs")


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def fill(store: Store, items: int, feeds: int, every: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    t_feeds = FeedRow.__table__  # type: ignore[attr-defined]
    t_items = ItemRow.__table__  # type: ignore[attr-defined]
    t_fi = FeedItemRow.__table__  # type: ignore[attr-defined]
    t_m = MatchRow.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(
            insert(t_feeds),
            [
                {
                    "url": f"https://outlet{n}.example.org/feed.xml",
                    "name": f"Outlet {n}",
                    "consecutive_failures": n % 7 == 0 and 3 or 0,
                    "unhealthy": n % 13 == 0,
                    "last_error": "HTTP 503" if n % 7 == 0 else None,
                    "items_per_day": rng.uniform(1, 50),
                    "next_poll_at": NOW + timedelta(minutes=n),
                    "last_success_at": NOW - timedelta(minutes=n),
                }
                for n in range(1, feeds + 1)
            ],
        )
        for start in range(0, items, 5000):
            rows, carried, matched = [], [], []
            for n in range(start + 1, min(items, start + 5000) + 1):
                seen = NOW - timedelta(seconds=rng.uniform(0, 30 * 86400))
                rows.append(
                    {
                        "id": n,
                        "url": f"https://news.example.org/{n}",
                        # a handful of items carry a rarer word, as most searches find few
                        "title": _text(rng, 9) + (" icebreaker contract" if n % 8000 == 1 else ""),
                        "summary": _text(rng, 60),
                        "published": seen - timedelta(minutes=5),
                        "lang": rng.choice(("en", "en", "fr")),
                        "content_hash": f"h{n}",
                        "fingerprint": 0,
                        "story": f"s{n // 2}" if n % 5 == 0 else None,
                        "first_seen_at": seen,
                        "updated_at": seen,
                    }
                )
                feed = 1 + n % feeds
                carried.append(
                    {"feed_id": feed, "key": f"k{n}", "item_id": n, "first_seen_at": seen}
                )
                if n % 5 == 0:
                    carried.append(
                        {
                            "feed_id": 1 + (n + 1) % feeds,
                            "key": f"k{n}",
                            "item_id": n,
                            "first_seen_at": seen,
                        }
                    )
                if n % every == 0:
                    matched.append(
                        {
                            "item_id": n,
                            "topic": TOPICS[n % 2],
                            "score": rng.uniform(2, 9),
                            "severity": "alert" if n % 7 == 0 else "digest",
                            "reasons": '[["budget", "title", 0, 2.0, "group:x"]]',
                            "matched_at": seen,
                            "updated_at": seen,
                        }
                    )
            conn.execute(insert(t_items), rows)
            conn.execute(insert(t_fi), carried)
            if matched:
                conn.execute(insert(t_m), matched)


PAGES = (
    "/healthz",
    "/matches",
    "/matches?topic=norad",
    "/matches?severity=alert&lang=fr",
    "/matches?q=sovereignty",
    "/matches?q=icebreaker",
    "/matches?feed=3",
    "/matches?from=2026-11-01&to=2026-11-10",
    "/matches?page=20",
    "/items",
    "/items?q=sovereignty",
    "/items?q=icebreaker",
    "/items?q=no-such-words-anywhere",
    "/items?matched=no",
    "/items?feed=3&lang=fr",
    "/stories/10",
    "/feeds",
    "/topics",
)


def measure(base: str, repeat: int) -> dict[str, tuple[float, float]]:
    out = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for page in PAGES:
            for _ in range(2):
                assert client.get(page).status_code == 200, page
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                client.get(page)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            out[page] = (statistics.median(times), times[int(0.95 * (len(times) - 1))])
    return out


def _unindex_newest(store: Store, n: int) -> None:
    """Take the newest ``n`` items out of the FTS5 table and queue them again."""
    fts, pending = search.FTS_TABLE, search.PENDING
    newest = f"SELECT id FROM items ORDER BY id DESC LIMIT {int(n)}"
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO {fts} ({fts}, rowid, title, summary) "
                f"SELECT 'delete', id, title, summary FROM items WHERE id IN ({newest})"
            )
        )
        conn.execute(sa.text(f"INSERT INTO {pending} (id) {newest}"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--every", type=int, default=10, help="one item in EVERY is matched")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--url", help="a PostgreSQL URL (default: a SQLite file)")
    ap.add_argument(
        "--pending",
        type=int,
        default=0,
        help="leave the newest PENDING items out of SQLite's text index, as if the search "
        "job had not reached them yet",
    )
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp())
    schema = None
    if args.url:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(args.url)
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        url = args.url + ("&" if "?" in args.url else "?") + f"options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{folder / 'bench.db'}"
    store = Store.open(url)
    try:
        t0 = time.perf_counter()
        fill(store, args.items, args.feeds, args.every)
        t1 = time.perf_counter()
        indexed = store.text_index.catch_up()  # what the daemon's search job does
        t_index = time.perf_counter() - t1
        if args.pending and store.dialect == "sqlite":
            _unindex_newest(store, args.pending)
        with store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
        if indexed:
            print(
                f"text index: {indexed} items in {t_index:.1f} s "
                f"({t_index / indexed * 1e6:.0f} µs an item); "
                f"{store.text_index.pending()} left out of it"
            )
        print(
            f"{store.dialect}: {args.items} items, {args.items // args.every} matches, "
            f"{args.feeds} feeds, built in {time.perf_counter() - t0:.1f} s"
        )
        cfg = web_config(folder)
        results = {}
        with serving(store, cfg, now=NOW) as base:
            results["with"] = measure(base, args.repeat)
        with store.engine.begin() as conn:
            alembic = alembic_config()
            alembic.attributes["connection"] = conn
            script = ScriptDirectory.from_config(alembic)
            indexes = next(r for r in script.walk_revisions() if "page indexes" in (r.doc or ""))
            command.downgrade(alembic, str(indexes.down_revision))
        with serving(store, cfg, now=NOW) as base:
            results["without"] = measure(base, args.repeat)
    finally:
        store.close()
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    base_ms = results["with"]["/healthz"][0]
    print(
        "\n| page | median ms | p95 ms | × /healthz | median ms without the page and text indexes |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for page in PAGES:
        med, p95 = results["with"][page]
        print(
            f"| `{page}` | {med:.1f} | {p95:.1f} | {med / base_ms:.1f} | "
            f"{results['without'][page][0]:.1f} |"
        )


if __name__ == "__main__":
    main()
