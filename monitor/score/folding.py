"""The character tables of folding: what each character becomes in each folded form.

Owns: the per-character folding (case, accents, apostrophes, typographic marks, invisible
characters) as ``str.translate`` tables of fixed width per character, one per form (``WORDS``,
``CASED_WORDS``, ``PUNCT``, ``CASED_PUNCT``), and the Latin-1 fast path that folds most news
text with ``bytes.translate`` to the identical result. ``monitor.score.text`` builds the folded
forms of a text from these. Pure; imports nothing from ``monitor``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

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


# Invisible characters that may sit inside a word: soft hyphen, zero-width space and joiners,
# byte order mark. They are dropped rather than taken for separators.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"

# Typographic characters given their plain form, one for one, before anything else.
TYPOGRAPHY = {
    **dict.fromkeys(APOSTROPHES, "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2026": ".",
}


def _plain(ch: str) -> str:
    """One character with accents removed, case kept, typography and whitespace made plain."""
    if ch in INVISIBLE:
        return ""
    if ch in TYPOGRAPHY:
        return TYPOGRAPHY[ch]
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


Kind = Literal["words", "cased_words", "punct", "cased_punct"]


class _Table(dict[int, str]):
    """A ``str.translate`` table that computes and remembers each character's folding.

    All four kinds give every character a folding of the same length, so the four folded
    forms of a text line up position by position.
    """

    def __init__(self, kind: Kind) -> None:
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
        else:
            value = _same_layout(_strip_marks(_plain(ch)), folded)
        self[code] = value
        return value


WORDS = _Table("words")
CASED_WORDS = _Table("cased_words")
PUNCT = _Table("punct")
CASED_PUNCT = _Table("cased_punct")
TABLES: dict[str, _Table] = {
    "words": WORDS,
    "cased_words": CASED_WORDS,
    "punct": PUNCT,
    "cased_punct": CASED_PUNCT,
}

# The fast path. ``str.translate`` with a mapping costs a dictionary lookup per character, so
# text made only of Latin-1 characters (nearly all English and French news, once typographic
# quotes and dashes are replaced one for one) is folded with ``bytes.translate`` over 256-entry
# tables built from the very same per-character folding; the result is identical. Characters
# whose folding is not one Latin-1 character (such as "ß" or "¼") send the text to the
# general path, as do characters outside Latin-1 other than the few replaced here.
_ONE_FOR_ONE = {**TYPOGRAPHY, **dict.fromkeys("\u2009\u200a\u202f\u2007\u2002\u2003", " ")}
_LONGER = {"\u0153": "oe", "\u0152": "OE"}


def _byte_tables() -> tuple[dict[str, bytes], str]:
    tables = {kind: bytearray(range(256)) for kind in TABLES}
    complex_chars = []
    for code in range(256):
        values = {kind: table[code] for kind, table in TABLES.items()}
        if all(len(v) == 1 and ord(v) < 256 for v in values.values()):
            for kind, v in values.items():
                tables[kind][code] = ord(v)
        else:
            complex_chars.append(chr(code))
    return {kind: bytes(t) for kind, t in tables.items()}, "".join(complex_chars)


BYTES, _COMPLEX = _byte_tables()
SPACE_RUNS = re.compile(r"( +)")


_SIMPLE_BYTES = bytes(c for c in range(256) if chr(c) not in _COMPLEX)


def latin1(text: str) -> tuple[bytes, bool] | None:
    """``text`` as Latin-1 bytes that fold exactly like it, and whether positions still line up
    with ``text``; ``None`` when only the general path can fold it."""
    if text.isascii():
        return text.encode("ascii"), True
    aligned = True
    while True:
        try:
            raw = text.encode("latin-1")
            break
        except UnicodeEncodeError as exc:
            # replace every copy of the first character Latin-1 lacks, then try again
            ch = text[exc.start]
            to = _ONE_FOR_ONE.get(ch)
            if to is None:
                to = _LONGER.get(ch)
                if to is None:
                    return None
                aligned = False
            text = text.replace(ch, to)
    if raw.translate(None, _SIMPLE_BYTES):
        return None  # a Latin-1 character whose folding is not one character
    return raw, aligned
