"""Folding item text and watchlist terms into one comparable form, and parsing term syntax.

Owns: the character folding used by matching (case, accents, apostrophes, punctuation), the
layout of the text the automaton scans, and the small syntax of a watchlist term (``word*``
prefixes, ``{a,b}`` alternatives, capitalised acronyms). Pure; imports nothing from ``monitor``.

Folding is done with ``str.translate`` over tables that map each character to a string of a
fixed length per character, so the four folded forms of a text line up position by position:

- *words*: case folded, accents removed, every character that is not a letter or digit turned
  into a space. Terms and text are both reduced to single-spaced words, so ``Five-Eyes``,
  ``five eyes`` and ``FIVE EYES`` are the same words, and so are ``l’Arctique`` and
  ``l'arctique``.
- *cased words*: the same layout with the letters' case kept, to check acronyms.
- *punctuated* / *cased punctuated*: accents removed and apostrophes made plain, punctuation
  kept, for the rare regular-expression terms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters that stand for an apostrophe in real text: right and left single quotation marks,
# grave and acute accents used as quotes, modifier letter apostrophe, prime, fullwidth apostrophe.
APOSTROPHES = "\u2019\u2018`\u00b4\u02bc\u2032\uff07"

# Letters that Unicode does not decompose but readers treat as two plain letters or one.
_SPECIAL = {
    "\u0153": "oe",  # oe ligature, as in French "manoeuvre"
    "\u0152": "OE",
    "\u00e6": "ae",
    "\u00c6": "AE",
    "\u00f8": "o",
    "\u00d8": "O",
    "\u0142": "l",
    "\u0141": "L",
    "\u0111": "d",
    "\u0110": "D",
    "\u00df": "ss",
}


def _strip_marks(text: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            continue
        out.append(_SPECIAL.get(ch, ch))
    return "".join(out)


def _plain(ch: str) -> str:
    """One character with accents removed, case kept, apostrophes and whitespace made plain."""
    if ch in APOSTROPHES:
        return "'"
    if ch.isspace():
        return " "
    return _strip_marks(ch)


def _folded(ch: str) -> str:
    """One character case folded and accents removed (casefold can add marks, so strip twice)."""
    return _strip_marks(_plain(ch).casefold())


def _words_only(text: str) -> str:
    return "".join(c if c.isalnum() else " " for c in text)


def _same_layout(candidate: str, folded: str) -> str:
    """``candidate`` if it lines up with ``folded`` character by character, else ``folded``."""
    if len(candidate) != len(folded):
        return folded
    return "".join(" " if f == " " else c for c, f in zip(candidate, folded, strict=True))


class _Table(dict[int, str]):
    """A ``str.translate`` table that computes and remembers each character's folding."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = _folded(ch)
        if self.kind == "words":
            value = _words_only(folded)
        elif self.kind == "cased_words":
            value = _same_layout(_words_only(_strip_marks(_plain(ch))), _words_only(folded))
        elif self.kind == "punct":
            value = folded
        else:  # cased_punct
            value = _same_layout(_strip_marks(_plain(ch)), folded)
        self[code] = value
        return value


WORDS = _Table("words")
CASED_WORDS = _Table("cased_words")
PUNCT = _Table("punct")
CASED_PUNCT = _Table("cased_punct")

_NON_SPACE = re.compile(r"\S+")


def fold_words(text: str) -> str:
    """``text`` case folded, without accents, every non-word character a space."""
    return text.translate(WORDS)


def joined_words(text: str) -> str:
    """The form the automaton scans: folded words separated by one space, padded by spaces."""
    return " " + " ".join(text.translate(WORDS).split()) + " "


def joined_cased_words(text: str) -> str:
    """Like :func:`joined_words` with the letters' case kept; the same length and layout."""
    return " " + " ".join(text.translate(CASED_WORDS).split()) + " "


def fold_phrase(text: str) -> str:
    """A phrase reduced to its folded words, single-spaced (the key of a term)."""
    return " ".join(text.translate(WORDS).split())


def cased_phrase(text: str) -> str:
    """A phrase reduced to its words with case kept, single-spaced, accents removed."""
    return " ".join(text.translate(CASED_WORDS).split())


def plain_text(text: str, *, keep_case: bool) -> str:
    """Accents removed and apostrophes made plain, punctuation kept: what regex terms see."""
    return text.translate(CASED_PUNCT if keep_case else PUNCT)


def offset_map(text: str) -> list[int] | None:
    """For each character of the folded text, the index of the original character it came from.

    ``None`` when folding kept every character in its place (the common case), so positions in
    the folded text are positions in ``text``.
    """
    if len(text.translate(WORDS)) == len(text):
        return None
    out: list[int] = []
    for i, ch in enumerate(text):
        out.extend([i] * len(WORDS[ord(ch)]))
    return out


@dataclass(frozen=True, slots=True)
class WordSpans:
    """Where each word of the scanned text begins and ends in the original text."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> WordSpans:
        folded = text.translate(WORDS)
        mapping = offset_map(text)
        starts: list[int] = []
        ends: list[int] = []
        for m in _NON_SPACE.finditer(folded):
            if mapping is None:
                starts.append(m.start())
                ends.append(m.end())
            else:
                # a word ends where the next separator begins, so that marks folded away
                # (a decomposed accent) stay inside the word
                starts.append(mapping[m.start()])
                ends.append(mapping[m.end()] if m.end() < len(mapping) else len(text))
        return cls(tuple(starts), tuple(ends))


# ---------------------------------------------------------------------------------------------
# Term syntax

_BRACES = re.compile(r"\{([^{}]*)\}")
MAX_EXPANSIONS = 64
MIN_PREFIX = 3


@dataclass(frozen=True, slots=True)
class ParsedTerm:
    """A watchlist term after its syntax is applied.

    ``keys`` are the folded phrases to look for (one per ``{a,b}`` alternative), ``cased`` the
    same phrases with case kept (used when ``case_sensitive``), ``prefix`` says the last word
    may continue (``tariff*``), ``words`` is how many words each key has.
    """

    source: str
    keys: tuple[str, ...]
    cased: tuple[str, ...]
    prefix: bool
    case_sensitive: bool


def is_acronym(term: str) -> bool:
    """A term written in capitals (two or more, no lower-case letter) is an acronym."""
    letters = [c for c in term if c.isalpha()]
    upper = sum(1 for c in letters if c.isupper())
    return upper >= 2 and not any(c.islower() for c in letters)


def expand_braces(term: str) -> list[str]:
    """``defen{c,s}e`` -> ``['defence', 'defense']``; several groups multiply.

    Raises ``ValueError`` on an unbalanced or nested brace, or too many combinations.
    """
    depth = 0
    for ch in term:
        if ch == "{":
            depth += 1
            if depth > 1:
                raise ValueError("braces cannot be nested; write '{a,b}' groups side by side")
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise ValueError("'}' without a matching '{'")
    if depth != 0:
        raise ValueError("'{' without a matching '}'")
    out = [""]
    pos = 0
    for m in _BRACES.finditer(term):
        head = term[pos : m.start()]
        options = m.group(1).split(",")
        if len(options) < 2:
            raise ValueError(
                f"'{{{m.group(1)}}}' offers one choice; list alternatives with commas, "
                "e.g. 'defen{c,s}e' or 'icebreaker{,s}'"
            )
        out = [prefix + head + opt.strip() for prefix in out for opt in options]
        if len(out) > MAX_EXPANSIONS:
            raise ValueError(
                f"the '{{...}}' alternatives make more than {MAX_EXPANSIONS} phrases; "
                "split the term into several terms"
            )
        pos = m.end()
    return [prefix + term[pos:] for prefix in out]


def parse_term(term: str, *, case: str | None = None) -> ParsedTerm:
    """Apply the term syntax; raise ``ValueError`` with a hint when the term cannot be used.

    ``case`` is ``"sensitive"``, ``"insensitive"`` or ``None`` (decide from the spelling:
    acronyms written in capitals are case-sensitive).
    """
    text = term.strip()
    if not text:
        raise ValueError("the term is empty; write a word or phrase")
    prefix = text.endswith("*")
    body = text[:-1] if prefix else text
    if "*" in body:
        raise ValueError(
            "'*' may only end a term (as in 'tariff*'); for other variants use "
            "'{a,b}' alternatives or a regex term"
        )
    sensitive = is_acronym(body) if case is None else case == "sensitive"
    keys: list[str] = []
    cased: list[str] = []
    for variant in expand_braces(body):
        if prefix and (not variant or not variant[-1].isalnum()):
            raise ValueError(
                "'*' must follow a letter or digit directly, as in 'tariff*' (no space before it)"
            )
        key = fold_phrase(variant)
        if not key:
            raise ValueError(
                f"'{variant}' has no letters or digits once punctuation is ignored; "
                "use a regex term to match symbols"
            )
        if prefix and len(key.rsplit(" ", 1)[-1]) < MIN_PREFIX:
            raise ValueError(
                f"the prefix before '*' in '{variant}*' is shorter than {MIN_PREFIX} letters "
                "and would match too many words; spell out the forms with '{a,b}'"
            )
        if key not in keys:
            keys.append(key)
            cased.append(cased_phrase(variant))
    return ParsedTerm(term, tuple(keys), tuple(cased), prefix, sensitive)
