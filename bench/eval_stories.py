"""Measure story clustering against items labelled with the story they belong to.

Usage::

    python bench/eval_stories.py PATH.jsonl [--thresholds 0.1,0.2,0.3] [--repeat N]

PATH is a JSON-lines file in the format of the labelled evaluation set: one object a line with
``id``, ``title``, ``summary`` and ``story_id`` (items sharing a ``story_id`` are copies of one
story; all others are not). Nothing is written; figures are printed.

For each threshold it prints:

* **pairs**: precision and recall of "similarity >= threshold" over all pairs of items;
* **clustered**: pairwise precision, recall and F1 of the clusters that ``monitor.stories.cluster``
  builds when the items arrive in file order and each is compared only with earlier items that
  share a candidate key (as a store's index would find them), plus the number of gold
  multi-item stories reproduced exactly and the number of predicted clusters;
* **edited copies**: recall on copies of every item made here at run time, the way outlets edit
  wire copy (the headline replaced, a dateline and a feed trailer added, the summary cut to its
  first two sentences or one word in twelve dropped). They test robustness; precision is not
  defined for them. Placed in the window after all the originals, with ``cluster``, how many
  join their original's story is printed below the table.

It also prints how often gold pairs share a candidate key (candidate recall), how often other
pairs do (the extra rows a store would look at), and the time to compute a signature and to
compare two.
Depends on ``monitor`` only; reads the given file and nothing else.

With ``--farm OUTLETS`` (and no file) it measures instead the news of the polling farm's
``--text phrases`` (``bench/feedfarm.py``, as ``bench/bench_stories.py`` makes it: 30 items an
outlet, stock phrases in English and French recurring across unrelated items, 3 % of items
one of 40 wire stories run under the outlet's link). The farm knows its copies (a wire story's
items), so it prints the pairwise precision and recall of ``cluster`` over all its items, with
and without common phrases weighed (``monitor.storyplace``), the stories made and the largest::

    python bench/eval_stories.py --farm 1000
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.stories import (
    STORY_THRESHOLD,
    StorySignature,
    signature,
    similarity,
)
from monitor.storyplace import cluster

DEFAULT_THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    title: str
    summary: str
    story: str


def load(path: Path) -> list[Labelled]:
    """Read labelled items, failing with ``file:line: what is wrong`` on bad input."""
    items: list[Labelled] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(
                    f"{path}:{number}: not valid JSON ({e.msg}); one object a line"
                ) from None
            if not isinstance(row, dict):
                raise SystemExit(
                    f"{path}:{number}: expected a JSON object, got {type(row).__name__}"
                )
            missing = [k for k in ("id", "title", "summary", "story_id") if k not in row]
            if missing:
                raise SystemExit(
                    f"{path}:{number}: missing {', '.join(missing)}; each line needs id, title, "
                    "summary and story_id"
                )
            items.append(
                Labelled(
                    str(row["id"]),
                    str(row["title"]),
                    str(row["summary"] or ""),
                    str(row["story_id"]),
                )
            )
    if len(items) < 2:
        raise SystemExit(f"{path}: needs at least two items, found {len(items)}")
    return items


def edited_copies(item: Labelled) -> list[tuple[str, str]]:
    """Lightly edited copies of an item, made the way outlets edit what they carry."""
    sentences = re.split(r"(?<=[.!?»”])\s+", item.summary.strip())
    first_two = " ".join(sentences[:2])
    some_words = item.summary.split()
    dropped = " ".join(w for i, w in enumerate(some_words) if i % 12 != 11)
    headline = "Latest: " + " ".join(item.title.split()[::-1])
    return [
        (headline, "OTTAWA (CP) — " + first_two),
        (headline, dropped + "\nThe post A story appeared first on Example News."),
    ]


def pair_figures(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def farm(outlets: int, thresholds: Sequence[float]) -> int:
    """Pairwise precision and recall of ``cluster`` on the phrase farm's news (``--farm``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import feedfarm
    from bench_stories import news

    from monitor.normalize import html_to_text

    wire = feedfarm._wire_stories(1)
    items = [news(n * 30 + k, n, wire) for n in range(outlets) for k in range(30)]
    # the parse workers keep the visible text of a summary's HTML
    texts = [(html_to_text(i.title), html_to_text(i.summary)) for i in items]
    sigs = [(i.key, signature(*text)) for i, text in zip(items, texts, strict=True)]
    gold = ["\n".join(text) for text in texts]  # a wire story's items are one text
    copies = sum(c * (c - 1) // 2 for c in Counter(gold).values())
    print(f"phrase farm: {outlets} outlets, {len(items)} items, {copies} copy pairs")
    header = "| threshold | phrases weighed | pairs P | pairs R | stories | largest | CPU s |"
    print(header)
    print("|" + "---:|" * (header.count("|") - 1))
    for threshold in thresholds:
        for weighed in (False, True):
            start = time.process_time()
            found = cluster(sigs, threshold, phrases=weighed)
            spent = time.process_time() - start
            cells = Counter(zip(found, gold, strict=True))
            together = sum(c * (c - 1) // 2 for c in Counter(found).values())
            tp = sum(c * (c - 1) // 2 for c in cells.values())
            p, r, _ = pair_figures(tp, together - tp, copies - tp)
            mark = " (default)" if threshold == STORY_THRESHOLD else ""
            sizes = Counter(found)
            print(
                f"| {threshold:g}{mark} | {'yes' if weighed else 'no'} | {p:.3f} | {r:.3f} "
                f"| {len(sizes):,} | {max(sizes.values())} | {spent:.1f} |"
            )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, nargs="?", help="labelled JSON-lines file")
    parser.add_argument(
        "--farm", type=int, metavar="OUTLETS", help="measure the phrase farm's news instead"
    )
    parser.add_argument(
        "--thresholds",
        default=None,
        help="comma-separated similarity thresholds in (0, 1] (default: "
        + ",".join(str(t) for t in DEFAULT_THRESHOLDS)
        + "; with --farm, the default threshold)",
    )
    parser.add_argument("--repeat", type=int, default=20, help="rounds for the timing figure")
    args = parser.parse_args(argv)
    try:
        given = args.thresholds or ",".join(str(t) for t in DEFAULT_THRESHOLDS)
        thresholds = [float(t) for t in given.split(",") if t.strip()]
    except ValueError:
        parser.error(f"--thresholds: expected numbers like 0.2,0.3, got {given!r}")
    if not thresholds or any(not 0 < t <= 1 for t in thresholds):
        parser.error(f"--thresholds: each must be above 0 and at most 1, got {given!r}")
    if args.farm is not None:
        if args.path is not None or args.farm < 1:
            parser.error("--farm takes a number of outlets (at least 1) and no file")
        return farm(args.farm, [STORY_THRESHOLD] if args.thresholds is None else thresholds)
    if args.path is None or not args.path.is_file():
        parser.error(f"{args.path}: no such file")

    items = load(args.path)
    started = time.perf_counter()
    for _ in range(args.repeat):
        sigs: list[StorySignature] = [signature(i.title, i.summary) for i in items]
    per_item_us = (time.perf_counter() - started) / (args.repeat * len(items)) * 1e6

    n = len(items)
    pairs = list(itertools.combinations(range(n), 2))
    gold = {(i, j) for i, j in pairs if items[i].story == items[j].story}
    started = time.perf_counter()
    scores = {(i, j): similarity(sigs[i], sigs[j]) for i, j in pairs}
    per_pair_us = (time.perf_counter() - started) / len(pairs) * 1e6
    shares_key = {(i, j) for i, j in pairs if set(sigs[i].keys) & set(sigs[j].keys)}
    gold_stories: dict[str, set[int]] = {}
    for index, item in enumerate(items):
        gold_stories.setdefault(item.story, set()).add(index)
    multi = [members for members in gold_stories.values() if len(members) > 1]

    copies = [
        (index, signature(t, s)) for index, item in enumerate(items) for t, s in edited_copies(item)
    ]
    # An edited copy counts as found when it shares a candidate key with its original (so a
    # store would look at it) and is similar enough.
    copy_found = [
        similarity(sigs[index], sig) if set(sigs[index].keys) & set(sig.keys) else 0.0
        for index, sig in copies
    ]
    copy_keyed = sum(1 for score in copy_found if score > 0)

    print(f"file: {args.path} ({n} items, {len(gold_stories)} stories, {len(multi)} with copies)")
    print(f"pairs: {len(pairs)} ({len(gold)} copy pairs)")
    print(
        f"signature: {per_item_us:.0f} µs per item (mean of {args.repeat} rounds); "
        f"similarity: {per_pair_us:.1f} µs per pair"
    )
    keys_per_item = sum(len(s.keys) for s in sigs) / n
    print(
        f"candidate keys: {keys_per_item:.1f} per item; copy pairs sharing a key "
        f"{len(gold & shares_key)}/{len(gold)}; other pairs sharing a key "
        f"{len(shares_key - gold)}/{len(pairs) - len(gold)} "
        f"({100 * len(shares_key - gold) / max(1, len(pairs) - len(gold)):.2f}%); "
        f"edited copies sharing a key {copy_keyed}/{len(copies)}"
    )
    gold_sorted = sorted(round(scores[p], 3) for p in gold)
    others_top = sorted((round(scores[p], 3) for p in pairs if p not in gold), reverse=True)[:5]
    print(f"similarity of copy pairs: {gold_sorted}")
    print(f"highest similarity of other pairs: {others_top}")
    print()
    header = (
        "| threshold | pairs P | pairs R | clustered P | clustered R | clustered F1 "
        "| stories exact | clusters | edited copies R |"
    )
    print(header)
    print("|" + "---:|" * (header.count("|") - 1))
    for threshold in thresholds:
        flagged = {p for p in pairs if scores[p] >= threshold}
        p_pairs, r_pairs, _ = pair_figures(
            len(flagged & gold), len(flagged - gold), len(gold - flagged)
        )
        assigned = cluster(
            [(item.id, sig) for item, sig in zip(items, sigs, strict=True)], threshold
        )
        together = {(i, j) for i, j in pairs if assigned[i] == assigned[j]}
        p_cl, r_cl, f_cl = pair_figures(
            len(together & gold), len(together - gold), len(gold - together)
        )
        predicted: dict[str, set[int]] = {}
        for index, story in enumerate(assigned):
            predicted.setdefault(story, set()).add(index)
        exact = sum(1 for members in multi if members in predicted.values())
        copy_recall = sum(1 for s in copy_found if s >= threshold) / len(copy_found)
        mark = " (default)" if threshold == STORY_THRESHOLD else ""
        print(
            f"| {threshold:g}{mark} | {p_pairs:.3f} | {r_pairs:.3f} | {p_cl:.3f} | {r_cl:.3f} "
            f"| {f_cl:.3f} | {exact}/{len(multi)} | {len(predicted)} (gold {len(gold_stories)}) "
            f"| {copy_recall:.3f} |"
        )
    # the edited copies placed in the window, after all the originals: a copy is found when it
    # joins its original's story (common phrases weighed, as a store places items, or not)
    stream = [(item.id, sig) for item, sig in zip(items, sigs, strict=True)]
    stream += [(f"copy-{n}", sig) for n, (_, sig) in enumerate(copies)]
    for weighed in (True, False):
        placed = cluster(stream, phrases=weighed)
        joined = sum(
            1 for n, (index, _) in enumerate(copies) if placed[n + len(items)] == placed[index]
        )
        print(
            f"edited copies placed after the originals (threshold {STORY_THRESHOLD:g}, common "
            f"phrases {'weighed' if weighed else 'not weighed'}): {joined}/{len(copies)} "
            f"join their original's story ({joined / len(copies):.3f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
