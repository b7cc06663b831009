"""Scale-out benchmark: 1, 2 and 3 `monitor run` workers sharing one PostgreSQL database.

Usage::

    python bench/bench_workers.py [--feeds 1000] [--items 20] [--latency 0.1] [--hosts 13]
        [--workers 1,2,3] [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]

A feed farm (``python -m tests.feedserver``) serves the feeds from its own process, every
answer delayed by ``--latency`` seconds. For each worker count, in a fresh schema, the workers
are started together and the script measures:

* cold cycle: from start until every feed has been polled once (empty database: every item is
  parsed, scored and stored);
* warm cycle: every feed is made due again; until every feed has been polled again (nothing
  changed: conditional GETs answered 304 or unchanged bodies); ``--warm-cycles N`` repeats it
  and gives the mean.

It prints wall seconds and feeds per second for each, and how the polls of each cycle were
split between the workers (counted from their `event=poll` log lines): the warm cycle makes
every feed due at the same moment, where the first worker to claim used to take them all.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]


def start_farm(
    feeds: int, items: int, hosts: int, latency: float
) -> tuple[subprocess.Popen[str], list[str]]:
    farm = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.feedserver",
            "--feeds",
            str(feeds),
            "--items",
            str(items),
            "--hosts",
            str(hosts),
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert farm.stdout is not None
    bases = farm.stdout.readline().split()
    return farm, bases


def write_config(folder: Path, urls: list[str]) -> Path:
    (folder / "watchlists").mkdir()
    (folder / "watchlists" / "us-canada.yaml").write_text(
        (ROOT / "config" / "watchlists" / "us-canada.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    feeds = "".join(f'  - {{url: "{u}"}}\n' for u in urls)
    path = folder / "monitor.yaml"
    path.write_text(
        "timezone: UTC\nstatus: {listen: null}\n"
        "polling: {interval: 1h, min_interval: 1h, max_interval: 1h, jitter: 0%, "
        "concurrency: 50, per_host: 4, lease: 2m}\n"
        "channels: []\nfeeds:\n" + feeds,
        encoding="utf-8",
    )
    return path


def wait_all_polled(engine: sa.Engine, total: int, after: float | None) -> float:
    t0 = time.monotonic()
    query = "SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL"
    if after is not None:
        query += f" AND last_polled_at > to_timestamp({after})"
    while True:
        with engine.connect() as conn:
            done = conn.execute(sa.text(query)).scalar_one()
        if done >= total:
            return time.monotonic() - t0
        if time.monotonic() - t0 > 600:
            raise SystemExit(f"only {done} of {total} feeds polled after 10 minutes")
        time.sleep(0.05)


def polls_per_worker(logs: list[Path]) -> list[int]:
    counts = []
    for log in logs:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        counts.append(
            sum(
                1
                for line in lines
                if line.startswith("{") and json.loads(line).get("event") == "poll"
            )
        )
    return counts


@dataclass
class Result:
    cold_s: float
    warm_s: float
    items: int
    feeds: int
    cold_split: list[int]
    warm_split: list[int]


def run(n: int, database: str, urls: list[str], warm_cycles: int = 1) -> Result:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(database)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{database}{'&' if '?' in database else '?'}options=-csearch_path%3D{schema}"
    engine = sa.create_engine(url)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = write_config(Path(tmp), urls)
            env = {**os.environ, "MONITOR_DATABASE_URL": url}
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "monitor",
                    "--config",
                    str(cfg),
                    "feeds",
                    "--format",
                    "json",
                ],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
                cwd=tmp,
            )
            t0 = time.monotonic()
            logs = [Path(tmp) / f"worker{i}.log" for i in range(n)]
            for log in logs:
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "monitor",
                            "--config",
                            str(cfg),
                            "run",
                            "--tick",
                            "0.5",
                            "--log-format",
                            "json",
                        ],
                        env=env,
                        cwd=tmp,
                        stdout=log.open("w"),
                        stderr=subprocess.STDOUT,
                    )
                )
            wait_all_polled(engine, len(urls), None)
            cold = time.monotonic() - t0
            time.sleep(1)  # let the last poll lines reach the logs
            cold_split = polls_per_worker(logs)
            warm = 0.0
            for _ in range(warm_cycles):
                mark = time.time()
                with engine.begin() as conn:
                    conn.execute(sa.text("UPDATE feeds SET next_poll_at = now()"))
                warm += wait_all_polled(engine, len(urls), mark) / warm_cycles
                time.sleep(1)
            warm_split = [b - a for a, b in zip(cold_split, polls_per_worker(logs), strict=True)]
            with engine.connect() as conn:
                items = conn.execute(sa.text("SELECT count(*) FROM items")).scalar_one()
                share = conn.execute(
                    sa.text("SELECT count(*) FROM feed_items GROUP BY feed_id HAVING count(*) > 0")
                ).all()
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return Result(cold, warm, int(items), len(share), cold_split, warm_split)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--hosts", type=int, default=13)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--workers", default="1,2,3")
    ap.add_argument("--warm-cycles", type=int, default=1, help="warm cycles to average")
    ap.add_argument(
        "--database",
        default=os.environ.get(
            "MONITOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = ap.parse_args()
    farm, bases = start_farm(args.feeds, args.items, args.hosts, args.latency)
    urls = [f"{bases[n % len(bases)]}/f{n}.xml" for n in range(args.feeds)]
    print(
        f"{args.feeds} feeds × {args.items} items on {len(bases)} loopback hosts, "
        f"{args.latency * 1000:.0f} ms server latency, {os.cpu_count()} cores"
    )
    print(
        f"{'workers':>7} {'cold cycle s':>13} {'feeds/s':>8} {'warm cycle s':>13} {'feeds/s':>8}"
        f"  {'cold split':>16}  {'warm split':>16}"
    )
    try:
        for n in (int(x) for x in args.workers.split(",")):
            r = run(n, args.database, urls, args.warm_cycles)
            assert r.feeds == args.feeds, r
            cold, warm = "/".join(map(str, r.cold_split)), "/".join(map(str, r.warm_split))
            print(
                f"{n:>7} {r.cold_s:>13.1f} {args.feeds / r.cold_s:>8.0f} "
                f"{r.warm_s:>13.1f} {args.feeds / r.warm_s:>8.0f}  {cold:>16}  {warm:>16}",
                flush=True,
            )
    finally:
        assert farm.stdin is not None
        farm.stdin.close()
        farm.wait(timeout=30)


if __name__ == "__main__":
    main()
