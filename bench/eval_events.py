"""Measure event grouping against items labelled with their story, plus same-event pairs.

Usage::

    python bench/eval_events.py PATH.jsonl [--pairs PAIRS.txt] [--thresholds 0.3,0.4,0.5]
    python bench/eval_events.py PATH.jsonl --suggest 40

PATH is a JSON-lines file in the format of the labelled evaluation set (``id``, ``title``,
``summary``, ``story_id``). Items sharing a ``story_id`` are copies of one story, and so one
event. PAIRS adds same-event pairs judged by hand: one pair of ids a line (``p0012 p0040``,
``#`` starts a comment); ids not in PATH are ignored, so one file serves several PATHs. Gold
events are the groups these two make (joined transitively); every other pair is two events.

For each threshold it prints pairwise precision and recall of ``similarity >= threshold`` over
all pairs, and of the events :func:`monitor.events.assign_event` builds when the items arrive in
file order, each compared only with the earlier items
:func:`monitor.events.pick_event_candidates` picks (as a store's index would find them), with
copies (same ``story_id``) put in their story's event first, as the store does. Term weights
are the BM25 idf of each term over the file (the window). The file has no times: every item is
taken to be in the same window.

``--suggest N`` prints the N most similar pairs of different stories with their titles, to
judge by hand. Nothing is written; figures are printed. Depends on ``monitor`` only.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from eval_stories import Labelled, load  # the labelled file's reader (same folder)

from monitor.events import (
    EVENT_THRESHOLD,
    EventCandidate,
    EventProfile,
    assign_event,
    pick_event_candidates,
    profile,
    similarity,
    window_weights,
)

DEFAULT_THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)


def load_pairs(path: Path) -> list[tuple[str, str]]:
    """Same-event pairs, one ``id id`` a line; ``#`` starts a comment."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        ids = text.split()
        if len(ids) != 2:
            raise SystemExit(f"{path}:{number}: expected two item ids, got {text!r}")
        pairs.append((ids[0], ids[1]))
    return pairs


def gold_events(items: Sequence[Labelled], pairs: Sequence[tuple[str, str]]) -> list[int]:
    """Each item's gold event (an index), from story ids and same-event pairs (union-find)."""
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, item in enumerate(items):
        parent[find(i)] = find(first.setdefault(item.story, i))
    index = {item.id: i for i, item in enumerate(items)}
    for a, b in pairs:
        if a in index and b in index:
            parent[find(index[a])] = find(index[b])
    return [find(i) for i in range(len(items))]


def group(
    items: Sequence[Labelled],
    profiles: Sequence[EventProfile],
    weights: dict[int, float],
    threshold: float,
) -> list[str]:
    """Events as a store would assign them, items taken in file order."""
    carriers: defaultdict[int, list[int]] = defaultdict(list)
    story_event: dict[str, str] = {}
    out: list[str] = []
    for index, (item, prof) in enumerate(zip(items, profiles, strict=True)):
        event = story_event.get(item.story)
        if event is None:
            picked = pick_event_candidates(
                prof.terms, lambda t: carriers[t][::-1] if t in carriers else [], weights
            )
            event = assign_event(
                prof,
                None,
                (EventCandidate(out[i], profiles[i]) for i in picked),
                weights,
                threshold,
            )
        event = event or item.story
        story_event.setdefault(item.story, event)
        out.append(event)
        for t in prof.terms:
            carriers[t].append(index)
    return out


def figures(together: set[tuple[int, int]], gold: set[tuple[int, int]]) -> tuple[float, float]:
    tp = len(together & gold)
    precision = tp / len(together) if together else 1.0
    recall = tp / len(gold) if gold else 1.0
    return precision, recall


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="labelled JSON-lines file")
    parser.add_argument("--pairs", type=Path, help="same-event pairs judged by hand")
    parser.add_argument("--thresholds", default=",".join(map(str, DEFAULT_THRESHOLDS)))
    parser.add_argument("--suggest", type=int, default=0, help="print N pairs to judge")
    args = parser.parse_args(argv)
    try:
        thresholds = [float(t) for t in args.thresholds.split(",") if t.strip()]
    except ValueError:
        parser.error(f"--thresholds: expected numbers like 0.3,0.4, got {args.thresholds!r}")
    if not thresholds or any(not 0 < t <= 1 for t in thresholds):
        parser.error("--thresholds: each must be above 0 and at most 1")
    items = load(args.path)
    pairs_given = load_pairs(args.pairs) if args.pairs else []
    profiles = [profile(i.title, i.summary) for i in items]
    weights = window_weights(profiles)
    n = len(items)
    pairs = list(itertools.combinations(range(n), 2))
    scores = {(i, j): similarity(profiles[i], profiles[j], weights) for i, j in pairs}
    if args.suggest:
        ranked = sorted(
            (p for p in pairs if items[p[0]].story != items[p[1]].story),
            key=lambda p: -scores[p],
        )
        for i, j in ranked[: args.suggest]:
            print(f"{scores[(i, j)]:.3f} {items[i].id} {items[j].id}")
            print(f"    {items[i].title[:110]}")
            print(f"    {items[j].title[:110]}")
        return 0
    gold_of = gold_events(items, pairs_given)
    gold = {(i, j) for i, j in pairs if gold_of[i] == gold_of[j]}
    copies = sum(1 for i, j in pairs if items[i].story == items[j].story)
    print(
        f"file: {args.path} ({n} items, {len(set(gold_of))} events); same-event pairs "
        f"{len(gold)} ({copies} copy pairs, {len(gold) - copies} more from hand-judged pairs)"
    )
    print()
    print("| threshold | pairs P | pairs R | grouped P | grouped R | events |")
    print("|---:|---:|---:|---:|---:|---:|")
    for threshold in thresholds:
        flagged = {p for p in pairs if scores[p] >= threshold}
        p_pairs, r_pairs = figures(flagged, gold)
        assigned = group(items, profiles, weights, threshold)
        together = {(i, j) for i, j in pairs if assigned[i] == assigned[j]}
        p_gr, r_gr = figures(together, gold)
        mark = " (default)" if threshold == EVENT_THRESHOLD else ""
        print(
            f"| {threshold:g}{mark} | {p_pairs:.3f} | {r_pairs:.3f} | {p_gr:.3f} | {r_gr:.3f} "
            f"| {len(set(assigned))} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
