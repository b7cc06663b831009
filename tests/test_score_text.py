"""Folding of item text and the syntax of watchlist terms."""

from __future__ import annotations

import pytest

from monitor.score.text import (
    WordSpans,
    expand_braces,
    fold_phrase,
    is_acronym,
    joined_cased_words,
    joined_words,
    offset_map,
    parse_term,
    plain_text,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Défense nationale", "defense nationale"),
        ("DÉFENSE", "defense"),
        ("l’Arctique", "l arctique"),
        ("l'Arctique", "l arctique"),
        ("Five-Eyes", "five eyes"),
        ("U.S.-Canada", "u s canada"),
        ("  many\n\tspaces  ", "many spaces"),
        ("manœuvre", "manoeuvre"),
        ("Straße", "strasse"),
        ("e\u0301te\u0301", "ete"),  # decomposed accents
        ("NORAD’s", "norad s"),
        ("$4.9B", "4 9b"),
        ("", ""),
    ],
)
def test_folding(text: str, folded: str) -> None:
    assert fold_phrase(text) == folded
    assert joined_words(text) == f" {folded} " if folded else joined_words(text) == "  "


@pytest.mark.parametrize(
    "text", ["Défense NATIONALE", "l’Arctique’s", "Straße und Maß", "cœur d'ÉTÉ", "e\u0301te\u0301"]
)
def test_cased_form_lines_up_with_folded_form(text: str) -> None:
    folded = joined_words(text)
    cased = joined_cased_words(text)
    assert len(folded) == len(cased)
    assert [i for i, c in enumerate(folded) if c == " "] == [
        i for i, c in enumerate(cased) if c == " "
    ]
    assert cased.casefold() == folded


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("NORAD’s future", ["NORAD", "s", "future"]),
        ("Straße nach Süden", ["Straße", "nach", "Süden"]),
        ("cœur d'été", ["cœur", "d", "été"]),
        ("e\u0301te\u0301 ok", ["e\u0301te\u0301", "ok"]),
    ],
)
def test_word_spans_point_into_the_original_text(text: str, words: list[str]) -> None:
    spans = WordSpans.of(text)
    assert [text[a:b] for a, b in zip(spans.starts, spans.ends, strict=True)] == words


def test_offset_map_only_when_folding_changes_length() -> None:
    assert offset_map("Défense") is None
    assert offset_map("Straße") == [0, 1, 2, 3, 4, 4, 5]


def test_plain_text_keeps_punctuation() -> None:
    assert plain_text("25 % sur l’acier", keep_case=False) == "25 % sur l'acier"
    assert plain_text("Défense", keep_case=True) == "Defense"


@pytest.mark.parametrize(
    ("term", "acronym"),
    [
        ("NORAD", True),
        ("U.S.", True),
        ("CUSMA", True),
        ("Norad", False),
        ("F-35", False),
        ("G7", False),
        ("Five Eyes", False),
        ("ASFC", True),
    ],
)
def test_acronyms_are_words_in_capitals(term: str, acronym: bool) -> None:
    assert is_acronym(term) is acronym


@pytest.mark.parametrize(
    ("term", "expanded"),
    [
        ("defen{c,s}e", ["defence", "defense"]),
        ("icebreaker{,s}", ["icebreaker", "icebreakers"]),
        ("{a,b} {c,d}", ["a c", "a d", "b c", "b d"]),
        ("plain", ["plain"]),
    ],
)
def test_brace_alternatives(term: str, expanded: list[str]) -> None:
    assert expand_braces(term) == expanded


@pytest.mark.parametrize(
    ("term", "keys", "prefix", "sensitive"),
    [
        ("tariff*", ("tariff",), True, False),
        ("NORAD", ("norad",), False, True),
        (
            "North American Aerospace Defen{c,s}e Command",
            (
                "north american aerospace defence command",
                "north american aerospace defense command",
            ),
            False,
            False,
        ),
        ("défense", ("defense",), False, False),
        ("droits de douane", ("droits de douane",), False, False),
        ("softwood lumber dut*", ("softwood lumber dut",), True, False),
    ],
)
def test_parse_term(term: str, keys: tuple[str, ...], prefix: bool, sensitive: bool) -> None:
    parsed = parse_term(term)
    assert parsed.keys == keys
    assert parsed.prefix is prefix
    assert parsed.case_sensitive is sensitive


def test_case_can_be_forced_either_way() -> None:
    assert parse_term("NORAD", case="insensitive").case_sensitive is False
    assert parse_term("Norad", case="sensitive").cased == ("Norad",)


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("", "empty"),
        ("de*", "shorter than 3"),
        ("ta*riff", "may only end a term"),
        ("tariff *", "must follow a letter"),
        ("x{a,b", "without a matching '}'"),
        ("x}a", "without a matching '{'"),
        ("{a}", "offers one choice"),
        ("{a,{b,c}}", "cannot be nested"),
        ("---", "no letters or digits"),
        ("{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}", "more than 64"),
    ],
)
def test_bad_terms_say_what_is_wrong(term: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_term(term)


# ---------------------------------------------------------------------------------------------
# The fast Latin-1 path must fold exactly like the general per-character path.

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from monitor.score.text import CASED_WORDS, WORDS  # noqa: E402

ALPHABET = st.sampled_from(
    list("abcXYZ019 .,;'-\n\t")
    + list("éÉèàçôœŒßÆøÿ¼µª«»\u00a0\u00ad")
    + list("\u2019\u2018\u201c\u201d\u2013\u2014\u2026\u2009\u202f\u20ac\u200b")
    + ["e\u0301", "Ж", "ł", "İ", "ﬁ"]
)


def _slow(text: str, table: dict[int, str]) -> str:
    return " " + " ".join(text.translate(table).split()) + " "


def _slow_spans(text: str) -> list[tuple[int, int]]:
    mapping = offset_map(text)
    folded = text.translate(WORDS)
    import re

    out = []
    for m in re.finditer(r"\S+", folded):
        if mapping is None:
            out.append((m.start(), m.end()))
        else:
            end = mapping[m.end()] if m.end() < len(mapping) else len(text)
            out.append((mapping[m.start()], end))
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_fast_folding_equals_general_folding(text: str) -> None:
    assert joined_words(text) == _slow(text, WORDS)
    assert joined_cased_words(text) == _slow(text, CASED_WORDS)
    spans = WordSpans.of(text)
    assert list(zip(spans.starts, spans.ends, strict=True)) == _slow_spans(text)
