"""feedparser against a faster feed parser on the same bodies: speed, and whether what monitor
keeps of each entry would be the same.

A parse worker spends about half its time in ``feedparser.parse`` (``bench_parse.py``), and the
cold cycle's baseline is nearly all ``feedparser.parse``: a cold cycle at 1.0× the baseline
needs a parser several times faster for the common case. This script measures a candidate,
``fastfeedparser`` (lxml underneath, with a compiled core; not a dependency of monitor, but
of its ``bench`` extra: ``pip install -e ".[bench]"``), on the
polling farm's documents or on every file under ``--corpus``, and compares the fields monitor
keeps (``monitor.parse``): the number of entries, each entry's id (the key under which monitor
stores it, so a change of parser must keep it), link, title and text once reduced to plain
text (``monitor.normalize.html_to_text``), and whether it has a date. CPU seconds of each
parser over all bodies, the median of ``--repeat`` passes; then each field's disagreements,
with the first few of each.

    python bench/compare_parsers.py                                  # the farm, 1,000 feeds
    python bench/compare_parsers.py --corpus ../shared/corpora/realworld/feeds
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_parse import corpus_bodies, farm_bodies

from monitor.normalize import html_to_text
from monitor.parse import is_json, read_xml


def _text(value: Any) -> str:
    return html_to_text(value or "", limit=10_000) if isinstance(value, str) else ""


def kept(entry: Any, text_field: str, date_fields: tuple[str, str]) -> dict[str, Any]:
    """What monitor keeps of an entry: feedparser names its text ``summary`` and its dates
    ``*_parsed``, fastfeedparser ``description`` and ``published``/``updated``."""
    text = entry.get(text_field) or next(
        (c.get("value") for c in entry.get("content") or () if c.get("value")), ""
    )
    return {
        "id": entry.get("id") or None,
        "link": entry.get("link") or None,
        "title": _text(entry.get("title")),
        "text": _text(text),
        "dated": any(entry.get(field) for field in date_fields),
    }


def timed(fn: Any, bodies: list[bytes], repeat: int) -> tuple[float, int]:
    """Median CPU seconds of ``fn`` over all bodies, and how many it raised for."""
    runs, refused = [], 0
    for _ in range(repeat):
        refused = 0
        start = time.process_time()
        for body in bodies:
            try:
                fn(body)
            except Exception:  # counted: a body this parser refuses
                refused += 1
        runs.append(time.process_time() - start)
    return statistics.median(runs), refused


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/compare_parsers.py", description=__doc__)
    ap.add_argument("--corpus", type=Path, help="every file under this folder, else the farm")
    ap.add_argument("--feeds", type=int, default=1000, help="farm feeds (1000)")
    ap.add_argument("--repeat", type=int, default=3, help="passes timed per parser (3)")
    ap.add_argument("--examples", type=int, default=3, help="disagreements shown per field (3)")
    args = ap.parse_args(argv)
    try:
        import fastfeedparser
    except ImportError:
        raise SystemExit(
            'fastfeedparser is not installed: pip install -e ".[bench]" (the benchmarks\' '
            "comparison libraries; monitor does not depend on it)"
        ) from None
    named = corpus_bodies(args.corpus) if args.corpus else farm_bodies(args.feeds, 30)
    # JSON feeds are not feedparser's (monitor reads them itself)
    named = [(u, b, x) for u, b, x in named if not is_json(b)]
    bodies = [b for _, b, _ in named]
    ours, ours_refused = timed(read_xml, bodies, args.repeat)
    theirs, theirs_refused = timed(fastfeedparser.parse, bodies, args.repeat)
    print(f"{len(bodies)} documents")
    print(f"feedparser.parse      {ours:7.2f} CPU s  (raised for {ours_refused})")
    print(
        f"fastfeedparser.parse  {theirs:7.2f} CPU s  (raised for {theirs_refused}): "
        f"{ours / theirs:.1f}× faster"
    )

    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}

    def differs(field: str, where: str, a: object, b: object) -> None:
        counts[field] += 1
        shown = examples.setdefault(field, [])
        if len(shown) < args.examples:
            shown.append(f"{where}: {str(a)[:90]!r} / {str(b)[:90]!r}")

    for url, body, _ in named:
        a = read_xml(body)
        try:
            b = fastfeedparser.parse(body)
        except Exception as exc:  # its refusal is a finding
            counts["documents it refuses"] += 1
            if a.get("entries"):
                differs("documents it refuses, feedparser reads", url, len(a.entries), exc)
            continue
        counts["documents both read"] += 1
        if len(a.entries) != len(b.entries):
            differs("entry count", url, len(a.entries), len(b.entries))
            continue
        for n, (x, y) in enumerate(zip(a.entries, b.entries, strict=True)):
            counts["entries compared"] += 1
            mine = kept(x, "summary", ("published_parsed", "updated_parsed"))
            other = kept(y, "description", ("published", "updated"))
            for field in mine:
                if mine[field] == other[field]:
                    continue
                spaced = field in ("title", "text") and mine[field].split() == other[field].split()
                name = f"{field}, in white space only" if spaced else field
                differs(name, f"{url} #{n}", mine[field], other[field])
    print()
    for field, n in counts.items():
        print(f"{field:<40} {n:>7,}")
        for line in examples.get(field, ()):
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
