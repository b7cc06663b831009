"""The matching engine: what each rule of the language does, scores, reasons, safety."""

from __future__ import annotations

import textwrap
import threading
from typing import Any

import pytest

from monitor.errors import ConfigError
from monitor.model import TopicMatch
from monitor.score.engine import Matcher, compile_topics
from monitor.score.spec import TopicSpec, validate_watchlist
from monitor.yamlparse import parse_yaml


def topics_from(text: str) -> list[TopicSpec]:
    doc, problems = parse_yaml(textwrap.dedent(text), "t.yaml")
    assert doc is not None, problems
    topics, problems = validate_watchlist(doc)
    assert not problems, [str(p) for p in problems]
    return topics


def one_topic(groups: str, **keys: Any) -> Matcher:
    """A matcher of one topic ``t`` with the given groups (YAML) and topic keys."""
    lines = [
        "topics:",
        "  - id: t",
        "    name: T",
        "    description: test topic",
        f"    threshold: {keys.pop('threshold', 1)}",
    ]
    for key, value in keys.items():
        lines.append(f"    {key}: {value}")
    lines.append("    groups:")
    lines.extend("      " + line for line in textwrap.dedent(groups).strip().splitlines())
    return compile_topics(topics_from("\n".join(lines) + "\n"))


def score(m: Matcher, title: str, summary: str = "", lang: str | None = None) -> float | None:
    found = [x for x in m.score(title, summary, lang) if x.topic == "t"]
    return found[0].score if found else None


# (groups, extra topic keys, title, summary, expected score or None for no match)
CASES: list[tuple[str, dict[str, Any], str, str, float | None]] = [
    # phrases, case, accents, apostrophes, punctuation
    ("g: {terms: [five eyes]}", {}, "The FIVE-EYES alliance", "", 2),
    ("g: {terms: [défense nationale]}", {}, "", "Defense Nationale budget", 1),
    ("g: {terms: [defense nationale]}", {}, "La Défense nationale", "", 2),
    ('g: {terms: ["l\'Arctique"]}', {}, "Dans l’Arctique", "", 2),
    # word boundaries: no match inside another word
    ("g: {terms: [defence]}", {}, "Star defencemen", "", None),
    ("g: {terms: [arctic]}", {}, "Antarctic ice", "", None),
    # acronyms are case-sensitive, other terms are not
    ("g: {terms: [NORAD]}", {}, "norad is lower case", "", None),
    ("g: {terms: [NORAD]}", {}, "NORAD’s future", "", 2),
    ("g: {terms: [US]}", {}, "Tell us more", "", None),
    ("g: {terms: [US]}", {}, "US tariffs", "", 2),
    ("g: {terms: [{term: NORAD, case: insensitive}]}", {}, "norad", "", 2),
    ("g: {terms: [{term: Norad, case: sensitive}]}", {}, "NORAD", "", None),
    ("g: {terms: [{term: Norad, case: sensitive}]}", {}, "a Norad commander", "", 2),
    # prefixes and alternatives
    ('g: {terms: ["tariff*"]}', {}, "Tariffs rise", "", 2),
    ('g: {terms: ["tariff*"]}', {}, "counter-tariffs", "", 2),
    ('g: {terms: ["tariff*"]}', {}, "anti-tariff", "", 2),
    ('g: {terms: ["tariff*"]}', {}, "pretariff talk", "", None),
    ('g: {terms: ["defen{c,s}e budget"]}', {}, "", "the defense budget", 1),
    ('g: {terms: ["icebreaker{,s}"]}', {}, "three icebreakers", "", 2),
    # regex terms see accent-free text with punctuation
    ("g: {terms: [{regex: '\\b25 ?%'}]}", {}, "Un tarif de 25 %", "", 2),
    ("g: {terms: [{regex: 'defense'}]}", {}, "La Défense", "", 2),
    ("g: {terms: [{regex: 'NORAD', case: sensitive}]}", {}, "norad", "", None),
    ("g: {terms: [{regex: '\\$ ?\\d+ ?b\\b'}]}", {}, "A $5 B plan", "", 2),
    ("g: {terms: [{regex: '\\$ ?\\d+ ?b\\b'}]}", {}, "A 5 B plan", "", None),
    ("g: {terms: [{regex: '\\$ ?\\d+ ?b\\b'}, {regex: '\\d+ ?%'}]}", {}, "", "25 %", 1),
    # field weights and counting
    ("g: {terms: [nato]}", {}, "NATO", "NATO", 3),
    ("g: {weight: 2, terms: [nato]}", {"fields": "{title: 3, summary: 0.5}"}, "NATO", "NATO", 7),
    ("g: {terms: [nato, otan]}", {}, "", "NATO et OTAN", 1),
    ("g: {count: each, terms: [nato, otan]}", {}, "", "NATO et OTAN", 2),
    ("g: {count: each, max: 2.5, terms: [a1, b1, c1]}", {}, "", "a1 b1 c1", 2.5),
    ("g: {terms: [nato]}\nh: {weight: -1, terms: [hockey]}", {}, "NATO hockey", "", None),
    # threshold
    ("g: {terms: [nato]}", {"threshold": 2}, "", "NATO", None),
    ("g: {terms: [nato]}", {"threshold": 2}, "NATO", "", 2),
]


@pytest.mark.parametrize(("groups", "keys", "title", "summary", "expected"), CASES)
def test_rule_language(
    groups: str, keys: dict[str, Any], title: str, summary: str, expected: float | None
) -> None:
    assert score(one_topic(groups, **keys), title, summary) == expected


REQUIRE = """\
tariff: {weight: 3, terms: ["tariff*"]}
canada: {weight: 0, terms: [Canada, Ottawa]}
mexico: {weight: 0, terms: [Mexico]}
santa: {weight: 0, terms: [Santa]}
"""


@pytest.mark.parametrize(
    ("rules", "title", "expected"),
    [
        ({"require": "{all: [tariff, canada]}"}, "Tariffs on Canada", 6),
        ({"require": "{all: [tariff, canada]}"}, "Tariffs on Mexico", None),
        ({"require": "{any: [canada, mexico]}"}, "Tariffs on Mexico", 6),
        ({"require": "{all: [tariff, {none: [mexico]}]}"}, "Tariffs on Mexico", None),
        ({"require": "{all: [tariff, {none: [mexico]}]}"}, "Tariffs on Canada", 6),
        ({"require": "{near: [tariff, canada], within: 2}"}, "Tariffs hit Canada", 6),
        ({"require": "{near: [tariff, canada], within: 0}"}, "Tariffs hit Canada", None),
        ({"require": "{near: [canada, tariff], within: 1}"}, "Tariffs hit Canada", 6),
        ({"require": "{near: [tariff, canada], within: 2}"}, "Tariffs hit hard in Canada", None),
        (
            {"exclude": "[santa]", "require": "{any: [tariff, canada, mexico]}"},
            "Santa tariffs",
            None,
        ),
        (
            {"exclude": "[{all: [santa, mexico]}]", "require": "{any: [tariff, canada]}"},
            "Santa tariffs",
            6,
        ),
        (
            {"require": "{any: [canada, {all: [mexico, {near: [tariff, mexico], within: 1}]}]}"},
            "Mexico tariffs",
            6,
        ),
    ],
)
def test_groups_context_proximity_and_exclusions(
    rules: dict[str, str], title: str, expected: float | None
) -> None:
    # every test topic must use its context groups somewhere; exclude an unused one
    keys = dict(rules)
    keys.setdefault("exclude", "[{all: [santa, mexico, canada]}]")
    assert score(one_topic(REQUIRE, **keys), title) == expected


def test_proximity_is_within_one_field() -> None:
    m = one_topic(REQUIRE, require="{near: [tariff, canada], within: 3}", exclude="[santa, mexico]")
    assert score(m, "Canada", "tariffs") is None
    assert score(m, "Canada", "new tariffs for Canada") == 3


BORDER = """\
border: {weight: 2, terms: ["border*"]}
canada: {weight: 0, terms: [Canada, Ottawa]}
"""

# A US-Mexico story that mentions Canada in its next sentence: the border is not Canada's.
MEXICO_THEN_CANADA = (
    "Border Patrol arrests at U.S.-Mexico border climb.",
    "Officials reported more crossings in Texas and Arizona. The numbers in Canada are small.",
)


def test_proximity_stays_inside_one_sentence() -> None:
    m = one_topic(BORDER, require="{near: [border, canada], within: 15}")
    title, summary = MEXICO_THEN_CANADA
    assert score(m, f"{title} {summary}") is None
    # abbreviations such as "U.S." do not end a sentence
    assert score(m, "U.S. border agents meet Canada's RCMP") == 4
    (why,) = m.explain(f"{title} Canada", "")
    assert why.decision == "requirement_not_met"


def test_proximity_may_cross_sentences_when_asked() -> None:
    m = one_topic(BORDER, require="{near: [border, canada], within: 15, across_sentences: true}")
    title, _ = MEXICO_THEN_CANADA
    assert score(m, f"{title} Canada responds.") == 4
    (why,) = m.explain(f"{title} Canada responds.", "")
    assert "across sentences" in why.detail or any(
        "across sentences" in r.rule for r in why.reasons
    )


def test_proximity_splits_french_sentences() -> None:
    m = one_topic(
        "border: {weight: 2, terms: [frontière]}\ncanada: {weight: 0, terms: [Canada]}",
        require="{near: [border, canada], within: 10}",
    )
    assert score(m, "M. Carney parle de la frontière du Canada", "", "fr") == 4
    assert score(m, "La frontière mexicaine est fermée. Le Canada observe.", "", "fr") is None


def test_language_of_the_topic() -> None:
    m = one_topic("g: {terms: [nato, otan]}", lang="[fr]")
    assert score(m, "OTAN", "", "fr-CA") == 2
    assert score(m, "OTAN", "", "en") is None
    assert score(m, "OTAN", "", None) == 2
    (why,) = m.explain("OTAN", "", "en")
    assert why.decision == "other_language"


def test_severity_and_urgent() -> None:
    m = one_topic("g: {weight: 2, terms: [norad]}", alert_at=5, urgent="true")
    (low,) = m.score("", "NORAD")
    (high,) = m.score("NORAD", "NORAD")
    assert (low.severity, low.urgent) == ("digest", False)
    assert (high.severity, high.urgent) == ("alert", True)
    assert high.score == 6


def test_reasons_name_term_field_position_weight_and_rule() -> None:
    m = one_topic(
        REQUIRE,
        require="{all: [tariff, {near: [tariff, canada], within: 3}]}",
        exclude="[santa, mexico]",
    )
    (match,) = m.score("New tariffs", "Ottawa answers the tariffs on Canada’s steel.")
    assert isinstance(match, TopicMatch)
    rows = [(r.term, r.field, r.position, r.weight, r.rule) for r in match.reasons]
    assert ("tariffs", "title", 4, 6.0, "group tariff") in rows
    assert ("tariffs", "summary", 19, 3.0, "group tariff") in rows
    assert ("Ottawa", "summary", 0, 0.0, "context canada") in rows
    # a match keeps one term of each context group per field; explain keeps them all
    assert ("Canada", "summary", 30, 0.0, "context canada") not in rows
    (full,) = m.explain("New tariffs", "Ottawa answers the tariffs on Canada’s steel.")
    assert ("Canada", "summary", 30, 0.0, "context canada") in [
        (r.term, r.field, r.position, r.weight, r.rule) for r in full.reasons
    ]
    assert any(r[4].startswith("near(tariff, canada") and r[3] == 0 for r in rows)
    assert sum(r.weight for r in match.reasons) == match.score
    assert "group tariff: 'tariffs' in title@4 (+6)" in [str(r) for r in match.reasons]


def test_explain_shows_near_misses_and_vetoes() -> None:
    m = one_topic(
        REQUIRE, threshold=4, require="{all: [tariff, canada]}", exclude="[santa, mexico]"
    )
    (below,) = m.explain("", "tariffs in Canada")
    assert (below.decision, below.score, below.matched) == ("below_threshold", 3, False)
    (missing,) = m.explain("tariffs", "")
    assert missing.decision == "requirement_not_met"
    assert "not found: canada" in missing.detail
    (vetoed,) = m.explain("Santa and tariffs in Canada", "")
    assert vetoed.decision == "vetoed"
    assert vetoed.score == 6
    assert vetoed.reasons[-1].rule == "exclude santa"
    assert vetoed.reasons[-1].term == "Santa"
    (nothing,) = m.explain("weather", "rain")
    assert nothing.decision == "no_terms"
    (ok,) = m.explain("tariffs on Canada", "")
    assert ok.matched and ok.severity == "digest"


def test_explain_and_score_agree() -> None:
    m = one_topic(REQUIRE, require="{all: [tariff, canada]}", exclude="[santa, mexico]")
    for title in ("tariffs on Canada", "tariffs", "Santa tariffs Canada", "Canada"):
        matched = {x.topic: x.score for x in m.score(title, "")}
        explained = {e.topic: e.score for e in m.explain(title, "") if e.matched}
        assert matched == explained


def test_many_topics_share_one_scan() -> None:
    text = """\
    topics:
      - id: a
        name: A
        description: a
        threshold: 1
        groups: {g: {terms: [canada]}}
      - id: b
        name: B
        description: b
        threshold: 1
        groups: {g: {weight: 3, terms: [canada, "tariff*"]}}
    """
    m = compile_topics(topics_from(text))
    assert m.topic_ids == ("a", "b")
    assert [(x.topic, x.score) for x in m.score("Canada tariffs", "")] == [("b", 6), ("a", 2)]


def test_matcher_is_immutable_and_thread_safe() -> None:
    m = one_topic(REQUIRE, require="{all: [tariff, canada]}", exclude="[santa, mexico]")
    with pytest.raises(AttributeError):
        m.topic_ids = ()  # type: ignore[misc]
    titles = [f"tariffs on Canada number {i}" if i % 2 else f"item {i}" for i in range(200)]
    expected = [m.score(t, "Ottawa") for t in titles]
    results: list[list[list[TopicMatch]]] = []

    def work() -> None:
        results.append([m.score(t, "Ottawa") for t in titles])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_invalid_topics_are_refused() -> None:
    bad = TopicSpec.model_validate(
        {
            "id": "Bad Id",
            "name": "n",
            "description": "d",
            "threshold": 1,
            "groups": {"g": {"terms": ["de*"]}},
        }
    )
    with pytest.raises(ConfigError) as err:
        compile_topics([bad])
    text = str(err.value)
    assert "Bad Id" in text and "de*" in text


def test_no_topics_and_empty_text() -> None:
    assert compile_topics([]).score("anything", "at all") == []
    m = one_topic("g: {terms: [nato]}")
    assert m.score("", "") == []
    assert m.explain("", "")[0].decision == "no_terms"


def test_the_body_is_a_field_of_its_own_weighted_half_by_default() -> None:
    m = one_topic("g: {weight: 2, terms: [NORAD]}\nr: {weight: 2, terms: [radar]}", threshold=2)
    body = "Officials said the NORAD upgrade includes a new radar in the Arctic."
    [found] = m.score("Budget day", "One line.", "en", body)
    assert found.score == 2  # (2 + 2) × 0.5
    assert [(r.term, r.field) for r in found.reasons] == [("NORAD", "body"), ("radar", "body")]
    assert body[found.reasons[0].position :].startswith("NORAD")
    assert m.score("Budget day", "One line.", "en") == []  # without the body: nothing
    # in the title as well, the title counts and the body adds its half
    [both] = m.score("NORAD budget", "", "en", body)
    assert both.score == 4 + 1 + 1

    heavier = one_topic("g: {weight: 2, terms: [NORAD]}", threshold=2, fields="{body: 1}")
    assert score_body(heavier, body) == 2
    blind = one_topic("g: {weight: 2, terms: [NORAD]}", threshold=1, fields="{body: 0}")
    assert score_body(blind, body) is None


def test_near_holds_inside_the_body_and_explain_names_it() -> None:
    m = one_topic(
        "a: {weight: 2, terms: [tariff*]}\nc: {weight: 0, terms: [Canada]}",
        threshold=1,
        require="{near: [a, c], within: 3}",
    )
    assert score_body(m, "New tariffs on Canada were announced.") == 1
    assert score_body(m, "New tariffs were announced. Canada said nothing.") is None
    [verdict] = m.explain("Trade", "", "en", "New tariffs on Canada were announced.")
    assert verdict.matched and {r.field for r in verdict.reasons} == {"body"}


def score_body(m: Matcher, body: str) -> float | None:
    found = [x for x in m.score("", "", None, body) if x.topic == "t"]
    return found[0].score if found else None
