"""Polling benchmark: one poll cycle over a local farm of 1,000 feeds, against a naive client.

Starts the feed farm (``bench/feedfarm.py``: 1,000 feeds × 30 items, RSS and Atom, English and
French, spread over several loopback addresses) in its own process, then measures, each in a
fresh Python process so that its peak RSS is its own:

* **httpx, one client**: one ``httpx.AsyncClient`` downloads every feed, 50 at a time;
* **Fetcher**: the same downloads through ``monitor.fetch.Fetcher`` (a pool per host);
* **baseline**: the one-client download plus ``feedparser.parse`` of each body, the same
  concurrency: what a simple poller does;
* **cold**: one ``Pipeline.run_cycle`` of ``monitor`` into an empty SQLite file, with the default
  watchlists (fetch, parse in worker processes, normalise, dedupe, score, store);
* **article pass**: after the cold cycle, its article rounds run to completion
  (``ArticleEnricher.drain``, as ``monitor poll --once`` and the daemon run them): the pages of
  the feeds whose summaries are too short for ``fulltext: auto``;
* **warm**: the next cycle with nothing changed (304s, and unchanged bodies for feeds that send
  no validators), forced over all feeds with ``monitor.poller.run_cycle(pipeline, urls=...)``,
  from the database the article pass left;
* **update**: the next cycle with a fraction of the feeds carrying three new stories;

and the same with a fraction of the feeds faulty (errors, HTML pages, broken XML, redirect
loops, cut-off bodies, hangs and trickles; see ``bench/feedfarm.py``). Every scenario is repeated
and the median is printed, with the spread. Peak RSS is reported for the measuring process, for
its largest parse worker and for its largest other descendant (the short-lived process that
makes a new database's schema), the latter two as the kernel's high-water mark (``VmHWM``)
of each descendant, read every 0.2 s while the scenario runs. ``getrusage``'s
figure for children is not used for it: a child started with exec (the forkserver the
workers are forked from, ``ldconfig`` run by ``ctypes``) keeps as its maximum the RSS its
parent had when it started, not its own (it is still printed, as ``rss_children_rusage_mb``).

    python bench/bench_poll.py                       # the full table (about 10 minutes)
    python bench/bench_poll.py --repeat 1 --feeds 200   # a quick look
    python bench/bench_poll.py --only cold --profile /tmp/prof   # cProfile of one cold cycle
    python bench/bench_poll.py --only warm --fulltext never --cli-arg=--no-backlog-articles
    python bench/bench_poll.py --only warm --cli-wrap "py-spy record --threads -o /tmp/p.txt --"
    python bench/bench_poll.py --only warm --cli-checkout ../other   # another version's warm poll

(cProfile sees the event loop's thread only; the database thread needs a sampling profiler
such as py-spy with ``--threads``.)

The farm's news is ``--text phrases`` by default: stock phrases ("said in a statement on
Monday", "the city council approved") recur across thousands of unrelated items, as in real
news, which is the hard case for story clustering; ``--text plain`` draws words one by one.
A last warm scenario runs ``monitor poll --once --all`` as a whole process (start-up included),
from the database the article pass left, as a user's second poll comes after the first one's.

The farm's feeds are as real feeds are for ``fulltext: auto``: ``--articles 0.1`` by default,
a tenth of them give one short sentence per item, with their article pages served by the farm
on its loopback addresses (links that resolve, robots.txt answered), and the others summaries of
at least 400 characters, which the article pass leaves alone. The baseline parses the same
documents. ``--articles 0`` gives the farm of before: summaries of 20-80 words whose links name
``outlet{n}.example.org`` hosts, which do not resolve.

Targets (``--check`` exits 1 when one is missed): cold cycle ≤ 1.0 × baseline, warm cycle of
1,000 healthy feeds ≤ 1.5 s, ``poll --once --all`` warm ≤ 0.12 × baseline, peak RSS ≤ 150 MB.

Owns: the conductor (farm process, one measuring process per run, the table) and what runs in
a measuring process. ``monitor`` is imported only there, so the conductor's memory and start-up
stay out of the figures; the farm imports nothing from ``monitor``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

WARM_TARGET_S = 1.5
RSS_TARGET_MB = 150.0
COLD_TARGET_RATIO = 1.0
#: ``monitor poll --once --all`` over unchanged feeds, as a share of the cold baseline.
WARM_CLI_TARGET_RATIO = 0.12


# --------------------------------------------------------------------------------------------
# What runs in a measuring process


def _usage(descendants: DescendantPeaks) -> dict[str, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "rss_mb": me.ru_maxrss / 1024,
        "rss_children_mb": descendants.peak_mb(),
        "rss_others_mb": descendants.others_mb(),
        "rss_children_rusage_mb": kids.ru_maxrss / 1024,
        "cpu_s": me.ru_utime + me.ru_stime,
        "cpu_children_s": kids.ru_utime + kids.ru_stime,
    }


class DescendantPeaks:
    """The largest high-water mark of RSS (``VmHWM``) among this process's descendants, read
    from /proc every ``every_s`` by a thread (a descendant's growth in its last ``every_s``
    before it ends is missed; there is no /proc elsewhere: 0): among the parse workers and
    the forkserver they are forked from (``peak_mb``), and among the others (``others_mb``)."""

    def __init__(self, every_s: float = 0.2) -> None:
        self.every_s = every_s
        self._peak_kb = 0
        self._others_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.every_s):
            self.sample()

    def sample(self) -> None:
        for pid in _descendants(os.getpid()):
            with contextlib.suppress(OSError, ValueError):
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    worker = b"multiprocessing.forkserver" in fh.read()
                with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            kb = int(line.split()[1])
                            if worker:
                                self._peak_kb = max(self._peak_kb, kb)
                            else:
                                self._others_kb = max(self._others_kb, kb)
                            break

    def peak_mb(self) -> float:
        self._done.set()
        self._thread.join()
        return self._peak_kb / 1024

    def others_mb(self) -> float:
        self.peak_mb()
        return self._others_kb / 1024


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                    for child in fh.read().split():
                        found.append(int(child))
                        found += _descendants(int(child))
    return found


async def _naive(
    urls: list[str], *, concurrency: int, timeout_s: float, deadline_s: float, parse: bool
) -> dict[str, Any]:
    """One httpx client, ``concurrency`` requests at a time; feedparser on each 200 body."""
    import feedparser
    import httpx

    outcomes: Counter[str] = Counter()
    entries = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        limits=limits, timeout=timeout_s, follow_redirects=True, max_redirects=5
    ) as client:

        async def one(url: str) -> None:
            nonlocal entries
            async with slots:
                try:
                    response = await asyncio.wait_for(client.get(url), deadline_s)
                except (httpx.HTTPError, TimeoutError) as exc:
                    outcomes[type(exc).__name__] += 1
                    return
            if response.status_code != 200:
                outcomes[f"http {response.status_code}"] += 1
                return
            outcomes["ok"] += 1
            if parse:
                entries += len(feedparser.parse(io.BytesIO(response.content)).entries)

        await asyncio.gather(*(one(u) for u in urls))
    return {"outcomes": dict(outcomes), "entries": entries}


async def _fetcher_only(
    urls: list[str], *, concurrency: int, per_host: int, timeout_s: float, deadline_s: float
) -> dict[str, Any]:
    from monitor.fetch import Fetcher

    outcomes: Counter[str] = Counter()
    async with Fetcher(
        timeout_s=timeout_s, deadline_s=deadline_s, concurrency=concurrency, per_host=per_host
    ) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    for r in results:
        outcomes[r.outcome if r.outcome != "error" else f"error {r.error_kind}"] += 1
    return {"outcomes": dict(outcomes)}


def _monitor_cycle(spec: dict[str, Any]) -> dict[str, Any]:
    """Open the store, (for a cold cycle) register the feeds, and time one ``run_cycle``."""
    from monitor.cli.runtime import make_fetcher, make_pipeline, matcher_for
    from monitor.config import FeedSpec, load_config
    from monitor.logs import setup_logging
    from monitor.parse_pool import stop_forkserver
    from monitor.poller import run_cycle
    from monitor.store import Store

    urls: list[str] = spec["urls"]
    devnull = open(os.devnull, "w")
    setup_logging(level="INFO", stream=devnull)  # one line per poll, as the daemon writes
    cfg = load_config(spec["config"])
    store = Store.open(f"sqlite:///{spec['db']}")
    if spec["kind"] == "cold":
        # names and languages come from the conductor: the farm's module (and the test
        # server it imports) stays out of the measured process
        specs = [
            FeedSpec(url=u, name=name, lang=lang)
            for u, (name, lang) in zip(urls, spec["feeds"], strict=True)
        ]
        store.sync_feeds(specs, datetime.now(UTC))
    matcher = matcher_for(cfg)
    fetcher = make_fetcher(cfg)
    pipeline = make_pipeline(cfg, store, fetcher, lambda: matcher, parse_workers=spec["workers"])
    before = store.counts()

    cpu: list[float] = []

    async def cycle() -> tuple[float, Any]:
        async with fetcher:
            t0 = time.perf_counter()
            cpu.append(time.process_time())
            report = await run_cycle(pipeline, urls=urls)
            cpu.append(time.process_time())
            return time.perf_counter() - t0, report

    profile = spec.get("profile")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        elapsed, report = profiler.runcall(asyncio.run, cycle())
        profiler.dump_stats(profile)
    else:
        elapsed, report = asyncio.run(cycle())
    pipeline.close()  # joins the parse workers
    stop_forkserver()  # reaps their parent: their CPU time counts in RUSAGE_CHILDREN
    after = store.counts()
    store.close()
    outcomes: Counter[str] = Counter()
    for p in report.polls:
        outcomes[p.outcome if p.outcome != "error" else f"error {p.error_kind}"] += 1
    return {
        "wall_s": elapsed,
        "cycle_cpu_s": cpu[1] - cpu[0],
        "outcomes": dict(outcomes),
        "new_items": report.new_items,
        "new_matches": report.new_matches,
        "stored_items": after["items"] - before["items"],
    }


def _article_pass(spec: dict[str, Any]) -> dict[str, Any]:
    """The article rounds after a cold cycle, run to completion in this process, timed."""
    from monitor.cli.runtime import make_enricher, make_fetcher, make_pipeline, matcher_for
    from monitor.config import load_config
    from monitor.logs import setup_logging
    from monitor.parse_pool import stop_forkserver
    from monitor.store import Store

    setup_logging(level="INFO", stream=open(os.devnull, "w"))
    cfg = load_config(spec["config"])
    store = Store.open(f"sqlite:///{spec['db']}")
    matcher = matcher_for(cfg)
    fetcher = make_fetcher(cfg)
    pipeline = make_pipeline(cfg, store, fetcher, lambda: matcher, parse_workers=spec["workers"])
    enricher = make_enricher(cfg, store, fetcher, pipeline, lambda: matcher)
    outcomes: Counter[str] = Counter()
    cpu: list[float] = []

    async def rounds() -> float:
        async with fetcher:
            t0 = time.perf_counter()
            cpu.append(time.process_time())
            while True:  # drain stops at its budget of rounds: go on until nothing is left
                report = await enricher.drain()
                for r in report.fetched:
                    outcomes[r.status if r.status != "error" else f"error {r.error_kind}"] += 1
                if not report.fetched and not report.considered:
                    break
            cpu.append(time.process_time())
            return time.perf_counter() - t0

    elapsed = asyncio.run(rounds())
    enricher.close()
    pipeline.close()
    stop_forkserver()
    store.close()
    return {"wall_s": elapsed, "cycle_cpu_s": cpu[1] - cpu[0], "outcomes": dict(outcomes)}


def _cli_poll_all(spec: dict[str, Any]) -> dict[str, Any]:
    """``monitor poll --once --all`` as a user runs it: a whole process, start-up included."""
    env = {**os.environ, "MONITOR_DATABASE_URL": f"sqlite:///{spec['db']}"}
    tree = Path(spec.get("checkout") or ROOT)
    if spec.get("checkout"):  # another version's code, run from its own checkout
        env["PYTHONPATH"] = str(tree)
    cmd = [sys.executable, "-m", "monitor", "--config", spec["config"], "poll", "--once", "--all"]
    cmd += spec.get("cli_args") or []
    if spec.get("profile"):  # cProfile of the main thread (the database threads: --cli-wrap)
        cmd[1:1] = ["-m", "cProfile", "-o", spec["profile"]]
    cmd = shlex.split(spec.get("cli_wrap") or "") + cmd
    # as installed: pip writes the package's bytecode; a checkout run with
    # PYTHONDONTWRITEBYTECODE set would compile each of its modules at every start instead
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "monitor")], check=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"monitor poll --once --all failed:\n{done.stderr[-4000:]}")
    return {"wall_s": wall, "outcomes": {"exit 0": 1}}


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    urls: list[str] = spec["urls"]
    kind = spec["kind"]
    net = {
        "concurrency": spec["concurrency"],
        "timeout_s": spec["timeout"],
        "deadline_s": spec["deadline"],
    }
    descendants = DescendantPeaks()
    t0 = time.perf_counter()
    if kind in ("baseline", "httpx"):
        out = asyncio.run(_naive(urls, parse=kind == "baseline", **net))
        out["wall_s"] = time.perf_counter() - t0
    elif kind == "warm-cli":
        out = _cli_poll_all(spec)
    elif kind == "articles":
        out = _article_pass(spec)
    elif kind == "fetcher":
        out = asyncio.run(_fetcher_only(urls, per_host=spec["per_host"], **net))
        out["wall_s"] = time.perf_counter() - t0
    else:
        out = _monitor_cycle(spec)
    out.update(_usage(descendants))
    return out


# --------------------------------------------------------------------------------------------
# The conductor


class FarmProcess:
    """The feed farm, running in its own process and driven over its standard input."""

    def __init__(self, args: argparse.Namespace) -> None:
        cmd = [
            sys.executable,
            str(ROOT / "bench" / "feedfarm.py"),
            f"--feeds={args.feeds}",
            f"--items={args.items}",
            f"--hosts={args.hosts}",
            f"--latency={args.latency}",
            f"--text={args.text}",
        ]
        if args.articles:
            cmd.append(f"--articles={args.articles}")
        if args.gzip:
            cmd.append("--gzip")
        if args.quick_faults:
            cmd.append("--quick-faults")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = self._read()
        bases: list[str] = hello["bases"]
        self.urls = [f"{bases[n % len(bases)]}/f{n}.xml" for n in range(args.feeds)]

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the feed farm exited (status {self.proc.poll()}) before answering")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise SystemExit(f"the feed farm refused a command: {reply['error']}")
        return reply

    def command(self, line: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.command_quit()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def command_quit(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()


@dataclass
class Row:
    """One scenario's repetitions."""

    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(r[key] for r in self.runs)

    def spread(self, key: str) -> tuple[float, float]:
        values = [r[key] for r in self.runs]
        return min(values), max(values)

    @property
    def outcomes(self) -> str:
        last = self.runs[-1]["outcomes"]
        return ", ".join(f"{k} {v}" for k, v in sorted(last.items(), key=lambda kv: -kv[1]))


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh process and return what it printed."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", fh.name],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    finally:
        os.unlink(fh.name)
    if done.returncode != 0:
        raise SystemExit(f"measurement {spec['kind']} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def copy_db(src: Path, dst: Path) -> None:
    remove_db(dst)
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(src) + suffix)
        if source.exists():
            shutil.copyfile(source, Path(str(dst) + suffix))


def write_config(work: Path, args: argparse.Namespace, urls: list[str]) -> Path:
    """The benchmark's configuration: the farm's feeds, the shipped watchlists, a console
    channel (``monitor poll`` wants one), and the polling settings of the command line."""
    from feedfarm import plans

    feeds = "".join(
        f"  - {{url: '{u}', name: 'Outlet {p.n}', lang: {p.lang}}}\n"
        for u, p in zip(urls, plans(len(urls)), strict=True)
    )
    path = work / "monitor.yaml"
    path.write_text(
        "database: sqlite:///unused.db\n"
        "timezone: UTC\n"
        f"watchlists: ['{ROOT / 'config' / 'watchlists'}/*.yaml']\n"
        f"polling: {{timeout: {args.timeout}s, deadline: {args.deadline}s, "
        f"concurrency: {args.concurrency}, per_host: {args.per_host}, "
        f"parse_workers: {args.workers}"
        + (f", fulltext: {args.fulltext}" if getattr(args, "fulltext", None) else "")
        + "}\n"
        "channels:\n  - {name: console, type: console}\n"
        f"feeds:\n{feeds}",
        encoding="utf-8",
    )
    return path


class Runner:
    """Runs every scenario at one fault level after another, each repeated ``args.repeat``."""

    def __init__(
        self, args: argparse.Namespace, farm: FarmProcess, work: Path, config: Path
    ) -> None:
        self.args = args
        self.farm = farm
        self.work = work
        from feedfarm import plans

        self.base: dict[str, Any] = {
            "urls": farm.urls,
            "feeds": [(f"Outlet {p.n}", p.lang) for p in plans(len(farm.urls))],
            "concurrency": args.concurrency,
            "per_host": args.per_host,
            "timeout": args.timeout,
            "deadline": args.deadline,
            "workers": args.workers,
            "config": str(config),
            "cli_wrap": args.cli_wrap,
            "cli_args": args.cli_arg or [],
        }
        self.wanted = set(args.only or ["httpx", "fetcher", "baseline", "cold", "warm", "update"])

    def measure(self, kind: str, name: str, faults: float, db_from: Path | None = None) -> Row:
        row = Row(name)
        for rep in range(self.args.repeat):
            db = None
            if kind in ("cold", "articles", "warm", "update"):
                db = self.work / f"{kind}-{faults:g}-{rep}.db"
            self._run(row, rep, {**self.base, "kind": kind}, db, db_from)
        return row

    def warm_cli(self, reference: Path) -> Iterator[Row]:
        """``monitor poll --once --all`` from this checkout and from each ``--cli-checkout``,
        taking turns (so that the machine's other load falls on all of them alike), each run
        on a copy of the same database."""
        trees: list[str | None] = [None, *(self.args.cli_checkout or [])]
        rows = [
            Row("warm: monitor poll --once --all" + (f" ({tree})" if tree else ""))
            for tree in trees
        ]
        for rep in range(self.args.repeat):
            for n, (tree, row) in enumerate(zip(trees, rows, strict=True)):
                spec = {**self.base, "kind": "warm-cli", "checkout": tree}
                self._run(row, rep, spec, self.work / f"warm-cli-{n}-{rep}.db", reference)
        yield from rows

    def _run(
        self,
        row: Row,
        rep: int,
        spec: dict[str, Any],
        db: Path | None = None,
        db_from: Path | None = None,
    ) -> None:
        """One run of ``spec`` added to ``row``; with ``db``, on that file, made from a copy
        of ``db_from`` (else new)."""
        if db is not None:
            if db_from is None:
                remove_db(db)
            else:
                copy_db(db_from, db)
            spec["db"] = str(db)
            if self.args.profile:
                spec["profile"] = str(Path(self.args.profile) / f"{db.stem}.prof")
        row.runs.append(spawn(spec))
        print(f"  {row.name} #{rep + 1}: {row.runs[-1]['wall_s']:.2f} s", flush=True)

    def level(self, faults: float) -> Iterator[Row]:
        tag = "" if faults == 0 else f", {faults:.0%} faulty"
        self.farm.command(f"state faults={faults} update=0 seed=0")
        for kind, label in (
            ("httpx", "download: httpx, one client"),
            ("fetcher", "download: monitor Fetcher"),
            ("baseline", "baseline: httpx + feedparser"),
        ):
            if kind in self.wanted:
                yield self.measure(kind, label + tag, faults)
        if not self.wanted & {"cold", "warm", "update"}:
            return
        cold = self.measure("cold", "monitor cold cycle" + tag, faults)
        if "cold" in self.wanted:
            yield cold
        # the next cycles start from the database the first cold cycle left, once its
        # article pass has run (a user's next poll comes after the first poll's)
        reference = self.work / f"after-cold-{faults:g}.db"
        copy_db(self.work / f"cold-{faults:g}-0.db", reference)
        if self.wanted & {"warm", "update"}:
            yield self.measure(
                "articles", "article pass after the cold cycle" + tag, faults, reference
            )
            copy_db(self.work / f"articles-{faults:g}-0.db", reference)
        if "warm" in self.wanted:
            yield self.measure("warm", "monitor warm cycle" + tag, faults, reference)
            if faults == 0:
                yield from self.warm_cli(reference)
        if "update" in self.wanted:
            self.farm.command(f"state faults={faults} update={self.args.update} seed=7")
            name = f"monitor cycle, {self.args.update:.0%} updated{tag}"
            yield self.measure("update", name, faults, reference)

    def rows(self) -> Iterator[Row]:
        yield from self.level(0.0)
        if self.args.faults > 0:
            yield from self.level(self.args.faults)


def print_table(rows: list[Row], args: argparse.Namespace) -> list[str]:
    """Print the results and return the targets that were missed."""
    head = (
        f"{'scenario':<44} {'wall s (median)':>15} {'min–max':>13} {'RSS MB':>7} "
        f"{'workers MB':>10} {'others MB':>9} {'CPU s':>6} {'cycle CPU s':>11}  outcomes"
    )
    print()
    print(head)
    print("-" * len(head))
    for row in rows:
        lo, hi = row.spread("wall_s")
        cpu = row.median("cpu_s") + row.median("cpu_children_s")
        cycle_cpu = f"{row.median('cycle_cpu_s'):.1f}" if "cycle_cpu_s" in row.runs[0] else "–"
        print(
            f"{row.name:<44} {row.median('wall_s'):>15.2f} {f'{lo:.2f}–{hi:.2f}':>13} "
            f"{row.median('rss_mb'):>7.0f} {row.median('rss_children_mb'):>10.0f} "
            f"{row.median('rss_others_mb'):>9.0f} "
            f"{cpu:>6.1f} {cycle_cpu:>11}  {row.outcomes}"
        )
    by_name = {r.name: r for r in rows}
    missed: list[str] = []
    print()
    for tag in ("", f", {args.faults:.0%} faulty"):
        naive = by_name.get(f"download: httpx, one client{tag}")
        ours = by_name.get(f"download: monitor Fetcher{tag}")
        if naive and ours:
            ratio = ours.median("wall_s") / naive.median("wall_s")
            print(f"Fetcher / one httpx client{tag}: {ratio:.2f}×")
        base = by_name.get(f"baseline: httpx + feedparser{tag}")
        cold = by_name.get(f"monitor cold cycle{tag}")
        if base and cold:
            ratio = cold.median("wall_s") / base.median("wall_s")
            ok = ratio <= COLD_TARGET_RATIO
            print(
                f"cold cycle / baseline{tag}: {ratio:.2f}× "
                f"(target ≤ {COLD_TARGET_RATIO:.1f}×: {'met' if ok else 'MISSED'})"
            )
            if not ok:
                missed.append(f"cold cycle{tag} is {ratio:.2f}× the baseline")
    warm = by_name.get("monitor warm cycle")
    if warm:
        value = warm.median("wall_s")
        ok = value <= WARM_TARGET_S or args.feeds != 1000
        verdict = "met" if value <= WARM_TARGET_S else "MISSED"
        if args.feeds != 1000:
            verdict = "not judged: the target is for 1,000 feeds"
        print(f"warm cycle: {value:.2f} s (target ≤ {WARM_TARGET_S} s: {verdict})")
        if not ok:
            missed.append(f"warm cycle takes {value:.2f} s")
    base = by_name.get("baseline: httpx + feedparser")
    cli = by_name.get("warm: monitor poll --once --all")
    if base and cli:
        ratio = cli.median("wall_s") / base.median("wall_s")
        ok = ratio <= WARM_CLI_TARGET_RATIO
        print(
            f"monitor poll --once --all, warm / baseline: {ratio:.3f}× "
            f"(target ≤ {WARM_CLI_TARGET_RATIO}×: {'met' if ok else 'MISSED'})"
        )
        if not ok:
            missed.append(f"a warm poll --once --all is {ratio:.3f}× the baseline")
    peak = max(
        (max(r["rss_mb"], r["rss_children_mb"], r["rss_others_mb"]), row.name)
        for row in rows
        for r in row.runs
    )
    ok = peak[0] <= RSS_TARGET_MB
    print(
        f"peak RSS of any process: {peak[0]:.0f} MB in {peak[1]} "
        f"(target ≤ {RSS_TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'})"
    )
    if not ok:
        missed.append(f"peak RSS is {peak[0]:.0f} MB")
    return missed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python bench/bench_poll.py",
        description="Time one poll cycle of monitor against a naive poller on a local feed farm.",
    )
    ap.add_argument("--feeds", type=int, default=1000, help="feeds in the farm (default 1000)")
    ap.add_argument("--items", type=int, default=30, help="items per feed (default 30)")
    ap.add_argument("--hosts", type=int, default=13, help="loopback addresses (default 13)")
    ap.add_argument("--latency", type=float, default=0.0, help="server delay per answer, s")
    ap.add_argument("--gzip", action="store_true", help="serve gzip to clients that accept it")
    ap.add_argument(
        "--text",
        choices=("plain", "phrases"),
        default="phrases",
        help="the farm's news: phrases (stock phrases recur across items, as in real news; "
        "the default) or plain (words drawn one by one)",
    )
    ap.add_argument(
        "--articles",
        type=float,
        default=0.1,
        help="fraction of feeds with one-sentence summaries and article pages served by the "
        "farm (0.1; the others give summaries of 400 characters or more; 0: the farm's "
        "summaries of 20-80 words with links to hosts that do not resolve)",
    )
    ap.add_argument("--update", type=float, default=0.05, help="fraction updated (0.05)")
    ap.add_argument("--faults", type=float, default=0.2, help="fraction faulty (0.2; 0 = none)")
    ap.add_argument(
        "--quick-faults", action="store_true", help="no hangs or trickles among the faults"
    )
    ap.add_argument("--concurrency", type=int, default=50, help="requests in flight (50)")
    ap.add_argument("--per-host", type=int, default=4, help="Fetcher's per-host limit (4)")
    ap.add_argument("--workers", type=int, default=2, help="parse worker processes (2)")
    ap.add_argument("--timeout", type=float, default=2.0, help="per network step, s (2)")
    ap.add_argument("--deadline", type=float, default=5.0, help="per fetch, s (5)")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions per scenario (3)")
    ap.add_argument(
        "--only",
        action="append",
        choices=["httpx", "fetcher", "baseline", "cold", "warm", "update"],
        help="measure only these scenarios (repeatable; warm and update run a cold cycle first)",
    )
    ap.add_argument("--profile", metavar="DIR", help="write a cProfile file per monitor cycle")
    ap.add_argument(
        "--fulltext",
        choices=("auto", "always", "never"),
        help="polling.fulltext for the monitor runs (default: the shipped default, auto)",
    )
    ap.add_argument(
        "--cli-arg",
        action="append",
        metavar="ARG",
        help="one more argument for the warm poll --once --all (repeatable), e.g. "
        "--cli-arg=--no-backlog-articles",
    )
    ap.add_argument(
        "--cli-wrap",
        metavar="CMD",
        help="run the warm poll --once --all under this command, e.g. a sampling profiler: "
        "'py-spy record --threads --subprocesses --format raw -o /tmp/cli.txt --'",
    )
    ap.add_argument(
        "--cli-checkout",
        action="append",
        metavar="DIR",
        help="also run the warm poll --once --all from this checkout of another version "
        "(repeatable), taking turns with this one on the same database; its schema must be "
        "this version's",
    )
    ap.add_argument("--work", metavar="DIR", help="where the SQLite files go (default: a temp dir)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        spec = json.loads(Path(args.child).read_text(encoding="utf-8"))
        print(json.dumps(run_child(spec)))
        return 0
    for name in ("feeds", "items", "hosts", "concurrency", "per_host", "workers", "repeat"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be 1 or more")
    if not (0 <= args.update <= 1 and 0 <= args.faults <= 1 and 0 <= args.articles <= 1):
        ap.error("--update, --faults and --articles are fractions from 0 to 1 (0.05 = 5 %)")
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)

    work_ctx = (
        contextlib.nullcontext(args.work)
        if args.work
        else tempfile.TemporaryDirectory(prefix="bench-poll-")
    )
    with work_ctx as work_dir:
        work = Path(work_dir)
        work.mkdir(parents=True, exist_ok=True)
        # parsed configuration files are kept in the work directory, not the user's cache: the
        # cold cycle's load of the configuration keeps it, as a user's first command would,
        # and the warm command reads it back
        os.environ.setdefault("MONITOR_CACHE_DIR", str(work / "cache"))
        print(
            f"feed farm: {args.feeds} feeds × {args.items} items on {args.hosts} loopback "
            f"address(es), {args.text} text, {args.articles:.0%} with article pages, "
            f"latency {args.latency:g} s"
            f"{', gzip' if args.gzip else ''}; "
            f"concurrency {args.concurrency}, per host {args.per_host}, "
            f"{args.workers} parse worker(s), {os.cpu_count()} CPU(s); {_load()}",
            flush=True,
        )
        farm = FarmProcess(args)
        config = write_config(work, args, farm.urls)
        try:
            rows = list(Runner(args, farm, work, config).rows())
        finally:
            farm.close()
    missed = print_table(rows, args)
    print(f"at the end: {_load()} (other work on the machine inflates the wall times)")
    return 1 if (missed and args.check) else 0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    sys.exit(main())
