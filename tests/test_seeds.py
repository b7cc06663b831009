"""Drafting a watch-topic from briefing documents written for this test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.score.engine import compile_topics
from monitor.score.spec import TopicSpec, validate_watchlist
from monitor.seeds import (
    Skipped,
    as_brief,
    both_spellings,
    detect_lang,
    find_acronyms,
    find_names,
    render_yaml,
    suggest,
    whole_count,
)
from monitor.yamlparse import parse_yaml

BRIEF = """\
Ottawa and Washington are reviewing the Joint Arctic Patrol Command (JAPC), the binational
body that watches the northern approaches. The JAPC was created after a decade of talks, and
officials in Ottawa say the JAPC needs new over-the-horizon radar stations in the Arctic.

Critics in Ottawa argue that icebreaker procurement has lagged behind. The Department of
National Defence (DND) says icebreaker procurement will speed up. Arctic sovereignty and
icebreaker procurement are expected to dominate the next budget debate in Ottawa, where the
DND must also explain radar costs. The Arctic remains contested, and Greenland is watched
closely by Washington. Washington also wants faster radar upgrades in the Arctic.
"""

FRENCH = """\
Le Commandement conjoint de l'Arctique (CCA) surveille les approches du Nord. Selon Ottawa,
le CCA aura besoin de nouveaux radars dans l'Arctique, et la souveraineté arctique reste au
cœur des débats à Ottawa. Les brise-glaces manquent, rappelle Ottawa, et le CCA attend.
"""


@pytest.mark.parametrize(
    ("text", "acronym", "expansion"),
    [
        (BRIEF, "JAPC", "Joint Arctic Patrol Command"),
        (BRIEF, "DND", "Department of National Defence"),
        (
            "the North American Aerospace Defense Command (NORAD) said",
            "NORAD",
            "North American Aerospace Defense Command",
        ),
        ("a review of Over-the-Horizon Radar (OTHR) sites", "OTHR", "Over-the-Horizon Radar"),
    ],
)
def test_acronyms_with_their_expansions(text: str, acronym: str, expansion: str) -> None:
    found = {a.acronym: a for a in find_acronyms(text)}
    assert found[acronym].expansion == expansion
    assert str(found[acronym]) == f"{expansion} ({acronym})"


def test_acronym_without_expansion_needs_two_uses() -> None:
    found = {a.acronym: a for a in find_acronyms("NATO met. NATO agreed. CBC reported.")}
    assert found["NATO"].expansion is None and found["NATO"].count == 2
    assert "CBC" not in found


def test_french_acronym_skips_linking_words() -> None:
    (found,) = [a for a in find_acronyms(FRENCH, "fr") if a.acronym == "CCA"]
    assert found.expansion == "Commandement conjoint de l'Arctique"


def test_names_tell_institutions_people_and_places_apart() -> None:
    names = {n.name: n for n in find_names(BRIEF)}
    assert names["Ottawa"].count == 4 and names["Ottawa"].kind == "other"
    assert names["Washington"].count >= 2
    assert names["Department of National Defence"].kind == "institution"
    assert "The" not in names and "JAPC" not in names
    people = {n.name: n for n in find_names(ALLIANCE)}
    assert people["Halvorsen"].kind == "person"  # "Minister Ada Halvorsen", then "Halvorsen said"
    assert "Ada Halvorsen" not in people  # her full name's uses count as the surname's
    assert people["Five Eyes"].kind == "institution"  # "the Five Eyes alliance"


def test_people_by_title_or_reporting_verb() -> None:
    text = (
        "Earlier, then Prime Minister Justin Trudeau spoke. Trudeau said no. U.S. Secretary of "
        "State Marco Rubio agreed, and Rubio left. However Ottawa is calm. Ottawa waits."
    )
    found = {(n.name, n.count, n.kind) for n in find_names(text)}
    assert found == {
        ("Trudeau", 2, "person"),  # two title words before the full name, then the surname
        ("Rubio", 2, "person"),
        ("Ottawa", 2, "other"),  # opening a sentence, but also used inside one
        ("U.S.", 1, "other"),
    }


def _draft(documents: list[tuple[str, str]], **kw: Any) -> tuple[str, TopicSpec]:
    """The draft's YAML and the topic it loads as (it must validate)."""
    text = render_yaml(suggest(documents, **kw), topic_id="draft", name="Draft")
    doc, problems = parse_yaml(text, "draft.yaml")
    assert doc is not None and problems == [], text
    topics, errors = validate_watchlist(doc)
    assert [str(p) for p in errors] == [], text
    (topic,) = topics
    return text, topic


def _terms(topic: TopicSpec, *, scoring: bool) -> set[str]:
    return {
        t.term or "" for g in topic.groups.values() if (g.weight > 0) == scoring for t in g.terms
    }


def test_suggestion_renders_a_valid_working_topic() -> None:
    suggestion = suggest([("briefs/arctic.txt", BRIEF)], top=8)
    (section,) = suggestion.sections
    assert "icebreaker procurement" in [p.phrase for p in section.phrases]
    assert all(p.rank >= 0 and p.count >= 2 for p in section.phrases)
    assert [a.acronym for a in section.acronyms] == ["JAPC", "DND"]
    assert ("Ottawa", 4) in [(n.name, n.count) for n in section.context]

    text, topic = _draft([("briefs/arctic.txt", BRIEF)], top=8)
    assert topic.id == "draft" and topic.seed == "briefs/arctic.txt"
    assert "Joint Arctic Patrol Command (JAPC)" in text
    # the draft is a working topic: it matches a new item about the same subject
    matcher = compile_topics([topic])
    assert matcher.score("JAPC to get new radar", "Ottawa confirmed the plan.")
    assert matcher.score("Icebreaker procurement slips again", "Ottawa blames the yards.")


# Written for these tests in the manner of a policy brief: common words used often, acronyms
# defined and undefined, an alliance named as a name, American spelling.
ALLIANCE = """\
Military cooperation between the US and Canada rests on trust. Security cooperation is broad,
military cooperation is deep, and security officials meet often. The North American Aerospace
Defense Command (NORAD) watches the continent, and NORAD is being modernized.
Intelligence sharing through the Five Eyes alliance is the other pillar of cooperation.
Five Eyes cooperation is viewed as a strategic asset, and the Five Eyes alliance has outlasted
many disputes. Security cooperation, military cooperation and intelligence sharing all depend
on defense spending: the US wants Canada to spend 2 per cent of GDP, and GDP growth is slow.
Minister Ada Halvorsen told CTV that defense spending will rise. "Cooperation is
security," Halvorsen said to CTV. Military planners say NORAD modernization needs money.
"""

FRENCH_ALLIANCE = """\
La coopération militaire entre le Canada et les États-Unis repose sur la confiance. Le Groupe
des cinq partage le renseignement, et le Groupe des cinq a survécu à bien des disputes. La
coopération militaire passe aussi par le Commandement de la défense aérospatiale (NORAD) et par
les dépenses militaires, que Washington veut voir augmenter. Ottawa promet que les dépenses
militaires vont croître et que la coopération militaire restera étroite. Le NORAD veille.
"""


def test_acronyms_only_when_the_briefs_define_them() -> None:
    text, topic = _draft([("alliance.txt", ALLIANCE)])
    scoring = _terms(topic, scoring=True)
    assert "NORAD" in scoring  # defined: "North American Aerospace Defense Command (NORAD)"
    for undefined in ("US", "GDP", "CTV"):
        assert undefined not in _terms(topic, scoring=True) | _terms(topic, scoring=False)
    # listed for the analyst, in a comment
    assert "without defining them" in text and "GDP (2x)" in text


def test_names_and_phrases_not_bare_common_words() -> None:
    _, topic = _draft([("alliance.txt", ALLIANCE)])
    scoring = _terms(topic, scoring=True)
    assert "Five Eyes" in scoring  # an institution is a subject term, not context only
    single = {t for t in scoring if len(t.split()) == 1 and not t.isupper()}
    assert single == set(), f"bare common words proposed: {single}"
    for word in ("cooperation", "military", "security"):
        assert word not in scoring


def test_no_fragments_of_names() -> None:
    _, topic = _draft([("alliance.txt", ALLIANCE)])
    everything = _terms(topic, scoring=True) | _terms(topic, scoring=False)
    assert not [t for t in everything if t.startswith(("Eyes", "American Aerospace"))]
    (section,) = suggest([("alliance.txt", ALLIANCE)]).sections
    for phrase in section.phrases:
        assert whole_count(ALLIANCE, phrase.phrase) >= 2, phrase


def test_both_spellings() -> None:
    _, topic = _draft([("alliance.txt", ALLIANCE)])
    matcher = compile_topics([topic])
    # the brief writes "Defense" and "defense spending"; Canadian news writes "defence"
    assert matcher.score("North American Aerospace Defence Command gets new radars", "")
    assert matcher.score("Canada raises defence spending", "Ottawa set the figure.")
    assert matcher.score("Canada raises defense spending", "Ottawa set the figure.")
    assert matcher.score("Canada and US deepen military co-operation", "Ottawa agreed.")


@pytest.mark.parametrize(
    ("phrase", "term"),
    [
        ("defence spending", "defen{c,s}e spending"),
        ("Defense Command", "Defen{s,c}e Command"),
        ("labour", "labo{u,}r"),
        ("centre", "cent{re,er}"),
        ("NORAD modernization", "NORAD moderni{z,s}ation"),
        ("organisations", "organi{s,z}ations"),
        ("co-operation", "co{-,}operation"),
        ("cooperation", "co{,-}operation"),
        ("aluminium", "alumin{i,}um"),
        ("Arctic security", "Arctic security"),
        ("size of the exercise", "size of the exercise"),
    ],
)
def test_spelling_variants(phrase: str, term: str) -> None:
    assert both_spellings(phrase) == term


def test_french_briefs_give_a_french_section() -> None:
    documents = [("alliance.txt", ALLIANCE), ("alliance-fr.txt", FRENCH_ALLIANCE)]
    assert [detect_lang(body) for _, body in documents] == ["en", "fr"]
    text, topic = _draft(documents)
    assert topic.lang == ["en", "fr"]
    assert "# French" in text and "# English" in text
    # NORAD is defined in the English brief: not listed as undefined for the French one
    assert "NORAD (" not in text.split("topics:")[0]
    scoring = _terms(topic, scoring=True)
    assert {"Groupe des cinq", "coopération militaire"} <= scoring
    assert "Five Eyes" in scoring
    assert not any("{" in t for t in scoring if "é" in t)  # no English spellings in French
    matcher = compile_topics([topic])
    assert matcher.score("Le Groupe des cinq s'inquiète", "Ottawa défend sa place.", "fr"), (
        "a French item matches the French terms"
    )


def test_french_brief_alone() -> None:
    text, topic = _draft([("fr.txt", FRENCH)])
    assert "Commandement conjoint de l'Arctique" in _terms(topic, scoring=True)
    assert "lang: [fr]" in text  # as a comment: acronyms and names match in any language


def test_cli_prints_the_draft(tmp_path: Path) -> None:
    app = _cli()
    brief = tmp_path / "brief.txt"
    brief.write_text(BRIEF, encoding="utf-8")
    result = CliRunner().invoke(app, ["seeds", "suggest", str(brief), "--id", "x_topic"])
    assert result.exit_code == 0, result.output
    assert "- id: x_topic" in result.stdout
    assert '"JAPC"' in result.stdout

    missing = tmp_path / "nope.txt"
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    result = CliRunner().invoke(app, ["seeds", "suggest", str(missing), str(empty)])
    assert result.exit_code == 2
    assert f"{missing}: file not found" in result.output
    assert f"warning: {empty}: skipped, the file is empty" in result.output


def _cli() -> Any:
    import importlib

    from monitor.cli import _COMMAND_MODULES
    from monitor.cli.app import app

    for name in _COMMAND_MODULES:
        importlib.import_module(f"monitor.cli.{name}")
    return app


def test_only_text_briefs_are_read(tmp_path: Path) -> None:
    """A README beside the briefs, a Markdown note and a binary file are skipped with a warning
    saying why; none of their words reaches the draft."""
    brief = tmp_path / "brief.txt"
    brief.write_text(BRIEF, encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("# Seeds\n\nThe GDP figures come from CTV. " * 4, encoding="utf-8")
    notes = tmp_path / "notes.md"
    notes.write_text("Zanzibar Quartz Zanzibar Quartz Zanzibar Quartz", encoding="utf-8")
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"%PDF-1.7\x00\x01\x02 QXZ QXZ QXZ")
    result = CliRunner().invoke(
        _cli(), ["seeds", "suggest", str(brief), str(readme), str(notes), str(binary)]
    )
    assert result.exit_code == 0, result.output
    assert f"warning: {readme}: skipped, a README describes a folder" in result.stderr
    assert f"warning: {notes}: skipped, a '.md' file is not a plain-text brief" in result.stderr
    assert f"warning: {binary}: skipped, binary data, not text" in result.stderr
    for word in ("GDP", "CTV", "Zanzibar", "QXZ", "README"):
        assert word not in result.stdout
    assert str(brief) in result.stdout

    result = CliRunner().invoke(_cli(), ["seeds", "suggest", str(readme), str(binary)])
    assert result.exit_code == 2
    assert "no brief left to draft from" in result.stderr


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("seeds/README.md", b"# Seeds", "a README describes a folder"),
        ("LICENSE", b"MIT", "a LICENSE describes a folder"),
        ("brief.pdf", b"%PDF", "a '.pdf' file is not a plain-text brief"),
        ("brief.txt", b"\xff\xfe\x00b\x00", "binary data, not text"),
        ("brief.txt", b"caf\xe9 au lait", "not UTF-8 text (invalid continuation byte at byte 3)"),
        ("brief.txt", b" \n ", "the file is empty"),
    ],
)
def test_what_is_not_a_brief(name: str, data: bytes, reason: str) -> None:
    skipped = as_brief(name, data)
    assert isinstance(skipped, Skipped) and skipped.reason.startswith(reason)


def test_a_brief_is_utf8_text() -> None:
    assert as_brief("briefs/arctic.txt", "\ufeffArctic défense".encode()) == "Arctic défense"
    assert as_brief("notes", b"plain") == "plain"


def test_eval_prints_the_drafts_figures(tmp_path: Path) -> None:
    brief = tmp_path / "alliance.txt"
    brief.write_text(ALLIANCE, encoding="utf-8")
    items = [
        ("a1", "NORAD to get new radars", 2),  # found
        ("a2", "Five Eyes partners meet", 2),  # found
        ("a3", "Fishing season opens on the coast", 2),  # missed
        ("a4", "Hockey night in Canada", 0),  # rightly left out
        ("a5", "NORAD tracks Santa again", 0),  # a false positive
        ("a6", "Five Eyes film premieres", 1),  # borderline: counts neither way
    ]
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(
        "".join(
            json.dumps({"id": i, "title": t, "summary": "", "labels": {"alliance": g}}) + "\n"
            for i, t, g in items
        ),
        encoding="utf-8",
    )
    app = _cli()
    args = ["seeds", "suggest", str(brief), "--id", "alliance", "--eval", str(labelled)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    first, _, draft = result.stdout.partition("\n")
    assert first == (
        f"# Measured on {labelled} (6 items): precision 0.67, recall 0.67, F1 0.67 "
        "(TP 2, FP 1, FN 1)"
    )
    doc, problems = parse_yaml(result.stdout, "draft.yaml")  # still a loadable watchlist
    assert doc is not None and problems == [] and validate_watchlist(doc)[1] == []
    assert "alliance" in result.stderr and "a5" in result.stderr and "a3" in result.stderr

    result = CliRunner().invoke(app, ["seeds", "suggest", str(brief), "--eval", str(labelled)])
    assert result.exit_code == 2
    assert (
        f"{labelled}: no item is labelled for topic 'draft_topic', the draft's id; the items "
        "are labelled for: alliance" in result.stderr
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    result = CliRunner().invoke(app, [*args[:-1], str(bad)])
    assert result.exit_code == 2 and f"{bad}:1: not valid JSON" in result.stderr
