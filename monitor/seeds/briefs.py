"""Which files given as seeds are briefs, which language each is in, and the prose in them.

Owns: ``as_brief`` (a file's bytes to its text, or the reason it is not a brief), ``detect_lang``
(English or French, from the stop words YAKE ships for each) and ``prose`` (a brief without the
hashtags and title-case headings that are not sentences). Pure: takes names, bytes and text,
returns values; imports nothing from ``monitor``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import yake

# What a brief is: plain UTF-8 text. Anything else given as a seed is skipped with its reason.
BRIEF_SUFFIXES = frozenset({".txt", ".text", ""})
# Files that describe a folder or a project rather than the subject of a topic.
NOT_BRIEFS = frozenset(
    {"readme", "license", "licence", "copying", "notice", "changelog", "authors", "contributing"}
)
LANGS = ("en", "fr")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file given as a seed that is not a brief, and why (said to the user as a warning)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: skipped, {self.reason}"


def as_brief(name: str, data: bytes) -> str | Skipped:
    """The text of the brief named ``name`` with content ``data``, or why it is not a brief.

    A brief is a plain-text file (``.txt``, ``.text`` or no suffix) of UTF-8 text. A README,
    licence or changelog describes a folder, not a subject; Markdown, PDF, word-processor
    files and binaries are not plain text; an empty file says nothing.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    stem, suffix = (stem, f".{suffix}") if dot and stem else (base, "")
    if stem.lower() in NOT_BRIEFS:
        return Skipped(
            name,
            f"a {stem} describes a folder, not the subject of a topic; "
            "give the briefs themselves (for example seeds/*.txt)",
        )
    if suffix.lower() not in BRIEF_SUFFIXES:
        return Skipped(
            name,
            f"a '{suffix}' file is not a plain-text brief; briefs are UTF-8 .txt files "
            "(save or export the document as .txt)",
        )
    if b"\x00" in data:
        return Skipped(name, "binary data, not text; briefs are UTF-8 .txt files")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(name, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8")
    if not text.strip():
        return Skipped(name, "the file is empty")
    return text


@cache
def stopwords(lang: str) -> frozenset[str]:
    """The stop words YAKE uses for ``lang`` (its own lists, shipped with it)."""
    return frozenset(yake.KeywordExtractor(lan=lang).stopword_set)


_WORDS = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def detect_lang(text: str) -> str:
    """``"fr"`` when the text uses more French than English stop words, else ``"en"``.

    Only the words that are stop words in one language and not the other count ("a", "on",
    "de"... are shared or ambiguous), so a French brief quoting an English name is French.
    """
    en, fr = stopwords("en"), stopwords("fr")
    only_en, only_fr = en - fr, fr - en
    words = [w.lower() for w in _WORDS.findall(text)]
    score_en = sum(1 for w in words if w in only_en)
    score_fr = sum(1 for w in words if w in only_fr)
    return "fr" if score_fr > score_en else "en"


_HASHTAG = re.compile(r"(?<![\w&])#\w+", re.UNICODE)
_TITLE_WORD = re.compile(r"^[A-ZÀ-Ý]")


def is_heading(line: str) -> bool:
    """A title-case line without closing punctuation ("Current State of Military Cooperation")."""
    text = line.strip()
    words = text.split()
    if not words or len(words) > 12 or text[-1] in '.!?:;,"”»)':
        return False
    long = [w for w in words if len(w) > 3]
    capitalised = [w for w in long if _TITLE_WORD.match(w)]
    return bool(long) and len(capitalised) >= 0.6 * len(long)


def prose(text: str) -> str:
    """The brief's sentences: hashtags dropped, title-case headings turned into blank lines
    (a heading is not a sentence; its capitals would read as names)."""
    lines = [_HASHTAG.sub(" ", line) for line in text.splitlines()]
    return "\n".join("" if is_heading(line) else line for line in lines)
