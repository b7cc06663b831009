"""Scoring throughput: the compiled matcher against one ``re.search`` per term.

Generates news-like items (English and French words, accents, curly apostrophes, names and
acronyms) and watchlists of 50, 500 and 5,000 terms, then measures items per second and peak
memory. Each measurement runs in a fresh Python process so that peak RSS is its own.

    python bench/bench_score.py                 # the full table (30,000 items)
    python bench/bench_score.py --items 5000    # quicker
    python bench/bench_score.py --dev ../shared/eval/dev.jsonl   # also time real items

The baseline compiles every term into one case-insensitive regular expression with word
boundaries and runs ``re.search`` for each over title and summary: what a simple matcher does.
It is timed on a slice of the items when the term count makes it slow (the slice is printed).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from itertools import accumulate
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.configio import read_yaml
from monitor.score.engine import compile_topics
from monitor.score.spec import TopicSpec, validate_watchlist

COMMON = (
    "the of and to in a is that for on with as was by at from it an be this are have has said "
    "will after over new more about than into its their who were been but not they which one "
    "two year years week officials government minister president country countries plan told "
    "people report public federal national state could would may also week monday tuesday "
    "wednesday thursday friday first last says statement announced expected talks move deal "
    "le la les de des du et en un une pour dans sur par avec au aux est sont a été plus "
    "selon lors cette ces entre deux premier ministre gouvernement pays année semaine"
).split()
DOMAIN = (
    "defence defense défense security sécurité border frontière tariff tariffs trade arctic "
    "arctique military militaire alliance intelligence renseignement budget spending dépenses "
    "radar missile fighter submarine icebreaker navy coast guard sovereignty souveraineté "
    "migrants asylum fentanyl steel aluminum lumber dairy duties douane surtax negotiation "
    "agreement accord procurement contract billion milliards allies partners surveillance"
).split()
PLACES = (
    "Canada Ottawa Washington Alaska Greenland Québec Ontario Montréal Toronto Vancouver "
    "Nunavut Iqaluit Winnipeg Colorado Europe China Russia Mexico Brussels London"
).split()
SYLLABLES = "ka ri to ne sa lo mi ve du ra ne ko ta li mo pe su na vi go ze".split()


def pseudo_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 5))).capitalize()


def make_vocab(rng: random.Random, n_terms: int) -> tuple[list[str], list[str]]:
    """Proper names and acronyms, most frequent first (items draw them with Zipf weights).

    The pools grow with the watchlist (24 names and 2 acronyms per term) so that every
    configuration finds about as many terms per item: the rows then differ in the number of
    terms, not in how much of the news they match.
    """
    names = list(dict.fromkeys(pseudo_name(rng) for _ in range(max(1200, 24 * n_terms))))
    letters = "ABCDEFGHKLMNPRSTUVW"
    count = max(100, 2 * n_terms)
    acronyms = list(dict.fromkeys("".join(rng.choices(letters, k=5)) for _ in range(count)))
    return names, acronyms


def zipf_weights(n: int) -> list[float]:
    return list(accumulate(1 / (rank + 1) for rank in range(n)))


def make_items(
    n: int, rng: random.Random, names: list[str], acronyms: list[str]
) -> list[tuple[str, str, str]]:
    name_w = zipf_weights(len(names))
    acr_w = zipf_weights(len(acronyms))

    def word() -> str:
        r = rng.random()
        if r < 0.72:
            w = rng.choice(COMMON)
        elif r < 0.86:
            w = rng.choice(DOMAIN)
        elif r < 0.92:
            w = rng.choice(PLACES)
        elif r < 0.985:
            w = rng.choices(names, cum_weights=name_w)[0]
        else:
            w = rng.choices(acronyms, cum_weights=acr_w)[0]
        if rng.random() < 0.03:
            w = w + rng.choice(["\u2019s", "'s", ",", ".", ":"])
        if rng.random() < 0.01:
            w = "l\u2019" + w
        return w

    items = []
    for _ in range(n):
        title = " ".join(word() for _ in range(rng.randint(6, 14)))
        summary = " ".join(word() for _ in range(rng.randint(45, 95)))
        items.append((title[0].upper() + title[1:], summary, rng.choice(["en", "en", "fr"])))
    return items


def make_topics(
    n_terms: int, rng: random.Random, names: list[str], acronyms: list[str]
) -> list[TopicSpec]:
    """Topics of 10 terms each: 5 core (weight 3), 3 supporting (1), 2 context (0).

    Terms are what an analyst writes: names of people, places and programmes (one to three
    words, often with a domain word), acronyms, a few ``word*`` prefixes; two regexes in all.
    """

    def term() -> dict[str, Any]:
        r = rng.random()
        if r < 0.08:
            return {"term": rng.choice(acronyms)}
        words = [rng.choice(names)]
        if r < 0.55:
            words.append(rng.choice(names + DOMAIN))
        if r < 0.15:
            words.insert(0, rng.choice(DOMAIN + PLACES))
        text = " ".join(words)
        if len(words) > 1 and rng.random() < 0.2 and len(words[-1]) > 5:
            text = text + "*"  # a prefix ends a phrase: "Name defen*"
        return {"term": text}

    def terms(n: int) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        while len(out) < n:
            t = term()
            out.setdefault(t["term"].casefold(), t)
        return list(out.values())

    topics = []
    for i in range(max(1, n_terms // 10)):
        groups = {
            "core": {"weight": 3, "terms": terms(5)},
            "support": {"weight": 1, "terms": terms(3)},
            "context": {"weight": 0, "terms": terms(2)},
        }
        spec: dict[str, Any] = {
            "id": f"topic_{i}",
            "name": f"Topic {i}",
            "description": "generated for the benchmark",
            "lang": ["en", "fr"],
            "threshold": 3,
            "groups": groups,
            "require": {"any": ["core", {"all": ["support", "context"]}]},
        }
        if i % 10 == 0:
            spec["require"] = {"any": ["core", {"near": ["support", "context"], "within": 8}]}
        if i % 7 == 0:
            spec["exclude"] = [{"all": ["context", {"none": ["core"]}]}]
        if i == 0:  # the rare explicit regex term: one, whatever the size, as in us-canada.yaml
            groups["support"]["terms"].append({"regex": r"\$ ?\d+(?:[.,]\d+)? ?(?:b|bn)\b"})
        topics.append(TopicSpec.model_validate(spec))
    return topics


def baseline_patterns(topics: list[TopicSpec]) -> list[re.Pattern[str]]:
    out = []
    for t in topics:
        for g in t.groups.values():
            for term in g.terms:
                if term.regex is not None:
                    out.append(re.compile(term.regex, re.IGNORECASE))
                else:
                    text = (term.term or "").rstrip("*")
                    tail = r"\w*" if (term.term or "").endswith("*") else r"\b"
                    out.append(re.compile(r"\b" + re.escape(text) + tail, re.IGNORECASE))
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_topics(path: str) -> list[TopicSpec]:
    doc, problems = read_yaml(path)
    if doc is None or problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    topics, problems = validate_watchlist(doc)
    if problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    return topics


def run_one(
    kind: str,
    n_terms: int,
    n_items: int,
    seed: int,
    dev: str | None,
    watchlist: str = "config/watchlists/us-canada.yaml",
    repeat: int = 3,
) -> dict[str, Any]:
    rng = random.Random(seed)
    if dev:  # the shipped watchlist on real items, repeated
        topics = load_topics(watchlist)
        rows = [json.loads(line) for line in Path(dev).read_text("utf-8").splitlines() if line]
        real = [(r["title"], r["summary"], r.get("lang")) for r in rows]
        items = (real * (n_items // len(real) + 1))[:n_items]
    else:
        names, acronyms = make_vocab(rng, n_terms)
        topics = make_topics(n_terms, rng, names, acronyms)
        items = make_items(n_items, random.Random(seed + 1), names, acronyms)
    rss_before = peak_rss_mb()
    t0 = time.process_time()
    if kind == "matcher":
        matcher = compile_topics(topics)
        build = time.process_time() - t0
        for title, summary, lang in items[:500]:  # warm the folding tables
            matcher.score(title, summary, lang)
        elapsed = float("inf")
        for _ in range(repeat):  # the best of a few passes: other processes only slow it down
            matched = 0
            t0 = time.process_time()
            for title, summary, lang in items:
                matched += bool(matcher.score(title, summary, lang))
            elapsed = min(elapsed, time.process_time() - t0)
        done = len(items)
    else:
        patterns = baseline_patterns(topics)
        build = time.process_time() - t0
        budget = max(200, min(len(items), int(4_000_000 / max(1, len(patterns)))))
        subset = items[:budget]
        matched = 0
        t0 = time.process_time()
        for title, summary, _ in subset:
            text = title + "\n" + summary
            hits = 0
            for p in patterns:
                if p.search(text):
                    hits += 1
            matched += bool(hits)
        elapsed = time.process_time() - t0
        done = len(subset)
    return {
        "kind": kind,
        "terms": sum(len(g.terms) for t in topics for g in t.groups.values()),
        "topics": len(topics),
        "items": done,
        "items_per_s": done / elapsed,
        "build_s": build,
        "matched_share": matched / done,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=30_000)
    parser.add_argument("--terms", type=int, nargs="*", default=[50, 500, 5000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dev", help="a labelled JSON-lines file: also time real items")
    parser.add_argument(
        "--watchlist",
        default=str(Path(__file__).resolve().parents[1] / "config/watchlists/us-canada.yaml"),
        help="the watchlist used with --dev",
    )
    parser.add_argument("--one", nargs=2, metavar=("KIND", "TERMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, terms = args.one
        result = run_one(kind, int(terms), args.items, args.seed, args.dev, args.watchlist)
        print(json.dumps(result))
        return

    def measure(kind: str, terms: int, dev: str | None = None) -> dict[str, Any]:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            kind,
            str(terms),
            "--items",
            str(args.items),
            "--seed",
            str(args.seed),
        ]
        if dev:
            cmd += ["--dev", dev, "--watchlist", args.watchlist]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))

    rows = []
    for terms in args.terms:
        rows.append(measure("matcher", terms))
        rows.append(measure("baseline", terms))
    print(f"Python {sys.version.split()[0]}, {args.items} generated items, seed {args.seed}")
    header = (
        f"{'method':<10} {'terms':>6} {'topics':>6} {'items':>7} {'items/s':>10} "
        f"{'build s':>8} {'matched':>8} {'peak RSS MB':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['kind']:<10} {r['terms']:>6} {r['topics']:>6} {r['items']:>7} "
            f"{r['items_per_s']:>10,.0f} {r['build_s']:>8.2f} {r['matched_share']:>8.1%} "
            f"{r['peak_rss_mb']:>12.1f}"
        )
    print("(matched: share of items matching a topic; for the baseline, with any term found)")
    m = {r["terms"]: r["items_per_s"] for r in rows if r["kind"] == "matcher"}
    if len(m) > 1:
        small, large = min(m), max(m)
        print(f"matcher slowdown from {small} to {large} terms: {m[small] / m[large]:.2f}x")
    if args.dev:
        r = measure("matcher", 0, args.dev)
        print(
            f"real items ({args.dev}, repeated to {r['items']}) with {args.watchlist} "
            f"({r['terms']} terms): {r['items_per_s']:,.0f} items/s, "
            f"{r['matched_share']:.1%} matched"
        )


if __name__ == "__main__":
    main()
