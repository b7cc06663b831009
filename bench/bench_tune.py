"""How long `monitor tune` takes, against one `monitor eval` of the same topic on the same labels.

``suggest`` measures every candidate change by compiling the changed topic and scoring the
labelled items that contain the candidate term; this prints, per topic of the shipped
watchlist, the time of one plain evaluation (the baseline: compile the topic once, score every
labelled item), the time of ``suggest`` and their ratio, measured in the same run.

Each topic is first weakened so that there is something to suggest: its exclusions are
dropped (and the groups only they used), and its main group keeps a third of its terms.

    python bench/bench_tune.py ../shared/eval/dev.jsonl
    python bench/bench_tune.py ../shared/eval/dev.jsonl --repeat 5

The labelled file is read from where it is given; nothing from it is kept.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import load_watchlists
from monitor.configio import read_jsonl
from monitor.evaluate import evaluate
from monitor.score.engine import compile_topics
from monitor.score.spec import TopicSpec
from monitor.tune import suggest

WATCHLIST = Path(__file__).resolve().parents[1] / "config" / "watchlists" / "us-canada.yaml"


def weakened(topic: TopicSpec) -> TopicSpec:
    """The topic without its exclusions and with a third of its main group's terms."""
    used: set[str] = set()
    for cond in (topic.require, topic.alert_when):
        if cond is not None:
            used.update(cond.groups())
    groups = {n: g for n, g in topic.groups.items() if g.weight > 0 or n in used}
    main = max(groups, key=lambda n: groups[n].weight)
    terms = groups[main].terms
    groups[main] = groups[main].model_copy(update={"terms": terms[: max(1, len(terms) // 3)]})
    return topic.model_copy(update={"groups": groups, "exclude": []})


def timed(fn: object, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path, help="labelled items (the format monitor eval reads)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    rows = read_jsonl(args.labels)
    print(f"{len(rows)} labelled items from {args.labels.name}; median of {args.repeat} runs")
    print(f"{'topic':<18}{'eval (ms)':>10}{'tune (ms)':>11}{'ratio':>8}  suggestions")
    for topic in load_watchlists([WATCHLIST]):
        weak = weakened(topic)
        base = timed(lambda w=weak: evaluate(rows, compile_topics([w]), w.id), args.repeat)
        tune = timed(lambda w=weak: suggest(w, rows), args.repeat)
        report = suggest(weak, rows)
        shown = ", ".join(f"{s.kind} '{s.term}'" for s in report.suggestions) or "-"
        print(f"{topic.id:<18}{base * 1000:>10.0f}{tune * 1000:>11.0f}{tune / base:>8.1f}  {shown}")


if __name__ == "__main__":
    main()
