"""What a parse worker spends on a body, step by step, against feedparser alone.

The cold cycle's baseline (``bench_poll.py``) fetches each feed with httpx and parses it with
``feedparser.parse``; a parse worker does that parse and more for every body: it normalises
each entry (text, canonical URL, fingerprint), makes its story signature and its event
profile, and scores it with the watchlists. This script times those steps cumulatively on
the same bodies, in CPU seconds for all of them, so that the worker's job can be compared
with the baseline's parse and two versions with each other:

* ``feedparser.parse``: what the baseline does with a body (sanitiser and URI resolution on);
* ``parse_feed``: ``monitor.parse`` (feedparser, without the sanitiser and URI resolution);
* ``parse_for_store``: that, each entry normalised and its story signature made;
* ``parse_and_score``: the worker's whole job, event profiles and scores with the shipped
  watchlists (``config/watchlists``) included.

The bodies are the polling farm's (``bench/feedfarm.py``, as ``bench_poll.py`` serves them by
default: stock phrases recur across items, a tenth of the feeds with one-sentence summaries,
the others with summaries of 400 characters or more, one feed in five French), or every file
under ``--corpus`` (real feeds, e.g. ``../shared/corpora/realworld/feeds``). Each step is run
over all bodies ``--repeat`` times, the median kept; with ``--checkout``, the same steps run
from that checkout of another version, in a process of its own, the two taking turns.

    python bench/bench_parse.py                                      # the farm, 1,000 feeds
    python bench/bench_parse.py --checkout /work/wt-base             # against another version
    python bench/bench_parse.py --corpus ../shared/corpora/realworld/feeds
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STEPS = ("feedparser.parse", "parse_feed", "parse_for_store", "parse_and_score")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def farm_bodies(feeds: int, items: int) -> list[tuple[str, bytes, str | None]]:
    """The polling farm's documents, as ``bench_poll.py`` has it serve them by default."""
    sys.path.insert(0, str(HERE))
    import feedfarm

    wire = feedfarm._wire_stories(1)
    short = set(feedfarm.pick(feeds, 0.1, 777))
    out: list[tuple[str, bytes, str | None]] = []
    for plan in feedfarm.plans(feeds):
        base = "http://127.0.0.1:9" if plan.n in short else None
        body = plan.document(items, 0, 1, wire, True, base, lambda *_: None, long=base is None)
        out.append((f"http://127.0.0.{plan.n % 13 + 1}:8000/f{plan.n}.xml", body, plan.lang))
    return out


def corpus_bodies(folder: Path) -> list[tuple[str, bytes, str | None]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [
        (f"https://feeds.example.org/{p.relative_to(folder)}", p.read_bytes(), None) for p in files
    ]


def hold_shipped_matcher() -> None:
    """Give this process the matcher of the shipped watchlists as a parse worker holds it after
    its set-up, as number 1 (set directly: the set-up also changes the process's signal
    handlers)."""
    from monitor import parse_pool
    from monitor.configio import load_watchlists
    from monitor.score.engine import compile_topics

    watchlists = sorted(str(p) for p in (ROOT / "config" / "watchlists").glob("*.yaml"))
    matcher = compile_topics(load_watchlists(watchlists, environ={}))
    parse_pool._matcher = (1, pickle.loads(pickle.dumps(matcher)))


def child(spec: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The steps' CPU seconds over all bodies, once each, in this process's version, and how
    many bodies each step refused (raised for)."""
    import feedparser

    from monitor import parse_pool
    from monitor.parse import parse_feed

    bodies = [(url, bytes.fromhex(body), lang) for url, body, lang in spec["bodies"]]
    hold_shipped_matcher()
    ctype = None

    refused: dict[str, float] = {}

    def over(name: str, fn: Callable[[str, bytes, str | None], object]) -> float:
        refused[name] = 0
        start = time.process_time()
        for url, body, lang in bodies:
            try:
                fn(url, body, lang)
            except Exception:  # a body the parser refuses (a corpus holds some): counted
                refused[name] += 1
        return time.process_time() - start

    steps: dict[str, Callable[[str, bytes, str | None], object]] = {
        "feedparser.parse": lambda u, b, _: feedparser.parse(b),
        "parse_feed": lambda u, b, _: parse_feed(b, url=u, content_type=ctype),
        "parse_for_store": lambda u, b, lang: parse_pool.parse_for_store(b, u, ctype, lang, NOW),
        "parse_and_score": lambda u, b, lang: parse_pool.parse_and_score(
            b, u, ctype, lang, NOW, parse_pool.MAX_ENTRIES, 1
        ),
    }
    over("warm-up", steps["parse_and_score"])  # the first pass fills the workers' word caches
    cpu = {name: over(name, fn) for name, fn in steps.items()}
    return {"cpu": cpu, "refused": refused}


def spawn(spec: dict[str, Any], checkout: str | None, work: Path) -> dict[str, dict[str, float]]:
    path = work / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    tree = Path(checkout) if checkout else ROOT
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(HERE / "bench_parse.py"), "--child", str(path)]
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run from {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/bench_parse.py", description=__doc__)
    ap.add_argument("--feeds", type=int, default=1000, help="feeds of the farm (1000)")
    ap.add_argument("--items", type=int, default=30, help="items per feed (30)")
    ap.add_argument("--corpus", type=Path, help="parse every file under this folder instead")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each version (3)")
    ap.add_argument("--checkout", action="append", help="also time this checkout (repeatable)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        spec = json.loads(Path(args.child).read_text(encoding="utf-8"))
        print(json.dumps(child(spec)))
        return 0
    if args.corpus is not None:
        if not args.corpus.is_dir():
            ap.error(f"--corpus {args.corpus}: not a folder")
        bodies = corpus_bodies(args.corpus)
        source = f"{len(bodies)} files under {args.corpus}"
    else:
        bodies = farm_bodies(args.feeds, args.items)
        source = f"the farm's {args.feeds} feeds × {args.items} items"
    size = sum(len(b) for _, b, _ in bodies)
    print(f"{source}, {size / 1e6:.1f} MB; {args.repeat} run(s) of each version", flush=True)
    spec = {"bodies": [(u, b.hex(), lang) for u, b, lang in bodies]}
    trees: list[str | None] = [None, *(args.checkout or [])]
    runs: dict[str | None, list[dict[str, float]]] = {t: [] for t in trees}
    refused: dict[str | None, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        for n in range(args.repeat):
            for tree in trees:
                result = spawn(spec, tree, Path(tmp))
                runs[tree].append(result["cpu"])
                refused[tree] = result["refused"]
                line = ", ".join(f"{k} {v:.2f}" for k, v in result["cpu"].items())
                print(f"  #{n + 1} {tree or 'this checkout'}: {line}", flush=True)
    print()
    head = f"{'step (CPU s for all bodies, median)':40s}" + "".join(
        f"{(t or 'this checkout')[-22:]:>24s}" for t in trees
    )
    print(head)
    print("-" * len(head))
    for step in STEPS:
        cells = []
        for tree in trees:
            value = statistics.median(r[step] for r in runs[tree])
            first = statistics.median(r[STEPS[0]] for r in runs[tree])
            cells.append(f"{value:8.2f} ({value / first:4.2f}×)")
        print(f"{step:40s}" + "".join(f"{c:>24s}" for c in cells))
    print("\n(×: of feedparser.parse alone in the same version's runs)")
    for tree in trees:
        counts = refused[tree]
        said = ", ".join(f"{step} {int(counts[step])}" for step in STEPS if counts[step])
        if said:
            print(f"bodies refused (raised for), {tree or 'this checkout'}: {said}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
