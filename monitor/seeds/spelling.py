"""British and American spellings of the words in a drafted term, as one term.

Owns: ``both_spellings``, which writes a phrase so that it finds both spellings of each of its
words (``defence spending`` -> ``defen{c,s}e spending``, ``labour`` -> ``lab{ou,o}r``,
``co-operation`` -> ``co{-,}operation``). Canadian news writes "defence" and "modernization";
American briefs write "defense", British ones "modernisation". The pairs come from breame's
tables of British and American spellings (-ce/-se, -our/-or, -re/-er, -ise/-ize, -ogue/-og,
doubled consonants...). Pure; imports nothing from ``monitor``.
"""

from __future__ import annotations

import re

from breame.data.spelling_constants import (
    AMERICAN_ENGLISH_SPELLINGS,
    BRITISH_ENGLISH_SPELLINGS,
)

# "co-operation" and "co-ordinate" are written with and without the hyphen on both sides of
# the Atlantic (Canadian outlets keep it).
_CO = re.compile(r"^(co)(-?)(op|or)", re.IGNORECASE)
# breame lists -ize/-ise verbs but not every noun made from them ("modernization"), so those
# are paired by their ending: -ization <-> -isation, and -ize forms -> -ise forms. The reverse
# of the latter is not safe ("advise", "exercise", "franchise" have no -ize form).
_IZATION = re.compile(r"^(.{3,}i)([zs])(ations?)$", re.IGNORECASE)
_IZE = re.compile(r"^(.{3,}i)(z)(e|ed|es|ing|er|ers)$", re.IGNORECASE)
_NOT_IZE = frozenset({"size", "seize", "capsize", "prize", "downsize", "oversize", "resize"})


def other_spelling(word: str) -> str | None:
    """The word's spelling on the other side of the Atlantic, in the same case, if it has one."""
    key = word.lower()
    other = BRITISH_ENGLISH_SPELLINGS.get(key) or AMERICAN_ENGLISH_SPELLINGS.get(key)
    if not other and not any(key.endswith(w) for w in _NOT_IZE):
        m = _IZATION.match(key) or _IZE.match(key)
        if m:
            other = m.group(1) + ("s" if m.group(2) == "z" else "z") + m.group(3)
    if not other or other == key:
        return None
    if word.isupper():
        return other.upper()
    if word[:1].isupper():
        return other[:1].upper() + other[1:]
    return other


def _braced(word: str, other: str) -> str:
    """``defence`` and ``defense`` -> ``defen{c,s}e``: the common start and end kept outside."""
    head = 0
    while head < min(len(word), len(other)) and word[head] == other[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(word), len(other)) - head
        and word[len(word) - 1 - tail] == other[len(other) - 1 - tail]
    ):
        tail += 1
    end_w, end_o = len(word) - tail, len(other) - tail
    return f"{word[:head]}{{{word[head:end_w]},{other[head:end_o]}}}{word[end_w:]}"


def _word(word: str) -> str:
    m = _CO.match(word)
    if m and len(word) > 6:
        rest = word[m.end(1) + len(m.group(2)) :]
        return f"{m.group(1)}{{{m.group(2)},{'' if m.group(2) else '-'}}}{rest}"
    parts = word.split("-")
    if len(parts) > 1:
        return "-".join(_word(p) for p in parts)
    other = other_spelling(word)
    return _braced(word, other) if other else word


def both_spellings(phrase: str) -> str:
    """``phrase`` as a term that finds it in British and American spelling (unchanged when no
    word of it is spelled differently)."""
    return " ".join(_word(w) for w in phrase.split(" "))
