"""Drafting a watch-topic from briefing documents written for this test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.score.engine import compile_topics
from monitor.score.spec import validate_watchlist
from monitor.seeds import Skipped, as_brief, find_acronyms, find_names, render_yaml, suggest
from monitor.yamlsrc import parse_yaml

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


def test_names_for_the_context_group() -> None:
    names = find_names(BRIEF)
    assert names["Ottawa"] == 3  # the fourth opens the text, like a sentence
    assert names["Washington"] >= 2
    assert "The" not in names and "JAPC" not in names


def test_suggestion_ranks_phrases_and_renders_a_valid_topic() -> None:
    suggestion = suggest([("briefs/arctic.txt", BRIEF)], top=8)
    phrases = [p.phrase for p in suggestion.phrases]
    assert "icebreaker procurement" in phrases
    assert all(p.rank >= 0 for p in suggestion.phrases)
    assert [a.acronym for a in suggestion.acronyms][:2] == ["JAPC", "DND"]
    assert ("Ottawa", 3) in suggestion.context

    text = render_yaml(suggestion, topic_id="arctic_draft", name="Arctic draft")
    doc, problems = parse_yaml(text, "draft.yaml")
    assert doc is not None and problems == []
    topics, problems = validate_watchlist(doc)
    assert [str(p) for p in problems] == []
    (topic,) = topics
    assert topic.id == "arctic_draft" and topic.seed == "briefs/arctic.txt"
    assert "Joint Arctic Patrol Command (JAPC)" in text
    # the draft is a working topic: it matches a new item about the same subject
    matcher = compile_topics(topics)
    assert matcher.score("JAPC to get new radar", "Ottawa confirmed the plan.")


def test_french_briefs() -> None:
    suggestion = suggest([("fr.txt", FRENCH)], lang="fr", top=5)
    text = render_yaml(suggestion)
    doc, _ = parse_yaml(text, "fr.yaml")
    assert doc is not None
    assert validate_watchlist(doc)[1] == []
    assert "lang: [fr]" in text


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
