"""Evaluation of topics against labelled items, and reading labelled JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.configio import read_jsonl
from monitor.errors import InputError
from monitor.evaluate import (
    TopicEval,
    evaluate,
    evaluate_folds,
    parse_jsonl,
    story_folds,
)
from monitor.score.engine import Matcher, compile_topics
from monitor.score.spec import GroupSpec, TermSpec, TopicSpec


def matcher() -> Matcher:
    return compile_topics(
        [
            TopicSpec(
                id="tariffs",
                name="Tariffs",
                description="d",
                threshold=2,
                groups={"g": GroupSpec(weight=2, terms=[TermSpec(term="tariff*")])},
            ),
            TopicSpec(
                id="norad",
                name="NORAD",
                description="d",
                threshold=2,
                groups={
                    "g": GroupSpec(weight=2, terms=[TermSpec(term="NORAD")]),
                    "santa": GroupSpec(weight=0, terms=[TermSpec(term="Santa")]),
                },
                exclude=[{"group": "santa"}],  # type: ignore[list-item]
            ),
        ]
    )


ROWS = [
    {"id": "a", "title": "Tariffs on steel", "summary": "", "labels": {"tariffs": 2, "norad": 0}},
    {"id": "b", "title": "Tariffs on water", "summary": "", "labels": {"tariffs": 0, "norad": 0}},
    {"id": "c", "title": "Trade talks", "summary": "duties", "labels": {"tariffs": 2}},
    {"id": "d", "title": "Tariff mention", "summary": "", "labels": {"tariffs": 1}},
    {"id": "e", "title": "NORAD future", "summary": "", "labels": {"norad": 2, "tariffs": 0}},
    {"id": "f", "title": "NORAD tracks Santa", "summary": "", "labels": {"norad": 2}},
    {"id": "g", "title": "Weather", "summary": "", "labels": {"norad": 0, "tariffs": 0}},
]


def test_counts_and_figures() -> None:
    report = evaluate(ROWS, matcher())
    t = report.topics["tariffs"]
    assert (t.tp, t.fp, t.fn, t.tn, t.ignored) == (1, 1, 1, 2, 1)
    assert t.precision == 0.5 and t.recall == 0.5 and t.f1 == 0.5
    n = report.topics["norad"]
    assert (n.tp, n.fp, n.fn, n.tn) == (1, 0, 1, 3)
    assert n.precision == 1.0 and n.recall == 0.5
    assert n.f1 == pytest.approx(2 / 3)


def test_mistakes_carry_title_and_reasons() -> None:
    report = evaluate(ROWS, matcher())
    (fp,) = report.topics["tariffs"].false_positives
    assert (fp.id, fp.title, fp.score, fp.decision) == ("b", "Tariffs on water", 4, "match")
    assert fp.reasons == ("group g: 'Tariffs' in title@0 (+4)",)
    (fn,) = report.topics["norad"].false_negatives
    assert (fn.id, fn.decision) == ("f", "vetoed")
    assert any(r.startswith("exclude santa") for r in fn.reasons)


def test_every_item_is_reported_with_its_matches() -> None:
    report = evaluate(ROWS, matcher())
    assert [i.id for i in report.items] == [r["id"] for r in ROWS]
    assert dict(report.items[0].matched) == {"tariffs": 4}
    assert dict(report.items[4].matched) == {"norad": 4}
    assert dict(report.items[6].matched) == {}


def test_one_topic_only() -> None:
    report = evaluate(ROWS, matcher(), topic="norad")
    assert list(report.topics) == ["norad"]
    assert all(set(i.matched) <= {"norad"} for i in report.items)
    with pytest.raises(ValueError, match="unknown topic 'nope'; the watchlists define: tariffs"):
        evaluate(ROWS, matcher(), topic="nope")


def test_json_shape() -> None:
    data = evaluate(ROWS, matcher()).as_json()
    assert set(data) == {"topics", "items"}
    assert set(data["topics"]["tariffs"]) == {
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
        "matches",
        "alerts",
        "by_lang",
        "false_positives",
        "false_negatives",
    }
    assert data["items"][0] == {"id": "a", "matched": {"tariffs": 4.0}}
    json.dumps(data)


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "precision", "recall", "f1"),
    [
        (0, 0, 0, 1.0, 1.0, 1.0),
        (0, 2, 0, 0.0, 1.0, 0.0),
        (0, 0, 3, 1.0, 0.0, 0.0),
        (3, 1, 0, 0.75, 1.0, 6 / 7),
    ],
)
def test_edge_figures(
    tp: int, fp: int, fn: int, precision: float, recall: float, f1: float
) -> None:
    ev = TopicEval("t", tp=tp, fp=fp, fn=fn)
    assert (ev.precision, ev.recall) == (precision, recall)
    assert ev.f1 == pytest.approx(f1)


def test_read_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n", encoding="utf-8")
    assert read_jsonl(path) == ROWS


def test_bad_lines_are_all_reported_with_their_numbers() -> None:
    text = "\n".join(
        [
            '{"id": "a", "title": "ok", "labels": {"t": 2}}',
            "{not json",
            "[1, 2]",
            '{"id": "b", "labels": {"t": 5}}',
            '{"id": "a", "title": "again"}',
            '{"id": "c", "title": "x", "labels": [], "lang": 3}',
        ]
    )
    with pytest.raises(InputError) as err:
        parse_jsonl(text, "x.jsonl")
    lines = [str(p) for p in err.value.problems]
    assert lines[0].startswith("x.jsonl:2: not valid JSON")
    assert lines[1].startswith("x.jsonl:3: expected a JSON object")
    assert any(x.startswith("x.jsonl:4: missing or non-text 'title'") for x in lines)
    assert any(x.startswith("x.jsonl:4: labels.t is 5") for x in lines)
    assert any(x.startswith("x.jsonl:5: id 'a' is already used on line 1") for x in lines)
    assert any(x.startswith("x.jsonl:6: 'labels' must be an object") for x in lines)
    assert any(x.startswith("x.jsonl:6: 'lang' must be a language code") for x in lines)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="file not found"):
        read_jsonl("/nonexistent/items.jsonl")


def test_figures_per_language() -> None:
    rows = [
        {"id": "e1", "lang": "en", "title": "Tariffs on steel", "labels": {"tariffs": 2}},
        {"id": "e2", "lang": "en-CA", "title": "Tariffs on water", "labels": {"tariffs": 0}},
        {"id": "f1", "lang": "fr", "title": "Droits de douane", "labels": {"tariffs": 2}},
        {"id": "f2", "lang": "fr-CA", "title": "Tarifs douaniers", "labels": {"tariffs": 2}},
        {"id": "x", "title": "Tariff news", "labels": {"tariffs": 2}},
    ]
    t = evaluate(rows, matcher(), topic="tariffs").topics["tariffs"]
    assert set(t.by_lang) == {"en", "fr", "?"}
    en, fr = t.by_lang["en"], t.by_lang["fr"]
    assert (en.tp, en.fp, en.fn, en.positives) == (1, 1, 0, 1)
    assert (fr.tp, fr.fp, fr.fn, fr.positives) == (0, 0, 2, 2)
    assert fr.recall == 0.0 and en.precision == 0.5
    assert (t.tp, t.fp, t.fn) == (2, 1, 2)
    assert t.as_json()["by_lang"]["fr"]["positives"] == 2


def test_matches_and_alerts_are_counted() -> None:
    m = compile_topics(
        [
            TopicSpec(
                id="tariffs",
                name="Tariffs",
                description="d",
                threshold=2,
                groups={
                    "g": GroupSpec(weight=2, terms=[TermSpec(term="tariff*")]),
                    "up": GroupSpec(weight=0, terms=[TermSpec(term="retaliat*")]),
                },
                alert_when={"near": ["up", "g"], "within": 3},  # type: ignore[arg-type]
            )
        ]
    )
    rows = [
        {"id": "1", "title": "Ottawa retaliates with tariffs", "labels": {}},
        {"id": "2", "title": "Tariffs on steel", "labels": {"tariffs": 1}},
        {"id": "3", "title": "Weather", "labels": {"tariffs": 0}},
    ]
    t = evaluate(rows, m).topics["tariffs"]
    assert (t.matches, t.alerts) == (2, 1)


def test_story_folds_keep_copies_together_and_cover_every_item() -> None:
    rows = [
        {"id": str(i), "title": f"item {i}", "story_id": f"s{i // 3}", "labels": {}}
        for i in range(30)
    ] + [{"id": "lone", "title": "no story", "labels": {}}]
    folds = story_folds(rows, 4)
    assert len(folds) == 4
    assert sorted(r["id"] for f in folds for r in f) == sorted(r["id"] for r in rows)
    where = {r["story_id"]: i for i, f in enumerate(folds) for r in f if "story_id" in r}
    for i, fold in enumerate(folds):
        assert all(where[r["story_id"]] == i for r in fold if "story_id" in r)
    # 11 stories dealt to 4 folds: 2 or 3 each, whatever the order of the file
    assert sorted(len({r.get("story_id", r["id"]) for r in f}) for f in folds) == [2, 3, 3, 3]
    assert story_folds(list(reversed(rows)), 4)[0][0]["id"] in {r["id"] for r in folds[0]}
    with pytest.raises(ValueError, match="between 2 and 11"):
        story_folds(rows, 12)


def test_each_fold_is_measured_on_its_own() -> None:
    rows = [dict(r, story_id=r["id"]) for r in ROWS]
    reports = evaluate_folds(rows, matcher(), 3)
    assert len(reports) == 3
    whole = evaluate(rows, matcher()).topics["tariffs"]
    assert sum(r.topics["tariffs"].tp for r in reports) == whole.tp
    assert sum(r.topics["tariffs"].fp for r in reports) == whole.fp
    assert sum(len(r.items) for r in reports) == len(rows)
