"""The text story clustering and event profiles compare, taken from a title or a summary.

Owns: what is set aside of a summary before it is compared (:func:`story_text`: a byline on
its own first line, a leading dateline, feed trailers, wire photo credits), case and accent
folding (:func:`fold`) and the split into words (:func:`words`). Used by ``monitor.stories``
(signatures) and ``monitor.events`` (profiles), which must fold alike. Pure: takes strings,
returns strings; no clock, no I/O. Imports only the standard library.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["fold", "story_text", "words"]

_CAP = "A-ZÀ-ÖØ-Þ"
# A dateline: a place in capitals (or any place followed by a wire agency in brackets), an
# optional ", Ont." / ", June 5", an optional "(AP)", then a dash. A hyphen needs a space on both
# sides so that "US-Canada" is never taken for one.
_DATELINE = (
    rf"(?:[{_CAP}][{_CAP}'’.\- ]{{1,40}}|[{_CAP}][\w'’.\- ]{{1,40}}(?=\s*\())?"
    r"(?:,[^\n,()—–]{1,30}){0,2}"
    r"(?:\s*\([^()\n]{1,40}\))?"
    r"\s*(?:—|–|--|\s-\s)\s*"
)
_LEADING_DATELINE = re.compile(r"\A\s*" + _DATELINE)
_BYLINE_LINE = re.compile(r"\A\s*(?:By|BY|Par|PAR)\s[^\n]{1,80}\n")
#: Feed trailers, each with the lower-cased words that must occur for it to match.
_TRAILERS = (
    (
        re.compile(r"\bThe post\b[^\n]{1,400}?\bappeared first on\b[^\n]{0,200}\Z"),
        ("appeared first on",),
    ),
    (
        re.compile(r"\bL[’']article\b[^\n]{1,400}?\best apparu en premier sur\b[^\n]{0,200}\Z"),
        ("est apparu en premier sur",),
    ),
    (
        re.compile(
            r"\b(?:Continue reading|Read more|Read the full (?:story|article)|Lire la suite)\b"
            r"[^\n]{0,120}\Z",
            re.IGNORECASE,
        ),
        ("continue reading", "read more", "read the full", "lire la suite"),
    ),
    (
        re.compile(r"(?:\bCopyright\b|©)\s*\d{4}\b[^\n]{0,160}\Z", re.IGNORECASE),
        ("copyright", "©"),
    ),
)
_PHOTO_CREDIT = re.compile(r"\((?:AP|CP|AFP|Reuters)\s+Photo\b[^()\n]{0,120}\)", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
_LETTERS = str.maketrans(
    {"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def story_text(summary: str) -> str:
    """``summary`` without the parts outlets add around a story they carry.

    Removes a byline on its own first line (``By Jane Roe, The Canadian Press``), a leading
    dateline (``OTTAWA —``, ``WASHINGTON (AP) —``, ``Tokyo (AP) —``, ``(Reuters) -``), feed
    trailers (``The post … appeared first on …``, ``L’article … est apparu en premier sur …``,
    ``Continue reading …``, a copyright line) and wire photo credits.
    """
    text = summary
    byline = _BYLINE_LINE.match(text)
    if byline is not None and len(byline.group(0).split()) <= 10:
        text = text[byline.end() :]
    dateline = _LEADING_DATELINE.match(text)
    if dateline is not None:
        text = text[dateline.end() :]
    if "(" in text:
        text = _PHOTO_CREDIT.sub(" ", text)
    # each trailer pattern is tried only when its words occur at all: scanning a text with a
    # pattern anchored at its end costs more than the rest of the normalising together
    lowered = text.lower()
    for trailer, needles in _TRAILERS:
        if any(n in lowered for n in needles):
            text = trailer.sub("", text.rstrip())
    return text.strip()


#: Letters of the alphabets ``_LETTERS`` folds: a text without them skips the translation,
#: which looks every character up in a dictionary (a third of folding a French summary).
_HAS_LETTERS = re.compile("[" + "".join(map(chr, _LETTERS)) + "]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@functools.cache
def _marks() -> re.Pattern[str]:
    """Runs of the combining marks of the Basic Multilingual Plane, as one character class.

    Made at the first text that is not ASCII (a command that folds none does not pay for the
    scan of the plane); removing them with it takes a quarter of the time of ``str.translate``
    with a table of them."""
    ranges: list[list[int]] = []
    for cp in range(0x10000):
        if unicodedata.combining(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    parts = (re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b))) for a, b in ranges)
    return re.compile("[" + "".join(parts) + "]+")


def fold(text: str) -> str:
    """Case- and accent-folded ``text``: ``Défense NATIONALE`` → ``defense nationale``."""
    if text.isascii():
        return text.casefold()
    text = text.casefold()
    if _HAS_LETTERS.search(text) is not None:
        text = text.translate(_LETTERS)
    decomposed = _marks().sub("", unicodedata.normalize("NFKD", text))
    if _ASTRAL.search(decomposed) is None:
        return decomposed
    # combining marks past the plane (rare): found one character at a time
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words (runs of letters and digits) of ``text``."""
    return _WORD.findall(fold(text))
