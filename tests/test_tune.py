"""Suggested rule changes: tables of labelled items and what ``suggest`` proposes for them."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from monitor.evaluate import evaluate
from monitor.score.engine import compile_topics
from monitor.score.spec import TopicSpec
from monitor.tune import suggest, terms_of

NORAD = TopicSpec.model_validate(
    {
        "id": "norad",
        "name": "NORAD",
        "description": "NORAD's future",
        "threshold": 3,
        "groups": {"norad": {"weight": 3, "terms": ["NORAD", "North Warning System"]}},
    }
)
TARIFFS = TopicSpec.model_validate(
    {
        "id": "tariffs",
        "name": "Tariffs",
        "description": "US-Canada tariffs",
        "threshold": 3,
        "groups": {
            "tariff": {"weight": 3, "terms": ["tariff*"]},
            "canada": {"weight": 0, "terms": ["Canada", "Canadian*"]},
        },
        "require": {"all": ["tariff", "canada"]},
    }
)


def _yaml(text: str) -> Any:
    return _plain(YAML(typ="safe").load(text))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def row(i: str, title: str, grade: int, topic: str = "norad", summary: str = "") -> dict[str, Any]:
    return {"id": i, "title": title, "summary": summary, "lang": "en", "labels": {topic: grade}}


SANTA_ROWS = [
    row("r1", "NORAD modernization funding announced", 2),
    row("r2", "Canada and US sign NORAD radar deal", 2),
    row("r3", "NORAD review begins in Ottawa", 2),
    row("f1", "NORAD tracks Santa over the Atlantic", 0),
    row("f2", "Kids call NORAD Santa tracker hotline", 0),
    row("n1", "Hockey night in Canada", 0),
]


def _figures(topic: TopicSpec, rows: list[dict[str, Any]]) -> tuple[float, float]:
    ev = evaluate(rows, compile_topics([topic]), topic.id).topics[topic.id]
    return ev.precision, ev.recall


def test_a_word_of_the_false_positives_becomes_an_exclusion_with_its_measured_effect() -> None:
    report = suggest(NORAD, SANTA_ROWS)
    best = report.suggestions[0]
    assert (best.kind, best.term, best.group) == ("exclude", "santa", "not_santa")
    assert best.fixes == ("f1", "f2") and best.breaks == ()
    # the figures are those monitor eval gives for the topic before and after the change
    assert (report.before.precision, report.before.recall) == _figures(NORAD, SANTA_ROWS)
    assert (best.after.precision, best.after.recall) == _figures(best.topic, SANTA_ROWS)
    assert (best.before.precision, best.after.precision) == (3 / 5, 1.0)
    assert best.after.recall == best.before.recall == 1.0
    assert "in 2 of 2 false positives, 0 of 3 relevant items" == best.evidence
    snippet = _yaml(best.yaml)
    assert snippet == {
        "groups": {"not_santa": {"weight": 0, "terms": ["santa"]}},
        "exclude": ["not_santa"],
    }


def test_a_term_of_the_relevant_items_is_never_an_exclusion() -> None:
    report = suggest(NORAD, SANTA_ROWS)
    assert all("norad" not in s.term for s in report.suggestions)
    assert all(not s.breaks for s in report.suggestions)


def test_an_exclusion_that_would_cost_a_relevant_item_is_not_proposed() -> None:
    rows = [*SANTA_ROWS, row("r4", "NORAD says Santa flight is a cover for its radar test", 2)]
    report = suggest(NORAD, rows)
    assert [s.term for s in report.suggestions if s.kind == "exclude" and s.term == "santa"] == []


def test_a_term_of_missed_items_becomes_an_alias() -> None:
    rows = [
        *SANTA_ROWS[:3],
        row("m1", "Golden Dome missile shield: Ottawa weighs joining", 2),
        row("m2", "Cost of Golden Dome for Canada unclear", 2),
        row("n1", "Golden retriever wins dog show", 0),
    ]
    report = suggest(NORAD, rows)
    best = report.suggestions[0]
    assert (best.kind, best.term, best.group) == ("alias", "golden dome", "norad")
    assert best.fixes == ("m1", "m2") and best.breaks == ()
    # "dome" fixes the same items: one suggestion says it
    assert [s.term for s in report.suggestions if s.kind == "alias"] == ["golden dome"]
    assert (best.before.recall, best.after.recall) == (3 / 5, 1.0)
    assert (best.after.precision, best.after.recall) == _figures(best.topic, rows)
    assert _yaml(best.yaml) == {"groups": {"norad": {"terms": ["golden dome"]}}}


def test_a_term_of_one_mistake_among_several_is_not_proposed() -> None:
    rows = [
        *SANTA_ROWS[:3],
        row("m1", "Golden Dome missile shield weighed", 2),
        row("m2", "Radar gap over Hudson Bay worries planners", 2),
    ]
    assert suggest(NORAD, rows).suggestions == ()
    # the same word alone in the only miss is evidence enough to propose
    alone = suggest(NORAD, [*SANTA_ROWS[:3], row("m1", "Golden Dome missile shield weighed", 2)])
    assert alone.suggestions and alone.suggestions[0].fixes == ("m1",)


def test_a_missing_requirement_is_fixed_with_a_context_term() -> None:
    rows = [
        row("t1", "Canada answers US tariffs on steel", 2, "tariffs"),
        row("m1", "Ottawa answers new US tariffs on lumber", 2, "tariffs"),
        row("m2", "Tariffs on Ottawa's dairy exports doubled", 2, "tariffs"),
        row("n1", "US tariffs on Chinese goods rise", 0, "tariffs"),
        row("n2", "Electricity tariffs up in Europe", 0, "tariffs"),
    ]
    report = suggest(TARIFFS, rows)
    best = report.suggestions[0]
    assert (best.kind, best.term, best.group) == ("context", "ottawa", "canada")
    assert best.fixes == ("m1", "m2")
    assert (best.before.recall, best.after.recall) == (1 / 3, 1.0)
    # as an alias the same word would not help: the requirement still fails
    assert not any(s.kind == "alias" and s.term == "ottawa" for s in report.suggestions)


@pytest.mark.parametrize(
    "rows",
    [[], [row("r1", "NORAD review", 2), row("n1", "Hockey night", 0)], [row("b1", "NORAD", 1)]],
    ids=["no labels", "all right", "borderline only"],
)
def test_nothing_to_fix_suggests_nothing(rows: list[dict[str, Any]]) -> None:
    report = suggest(NORAD, rows)
    assert report.suggestions == ()
    assert (report.before.precision, report.before.recall) == (1.0, 1.0)


def test_candidate_terms_are_folded_words_and_pairs_without_stopwords() -> None:
    assert terms_of("Défense: the NORAD-review", "of 2025") == {
        "defense",
        "norad",
        "review",
        "norad review",
    }
