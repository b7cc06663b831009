"""The text story clustering and event profiles compare (``monitor.storytext``): what is set
aside of a summary, case and accent folding, words."""

from __future__ import annotations

import pytest
from hypothesis import given

from monitor.storytext import fold, story_text, words
from tests.phrases import LATIN


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("OTTAWA — The minister said.", "The minister said."),
        ("OTTAWA - The minister said.", "The minister said."),
        ("OTTAWA—The minister said.", "The minister said."),
        ("TORONTO – Ontario said.", "Ontario said."),
        ("SYDNEY -- Australia said.", "Australia said."),
        ("WASHINGTON (AP) — The president said.", "The president said."),
        ("Tokyo (AP) — Japan said.", "Japan said."),
        ("TOKYO, June 5 (Reuters) - Japan said.", "Japan said."),
        ("OTTAWA, Ont. — The minister said.", "The minister said."),
        ("WASHINGTON, D.C. — The president said.", "The president said."),
        ("(Reuters) - Canada said.", "Canada said."),
        ("MONTRÉAL (La Presse Canadienne) — Le ministre a dit.", "Le ministre a dit."),
        ("ST. JOHN'S, N.L. — Fishers said.", "Fishers said."),
        ("By Jane Roe, The Canadian Press\nThe minister said.", "The minister said."),
        ("Par Jean Untel\nOTTAWA — Le ministre a dit.", "Le ministre a dit."),
        ("Body.\nThe post A title appeared first on Example News.", "Body."),
        ("Corps.\nL’article Un titre est apparu en premier sur Exemple.", "Corps."),
        ("Body text. Continue reading…", "Body text."),
        ("Body text.\nCopyright 2026 Example Press. All rights reserved.", "Body text."),
        ("Body (AP Photo/Jane Roe, File) text.", "Body   text."),
        # left alone
        ("US-Canada trade talks resumed.", "US-Canada trade talks resumed."),
        ("NATO allies met in Brussels.", "NATO allies met in Brussels."),
        ("Bylaws were changed. By then it was late.", "Bylaws were changed. By then it was late."),
        (
            "By far the largest budget in a decade, officials said on Monday, and more is to come "
            "before the next fiscal year begins in April\nSecond line.",
            "By far the largest budget in a decade, officials said on Monday, and more is to come "
            "before the next fiscal year begins in April\nSecond line.",
        ),
        ("", ""),
    ],
)
def test_story_text(summary: str, expected: str) -> None:
    assert story_text(summary) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Défense NATIONALE", "defense nationale"),
        ("Œuvre, cœur, Æsir", "oeuvre, coeur, aesir"),
        ("Straße", "strasse"),
        ("Ça GÈLE à Montréal", "ca gele a montreal"),
        ("plain ascii", "plain ascii"),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_fold_is_casefold_nfkd_without_combining_marks_for_every_character() -> None:
    """``fold`` takes shortcuts (a pattern of the plane's marks, a translation only when one of
    its letters occurs); it must still fold every character as the plain definition does,
    marks past the Basic Multilingual Plane included."""
    import unicodedata

    from monitor.storytext import _LETTERS

    def plain(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
        return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

    astral_mark = "\U0001d167"  # a musical combining mark
    assert unicodedata.combining(astral_mark)
    for cp in [*range(0x80, 0x10000), *range(0x10000, 0x110000, 7)]:
        if 0xD800 <= cp <= 0xDFFF:
            continue
        for text in (f"É{chr(cp)}e\u0301", f"É{chr(cp)}{astral_mark}Œ"):
            assert fold(text) == plain(text), hex(cp)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Canada’s $2.1B plan", ["canada", "s", "2", "1b", "plan"]),
        ("l'Arctique — d’abord", ["l", "arctique", "d", "abord"]),
        ("over-the-horizon radar", ["over", "the", "horizon", "radar"]),
        ("snake_case words", ["snake", "case", "words"]),
        ("…", []),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@given(LATIN)
def test_words_ignore_case(text: str) -> None:
    assert words(text.upper()) == words(text)
