"""Which judgement stands, the labels it exports, and a topic's figures from its judgements."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.evaluate import parse_jsonl
from monitor.feedback import Judgement, labelled_rows, latest, topic_feedback

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def j(n: int, item: int, topic: str, verdict: str, matched: bool, title: str = "") -> Judgement:
    return Judgement(
        id=n,
        item_id=item,
        topic=topic,
        verdict=verdict,  # type: ignore[arg-type]
        matched=matched,
        created_at=T0 + timedelta(minutes=n),
        title=title or f"item {item}",
    )


@pytest.mark.parametrize(
    ("verdict", "matched", "kind"),
    [
        ("relevant", True, "match"),
        ("not_relevant", True, "false positive"),
        ("relevant", False, "miss"),
        ("not_relevant", False, "non-match"),
    ],
)
def test_what_a_judgement_says_of_the_watchlist(verdict: str, matched: bool, kind: str) -> None:
    assert j(1, 1, "norad", verdict, matched).kind == kind


def test_the_last_recorded_stands() -> None:
    history = [
        j(1, 1, "norad", "relevant", True),
        j(3, 1, "norad", "not_relevant", True),
        j(2, 1, "tariffs", "relevant", False),
        j(4, 2, "norad", "relevant", False),
    ]
    assert [x.id for x in latest(history)] == [4, 3, 2]
    assert [x.id for x in latest(reversed(history))] == [4, 3, 2]


def test_export_is_one_row_per_item_in_the_format_eval_reads() -> None:
    history = [
        j(1, 7, "norad", "relevant", True, "old title"),
        j(2, 7, "tariffs", "relevant", False, "new title"),
        j(3, 7, "norad", "not_relevant", True, "new title"),
        j(4, 3, "norad", "relevant", False),
    ]
    rows = labelled_rows(history)
    assert [(r["id"], r["labels"], r["title"]) for r in rows] == [
        ("3", {"norad": 2}, "item 3"),
        ("7", {"norad": 0, "tariffs": 2}, "new title"),
    ]
    text = "\n".join(json.dumps(r) for r in rows)
    assert parse_jsonl(text, "export") == rows


def test_a_topics_figures_from_its_judgements() -> None:
    figures = topic_feedback(
        [
            j(1, 1, "norad", "relevant", True),
            j(2, 2, "norad", "relevant", True),
            j(3, 3, "norad", "not_relevant", True),
            j(4, 4, "norad", "relevant", False),
            j(5, 5, "norad", "not_relevant", False),
            j(6, 3, "norad", "relevant", True),  # replaces 3: no false positive left
            j(7, 1, "tariffs", "relevant", False),
        ]
    )
    norad, tariffs = figures["norad"], figures["tariffs"]
    assert (norad.right, norad.false_positives, norad.misses, norad.right_non_matches) == (
        3,
        0,
        1,
        1,
    )
    assert (norad.precision, norad.recall, norad.judged) == (1.0, 3 / 4, 5)
    assert (tariffs.precision, tariffs.recall) == (None, 0.0)
