"""Validation of watchlist files: every problem, with its file, line, rule and a hint."""

from __future__ import annotations

import textwrap

import pytest

from monitor.score.spec import TopicSpec, validate_watchlist
from monitor.yamlparse import parse_yaml

GOOD = """\
topics:
  - id: tariffs
    name: Tariffs
    description: Tariffs between the US and Canada.
    lang: [en, fr]
    threshold: 3
    alert_at: 8
    groups:
      tariff:
        weight: 3
        terms: ["tariff*", droits de douane, {regex: '\\b25 ?%'}]
      canada:
        weight: 0
        terms: [Canada, Ottawa]
    require: {all: [tariff, canada]}
"""


def check(text: str) -> tuple[list[TopicSpec], list[str]]:
    doc, problems = parse_yaml(textwrap.dedent(text), "w.yaml")
    assert doc is not None, problems
    topics, found = validate_watchlist(doc)
    return topics, [str(p) for p in found]


def test_a_good_watchlist_has_no_problems() -> None:
    topics, problems = check(GOOD)
    assert problems == []
    assert [t.id for t in topics] == ["tariffs"]
    assert topics[0].groups["tariff"].terms[2].regex == "\\b25 ?%"
    assert topics[0].lang == ["en", "fr"]


def test_lang_may_be_a_single_code() -> None:
    topics, problems = check(GOOD.replace("lang: [en, fr]", "lang: fr"))
    assert problems == []
    assert topics[0].lang == ["fr"]


def _topic(**override: str) -> str:
    """A one-topic watchlist with some lines replaced (line numbers as in ``base``)."""
    base = {
        "id": "id: tariffs",
        "threshold": "threshold: 3",
        "alert": "alert_at: 8",
        "terms": 'terms: ["tariff*", Canada]',
        "ctx": "terms: [Ottawa]",
        "require": "require: {all: [tariff, canada]}",
        "exclude": "exclude: []",
    }
    base.update(override)
    return textwrap.dedent(
        f"""\
        topics:
          - {base["id"]}
            name: Tariffs
            description: d
            {base["threshold"]}
            {base["alert"]}
            groups:
              tariff:
                weight: 3
                {base["terms"]}
              canada:
                weight: 0
                {base["ctx"]}
            {base["require"]}
            {base["exclude"]}
        """
    )


@pytest.mark.parametrize(
    ("override", "line", "expected"),
    [
        ({"threshold": "threshold: 0"}, 5, "threshold: Input should be greater than 0"),
        ({"threshold": "threshold: high"}, 5, "threshold"),
        ({"alert": "alert_at: 1"}, 6, "alert_at 1 is below threshold 3"),
        ({"alert": "alert_sat: 8"}, 6, "did you mean 'alert_at'?"),
        ({"id": "id: Tariffs"}, 2, "id 'Tariffs' must be lower-case"),
        ({"terms": 'terms: ["de*"]'}, 10, "group 'tariff', term 'de*': the prefix before"),
        ({"terms": "terms: [{regex: '(('}]"}, 10, "invalid regular expression"),
        ({"terms": "terms: [{regex: 'x*'}]"}, 10, "matches empty text"),
        ({"terms": "terms: [{regex: 'défense'}]"}, 10, "without accents"),
        ({"terms": "terms: [{term: a, regex: b}]"}, 10, "exactly one of 'term' or 'regex'"),
        ({"terms": "terms: []"}, 10, "group 'tariff' has no terms"),
        ({"terms": "terms: [tariff, Tariff]"}, 10, "repeats term 1 of the group"),
        (
            {"require": "require: {all: [tariff, canda]}"},
            14,
            "unknown group 'canda'; did you mean 'canada'?",
        ),
        ({"require": "require: {all: []}"}, 14, "require: 'all' has an empty list"),
        (
            {"require": "require: {any: [tariff], all: [canada]}"},
            14,
            "exactly one of any, all, none, near",
        ),
        ({"require": "require: {near: [tariff, canada]}"}, 14, "'near' needs 'within: N'"),
        ({"require": "require: {near: [tariff], within: 3}"}, 14, "exactly two group names"),
        ({"require": "require: {near: [tariff, canada], within: 99}"}, 14, "99 is out of range"),
        ({"require": "require: {all: [tariff], within: 3}"}, 14, "'within' belongs to a 'near'"),
        ({"require": "require: {nearr: [tariff]}"}, 14, "did you mean 'near'?"),
        (
            {"require": "require: {all: [tariff], across_sentences: true}"},
            14,
            "'across_sentences' belongs to a 'near'",
        ),
        (
            {"exclude": "alert_when: {near: [tariff, escalate], within: 8}"},
            15,
            "alert_when.near: unknown group 'escalate'",
        ),
        ({"require": "require: tariff"}, 12, "group 'canada' has weight 0 and no require/exclude"),
        (
            {"exclude": "exclude: [{none: [santa]}]"},
            15,
            "exclude[0].none[0]: unknown group 'santa'",
        ),
    ],
)
def test_each_problem_names_line_rule_and_hint(
    override: dict[str, str], line: int, expected: str
) -> None:
    _, problems = check(_topic(**override))
    assert any(p.startswith(f"w.yaml:{line}: ") and expected in p for p in problems), problems


def test_a_context_group_may_serve_only_the_alert_condition() -> None:
    text = _topic(
        require="require: tariff", exclude="alert_when: {near: [canada, tariff], within: 8}"
    )
    topics, problems = check(text)
    assert problems == []
    assert topics[0].alert_when is not None
    assert topics[0].alert_when.describe() == "near(canada, tariff; within 8 words)"


def test_all_problems_are_reported_at_once() -> None:
    text = _topic(
        threshold="threshold: 0",
        require="require: {all: [tariff, canda]}",
    ) + (
        "  - id: second\n"
        "    name: S\n"
        "    description: d\n"
        "    threshold: 1\n"
        "    groups:\n"
        '      g: {terms: ["x*"]}\n'
        "      h: {weight: 2, terms: [{regex: '[a'}]}\n"
        "      ok: {terms: [fine]}\n"
        "    colour: red\n"
    )
    _, problems = check(text)
    joined = "\n".join(problems)
    assert "threshold" in joined
    assert "unknown key 'colour'" in joined
    # the broken topic's well-formed groups are still checked
    assert "term 'x*'" in joined
    assert "invalid regular expression" in joined
    assert len(problems) >= 4


def test_duplicate_topic_ids_in_one_file() -> None:
    text = GOOD + GOOD.split("topics:\n", 1)[1]
    _, problems = check(text)
    assert any("topic id 'tariffs' is already used at line 2" in p for p in problems)
    assert problems[0].startswith("w.yaml:16:")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]\n", "needs a top-level 'topics:' list"),
        ("topics: 3\n", "'topics' must be a list"),
        ("topics: []\nextra: 1\n", "unknown key 'extra' at top level"),
    ],
)
def test_file_shape(text: str, expected: str) -> None:
    _, problems = check(text)
    assert any(expected in p for p in problems), problems


def test_no_positive_weight_can_never_match() -> None:
    _, problems = check(_topic(terms='terms: ["tariff*"]').replace("weight: 3", "weight: -1"))
    assert any("no group has a positive weight" in p for p in problems)
