"""Check ingest against a corpus of real-world feeds and other parsers' expected results.

Usage: python scripts/check_realworld.py CORPUS [--python PYTHON] [--report PATH]

CORPUS is a folder holding ``expected.jsonl``, ``feeds/`` and ``check.py`` (the corpus's own
runner: it serves the folder on 127.0.0.1, polls every feed with ``monitor poll --once`` into a
temporary SQLite database and compares what was stored with each peer's expectation). This
script runs that comparison, then counts each disagreement whose cause is one of the
differences docs/ingest.md documents as deliberate (:data:`DELIBERATE`) as agreement, prints
the table per source and every remaining disagreement class, and fails when:

- any feed crashed the poll;
- any item was stored without the link its feed gave it;
- any disagreement is classed as a project bug;
- item counts agree on fewer than 98 % of the feeds with an expectation, or titles or links on
  fewer than 97 % of the expected items, deliberate differences counted as agreement.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

#: Disagreement causes (as the corpus's runner names them) that are the project's documented
#: choices, with the reason; see docs/ingest.md, "Where it differs from other readers".
DELIBERATE: dict[str, str] = {
    "entries with no title, link, guid or text dropped": (
        "an entry with no title, text, link or id has nothing to match or open: not stored"
    ),
    "entries repeating a guid/link stored once": "an entry repeated in one document is one item",
    "peer keeps markup/entities in the title": (
        "titles are stored as text: markup stripped, entities decoded"
    ),
    "peer lost non-ASCII characters to U+FFFD": "the peer read the document's charset wrong",
    "peer decoded the text with the wrong charset": "the peer read the document's charset wrong",
    "title cut at 500 characters": "titles are cut at 500 characters",
    "canonical form": (
        "links are stored canonical: tracking parameters and fragment dropped, query sorted"
    ),
    "relative link resolved to an absolute URL": "relative links are stored absolute",
    "relative link resolved against the URL the feed was fetched from": (
        "the test serves the feed from 127.0.0.1; the peer was given the feed's public URL"
    ),
    "non-http link (tag:, urn:…) not kept as a URL": (
        "an id that is not a web address (tag:, urn:) is an identifier, not a link"
    ),
    "a different link element chosen": (
        "feedburner:origLink (the article) is preferred to the feed proxy's redirect link"
    ),
    "not a feed (a fragment the peer's specs use)": "an HTML fragment is not a feed",
    "an XHTML page wrapping an Atom <feed>": "an HTML page is not a feed, whatever it contains",
}

THRESHOLDS = {"count": 98.0, "title": 97.0, "link": 97.0}


def load_runner(corpus: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("realworld_check", corpus / "check.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"{corpus / 'check.py'}: cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def deliberate(cause: str, document: bytes) -> str | None:
    """The documented reason for a disagreement with this cause, or ``None``."""
    why = next((why for start, why in DELIBERATE.items() if cause.startswith(start)), None)
    if cause.startswith("a different link element chosen") and b"origLink" not in document:
        return None  # only the origLink preference is deliberate
    return why


def run(corpus: Path, python: str, check: ModuleType) -> tuple[list[dict[str, Any]], dict, dict]:
    """Poll the corpus as the runner does; the rows, what each feed stored, its feed URLs."""
    rows = [
        json.loads(line)
        for line in (corpus / "expected.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    files = [r["file"] for r in rows]
    watchlists = str(Path("config/watchlists").resolve() / "*.yaml")
    work = Path(tempfile.mkdtemp(prefix="realworld-"))
    with check.serve(corpus) as base:
        runner = check.Runner(python, base, work, [watchlists], 600)
        results, shared = runner.run(files)
        seen: set[tuple[str, str]] = set()
        for _ in range(3):  # feeds whose items merged with another corpus feed's: apart
            new = [p for p in shared if p not in seen]
            if not new:
                break
            seen.update(new)
            shared = []
            for group in check.colour(new):
                got, more = runner.run(group)
                results.update(got)
                shared += more
        urls = {f: runner.url(f) for f in files}
    return rows, results, urls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--python", default=sys.executable, help="interpreter with monitor installed")
    ap.add_argument("--report", type=Path, help="write every disagreement here")
    args = ap.parse_args()
    corpus = args.corpus.resolve()
    check = load_runner(corpus)
    t0 = time.monotonic()
    rows, results, urls = run(corpus, str(Path(args.python).absolute()), check)

    tallies: dict[str, Any] = defaultdict(check.Tally)
    fixed: dict[str, Counter[str]] = defaultdict(Counter)  # source -> kind -> deliberate
    remaining: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    bugs: list[tuple[str, ...]] = []
    lines: list[str] = []
    for row in rows:
        f = row["file"]
        folder = urls[f].rsplit("/", 1)[0] + "/"
        tally = check.Tally()
        dis: list[tuple[Any, ...]] = []
        check.compare(
            row, results[f], urls[f], folder, dis, tally, defaultdict(lambda: defaultdict(list))
        )
        for key in (row["source_repo"], "TOTAL"):
            for k, v in vars(tally).items():
                setattr(tallies[key], k, getattr(tallies[key], k) + v)
        for d in dis:
            kind, cause = d[1], d[4]
            lines.append(" | ".join("None" if x is None else str(x) for x in d))
            why = deliberate(cause, (corpus / f).read_bytes())
            if why is not None:
                for key in (row["source_repo"], "TOTAL"):
                    fixed[key][kind] += 1
                remaining[(kind, cause, why)].append(f)
            else:
                remaining[(kind, cause, "")].append(f)
                if check.verdict(cause) == "project bug" or kind == "crash":
                    bugs.append((f, kind, str(d[2]), str(d[3]), cause))

    def pct(ok: int, n: int) -> float:
        return 100.0 * ok / n if n else 100.0

    print(f"Real-world corpus: {len(rows)} files, {time.monotonic() - t0:.0f}s")
    head = (
        f"{'source':28} {'files':>5} {'crashes':>7} {'errors':>6}  "
        f"{'count agree':>22}  {'title agree':>22}  {'link agree':>22}"
    )
    print(head)
    print("-" * len(head))
    failed: list[str] = []
    for key in [*check.SOURCE_ORDER, "TOTAL"]:
        t = tallies[key]
        cells = []
        for kind, ok, n in (
            ("count", t.count_ok, t.count_n),
            ("title", t.title_ok, t.title_n),
            ("link", t.link_ok, t.link_n),
        ):
            after = min(n, ok + fixed[key][kind])
            cells.append(f"{pct(ok, n):5.1f}% -> {pct(after, n):5.1f}% ({after}/{n})")
            if key == "TOTAL" and pct(after, n) < THRESHOLDS[kind]:
                failed.append(f"{kind} agreement {pct(after, n):.1f}% < {THRESHOLDS[kind]}%")
        print(
            f"{key:28} {t.files:5} {t.crashed:7} {t.errors:6}  "
            + "  ".join(f"{c:>22}" for c in cells)
        )
    print("(agreement: as compared -> after the documented deliberate differences)\n")
    print("Disagreements left, by class (deliberate ones with their reason):")
    for (kind, cause, why), files in sorted(remaining.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(files):5} in {len(set(files)):3} file(s)  [{kind}] {cause}")
        print(f"        {'deliberate: ' + why if why else 'NOT DELIBERATE; e.g. ' + files[0]}")
    if tallies["TOTAL"].crashed:
        failed.append(f"{tallies['TOTAL'].crashed} feed(s) crashed the poll")
    if bugs:
        failed.append(f"{len(bugs)} disagreement(s) classed as project bugs")
        for b in bugs[:20]:
            print("  bug: " + " | ".join(b)[:300])
    if args.report:
        args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"every disagreement: {args.report}")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
