"""Article text benchmark: what ``fulltext: auto`` costs a poll cycle of 1,000 feeds.

Starts the feed farm (``bench/feedfarm.py --articles 0.3``: 1,000 feeds, 30 % of them giving
one short sentence as each item's summary and linking to article pages the farm serves, about
10 KB each) and measures, each in a fresh Python process with its own SQLite file:

* **never**: one cold ``monitor.poller.run_cycle`` over every feed (every item new) with
  ``fulltext: never``, then an **update** cycle where 5 % of the feeds carry three new stories;
* **auto**: the same two cycles with ``fulltext: auto`` (the default), each followed by the
  article rounds ``monitor poll --once`` runs (``ArticleEnricher.drain``): every short-summary
  item's page fetched, extracted, stored and scored again.

Both run the daemon's wiring (``monitor.cli.runtime``) with the shipped watchlists. For each it
prints wall time and CPU time (this process and its parse workers), and the ratio of auto to
never: the cost of reading the articles, as a multiple of the same cycle without it.

    python bench/bench_fulltext.py                     # 1,000 feeds × 10 items, 3 repeats
    python bench/bench_fulltext.py --feeds 200 --repeat 1   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_poll import FarmProcess  # noqa: E402


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One cycle (and, with ``fulltext: auto``, its article rounds) in this process."""
    from feedfarm import plans

    from monitor.cli.runtime import make_enricher, make_fetcher, make_pipeline, matcher_for
    from monitor.config import FeedSpec, load_config
    from monitor.logs import setup_logging
    from monitor.poller import run_cycle
    from monitor.store import Store

    setup_logging(level="INFO", stream=open(os.devnull, "w"))
    urls: list[str] = spec["urls"]
    cfg = load_config(spec["config"])
    store = Store.open(f"sqlite:///{spec['db']}")
    if spec["kind"] == "cold":
        store.sync_feeds(
            [
                FeedSpec(url=u, name=f"Outlet {p.n}", lang=p.lang)
                for u, p in zip(urls, plans(len(urls)), strict=True)
            ],
            datetime.now(UTC),
        )
    matcher = matcher_for(cfg)
    fetcher = make_fetcher(cfg)
    pipeline = make_pipeline(cfg, store, fetcher, lambda: matcher)
    enricher = make_enricher(cfg, store, fetcher, pipeline, lambda: matcher)
    out: dict[str, Any] = {}

    async def run() -> None:
        async with fetcher:
            cpu0, t0 = _cpu(), time.perf_counter()
            report = await run_cycle(pipeline, urls=urls)
            out["cycle_s"] = time.perf_counter() - t0
            out["new_items"] = report.new_items
            out["new_matches"] = report.new_matches
            t1 = time.perf_counter()
            enriched = await enricher.drain()
            out["articles_s"] = time.perf_counter() - t1
            out["wall_s"] = time.perf_counter() - t0
            out["articles"] = sum(1 for r in enriched.fetched if r.status == "ok")
            out["article_errors"] = sum(1 for r in enriched.fetched if r.status == "error")
            out["body_matches"] = enriched.new_matches
            out["cpu0"] = cpu0

    asyncio.run(run())
    enricher.close()
    pipeline.close()  # joins the parse workers: their CPU time is counted from here
    out["cpu_s"] = _cpu() - out.pop("cpu0")
    store.close()
    return out


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"a measuring process failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def write_config(work: Path, mode: str, args: argparse.Namespace) -> Path:
    path = work / f"monitor-{mode}.yaml"
    path.write_text(
        "database: sqlite:///unused.db\n"
        "timezone: UTC\n"
        f"watchlists: ['{ROOT / 'config' / 'watchlists'}/*.yaml']\n"
        f"polling: {{timeout: {args.timeout}s, deadline: {args.deadline}s, "
        f"parse_workers: {args.workers}, fulltext: {mode}, robots: true}}\n"
        "channels:\n  - {name: console, type: console}\n",
        encoding="utf-8",
    )
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/bench_fulltext.py", description=__doc__)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--hosts", type=int, default=13)
    ap.add_argument("--articles", type=float, default=0.3, help="short-summary feeds (0.3)")
    ap.add_argument("--update", type=float, default=0.05, help="feeds updated (0.05)")
    ap.add_argument("--workers", type=int, default=2, help="parse worker processes (2)")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--deadline", type=float, default=15.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    args.latency, args.text, args.gzip, args.quick_faults = 0.0, "plain", False, False
    farm = FarmProcess(args)
    work = Path(tempfile.mkdtemp(prefix="bench-fulltext-"))
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        for r in range(args.repeat):
            for mode in ("never", "auto"):
                farm.command("state faults=0 update=0 seed=0")
                config = str(write_config(work, mode, args))
                db = work / f"{mode}-{r}.db"
                spec = {"urls": farm.urls, "config": config, "db": str(db), "kind": "cold"}
                rows.setdefault(("cold", mode), []).append(spawn(spec))
                farm.command(f"state faults=0 update={args.update} seed={r + 1}")
                rows.setdefault(("update", mode), []).append(spawn({**spec, "kind": "update"}))
                db.unlink(missing_ok=True)
    finally:
        farm.close()
        shutil.rmtree(work, ignore_errors=True)

    def med(kind: str, mode: str, key: str) -> float:
        return statistics.median(run[key] for run in rows[(kind, mode)])

    print(
        f"{args.feeds} feeds × {args.items} items, {args.articles:.0%} with short summaries; "
        f"median of {args.repeat}"
    )
    print(
        f"{'cycle':8} {'fulltext':9} {'wall s':>8} {'cpu s':>8} {'items':>6} {'articles':>9} "
        f"{'errors':>7} {'body matches':>13}"
    )
    for kind in ("cold", "update"):
        for mode in ("never", "auto"):
            runs = rows[(kind, mode)]
            print(
                f"{kind:8} {mode:9} {med(kind, mode, 'wall_s'):8.2f} "
                f"{med(kind, mode, 'cpu_s'):8.2f} {runs[0]['new_items']:6d} "
                f"{runs[0]['articles']:9d} {runs[0]['article_errors']:7d} "
                f"{runs[0]['body_matches']:13d}"
            )
        wall = med(kind, "auto", "wall_s") / med(kind, "never", "wall_s")
        cpu = med(kind, "auto", "cpu_s") / med(kind, "never", "cpu_s")
        print(f"{kind:8} auto / never: wall {wall:.2f}x, cpu {cpu:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
