"""Drafting a watch-topic from briefing documents.

Owns: ``suggest``, which reads the text of one or more briefs and proposes ranked key phrases
(YAKE keyword extraction), acronyms with their expansions ("North American Aerospace Defense
Command (NORAD)") and a context group of the places and actors the briefs keep naming; and
``render_yaml``, which writes that proposal as a topic in the watchlist language, ready for an
analyst to edit. Pure: takes text, returns values; imports ``monitor.score`` only (to check
that what it proposes is a valid term). Never reads files or imports ``cli``, ``config``,
``store``, ``fetch`` or ``deliver``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import yake

from monitor.score.text import fold_phrase, parse_term

# Small words skipped when matching an acronym to the words it stands for.
_LINKING = {
    "en": {"of", "the", "and", "for", "on", "in", "to", "a", "an", "&"},
    "fr": {"de", "du", "des", "la", "le", "les", "l", "d", "et", "pour", "en", "au", "aux"},
}
# Capitalised words that begin sentences or titles without naming anyone.
_NOT_NAMES = {
    "en": {
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "in",
        "on",
        "at",
        "as",
        "but",
        "and",
        "or",
        "if",
        "for",
        "with",
        "while",
        "when",
        "despite",
        "although",
        "after",
        "before",
        "since",
        "during",
        "however",
        "recent",
        "several",
        "both",
        "each",
        "their",
        "there",
        "they",
        "we",
        "he",
        "she",
        "our",
        "his",
        "her",
        "mr",
        "mrs",
        "ms",
        "president",
        "minister",
        "secretary",
        "mayor",
        "prime",
        "col",
        "gen",
        "general",
        "current",
        "state",
    },
    "fr": {
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "ce",
        "cette",
        "ces",
        "il",
        "elle",
        "ils",
        "elles",
        "nous",
        "mais",
        "et",
        "ou",
        "si",
        "pour",
        "avec",
        "selon",
        "après",
        "avant",
        "depuis",
        "lors",
        "en",
        "dans",
        "sur",
        "au",
        "aux",
        "du",
        "de",
        "m",
        "mme",
        "président",
        "ministre",
        "premier",
    },
}
_ACRONYM_IN_PARENS = re.compile(r"\(([A-Z][A-Z0-9&]{1,7})\)")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,7}\b")
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_NAME_RUN = re.compile(r"(?<![.!?]\s)(?<!^)\b(?:[A-Z][\w'’-]+)(?:\s+(?:[A-Z][\w'’-]+))*", re.M)
_USABLE = re.compile(r"^[\w' .&-]+$", re.UNICODE)


# What a brief is: plain UTF-8 text. Anything else given as a seed is skipped with its reason.
BRIEF_SUFFIXES = frozenset({".txt", ".text", ""})
# Files that describe a folder or a project rather than the subject of a topic.
NOT_BRIEFS = frozenset(
    {"readme", "license", "licence", "copying", "notice", "changelog", "authors", "contributing"}
)


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


@dataclass(frozen=True, slots=True)
class KeyPhrase:
    """A phrase YAKE ranks as characteristic of the briefs (lower ``rank`` is better)."""

    phrase: str
    rank: float
    count: int


@dataclass(frozen=True, slots=True)
class Acronym:
    """An acronym the briefs use, with the words it stands for when they spell it out."""

    acronym: str
    expansion: str | None
    count: int

    def __str__(self) -> str:
        return f"{self.expansion} ({self.acronym})" if self.expansion else self.acronym


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What ``suggest`` proposes for one topic."""

    sources: tuple[str, ...]
    lang: str
    phrases: tuple[KeyPhrase, ...]
    acronyms: tuple[Acronym, ...]
    context: tuple[tuple[str, int], ...]


def _count(text: str, phrase: str) -> int:
    key = fold_phrase(phrase)
    return f" {fold_phrase(text)} ".count(f" {key} ") if key else 0


def _usable(phrase: str) -> bool:
    """A phrase that the term syntax reads literally and that has a letter in it."""
    if not _USABLE.match(phrase) or not any(c.isalpha() for c in phrase):
        return False
    try:
        parse_term(phrase)
    except ValueError:
        return False
    return True


def find_acronyms(text: str, lang: str = "en") -> list[Acronym]:
    """Acronyms in ``text``, most used first, each with its expansion when the text gives one
    as "Long Name (ACRONYM)"."""
    linking = _LINKING.get(lang, _LINKING["en"])
    expansions: dict[str, str] = {}
    for m in _ACRONYM_IN_PARENS.finditer(text):
        acronym = m.group(1)
        before = _WORD.findall(text[max(0, m.start() - 200) : m.start()])
        expansion = _expand(acronym, before, linking)
        if expansion and acronym not in expansions:
            expansions[acronym] = expansion
    counts = Counter(_ACRONYM.findall(text))
    found = [
        Acronym(a, expansions.get(a), n) for a, n in counts.items() if a in expansions or n >= 2
    ]
    found.sort(key=lambda a: (a.expansion is None, -a.count, a.acronym))
    return found


def _expand(acronym: str, words: list[str], linking: set[str]) -> str | None:
    """The long form just before an acronym, found as Schwartz and Hearst (2003) do: the
    acronym's letters appear in order in the long form, the first one starting a word, within
    at most min(n + 5, 2n) words. A long form beginning with a linking word is trimmed."""
    n = len([c for c in acronym if c.isalnum()])
    window = words[-min(n + 5, 2 * n) :]
    long = " ".join(window)
    letters = [c.lower() for c in acronym if c.isalnum()]
    li = len(long) - 1
    for si in range(len(letters) - 1, -1, -1):
        c = letters[si]
        while li >= 0 and (
            long[li].lower() != c or (si == 0 and li > 0 and long[li - 1].isalnum())
        ):
            li -= 1
        if li < 0:
            return None
        li -= 1
    start = long.rfind(" ", 0, li + 2) + 1
    found = long[start:].split()
    while found and found[0].lower() in linking:
        found = found[1:]
    if len(found) < 2 or found[0][0].lower() != letters[0]:
        return None
    return " ".join(found)


def find_names(text: str, lang: str = "en", *, exclude: set[str] | None = None) -> Counter[str]:
    """Capitalised names (places, institutions, people) and how often they are used."""
    skip = _NOT_NAMES.get(lang, _NOT_NAMES["en"])
    exclude = exclude or set()
    counts: Counter[str] = Counter()
    for m in _NAME_RUN.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower().strip("'’") in skip:
            words = words[1:]
        if not words:
            continue
        name = " ".join(words)
        if name.endswith(("'s", "’s")):
            name = name[:-2]
        name = name.rstrip("'’")
        if name.isupper() or name in exclude or not _usable(name):
            continue
        counts[name] += 1
    return counts


def suggest(
    documents: Sequence[tuple[str, str]], *, top: int = 20, lang: str = "en", context: int = 8
) -> Suggestion:
    """Propose key phrases, acronyms and a context group from ``(name, text)`` briefs."""
    text = "\n\n".join(body for _, body in documents)
    acronyms = find_acronyms(text, lang)
    extractor = yake.KeywordExtractor(lan=lang, n=3, dedup_lim=0.7, top=top * 3)
    phrases: list[KeyPhrase] = []
    seen: set[str] = set()
    known = {a.acronym for a in acronyms} | {fold_phrase(a.expansion or "") for a in acronyms}
    expansion_words = {w for a in acronyms for w in (a.expansion or "").split() if w[:1].isupper()}
    for phrase, rank in extractor.extract_keywords(text):
        phrase = " ".join(str(phrase).split())
        key = fold_phrase(phrase)
        if not _usable(phrase) or key in seen or phrase in known or key in known:
            continue
        words = phrase.split()
        if all(w[0].isupper() for w in words) or any(w in expansion_words for w in words):
            continue  # names belong to the context group, acronyms to theirs
        count = _count(text, phrase)
        if len(words) == 1 and count < 3:
            continue  # a single word must at least recur to describe the subject
        seen.add(key)
        phrases.append(KeyPhrase(phrase, float(rank), count))
        if len(phrases) >= top:
            break
    names = find_names(text, lang, exclude={a.acronym for a in acronyms})
    frequent = [(n, c) for n, c in names.most_common() if c >= 2][:context]
    return Suggestion(
        tuple(name for name, _ in documents),
        lang,
        tuple(phrases),
        tuple(acronyms),
        tuple(frequent),
    )


def _q(text: str) -> str:
    """A YAML scalar: JSON strings are valid YAML and keep every character as written."""
    return json.dumps(text, ensure_ascii=False)


def render_yaml(
    suggestion: Suggestion, *, topic_id: str = "draft_topic", name: str = "Draft topic"
) -> str:
    """The proposal as a watchlist file with one topic, with comments for the analyst."""
    seed = suggestion.sources[0] if suggestion.sources else None
    lines = [
        "# A draft watch-topic suggested by `monitor seeds suggest` from:",
        *(f"#   {src}" for src in suggestion.sources),
        "# Keep what names the subject (institutions, programmes, places, instruments); drop",
        "# what names a single story. Then measure it: monitor eval LABELLED.jsonl -w THIS.yaml",
        "topics:",
        f"  - id: {topic_id}",
        f"    name: {_q(name)}",
        f"    description: {_q('Describe what the topic covers and what it does not.')}",
    ]
    if seed:
        lines.append(f"    seed: {_q(seed)}")
    lines += [f"    lang: [{suggestion.lang}]", "    threshold: 3", "    groups:"]
    groups: list[str] = []
    usable = [a for a in suggestion.acronyms if _usable(a.acronym)]
    if usable:
        groups.append("acronyms")
        lines += ["      acronyms:", "        weight: 3", "        terms:"]
        listed: set[str] = set()
        for a in usable:
            note = str(a) if a.expansion else f"{a.acronym}, not spelled out in the briefs"
            lines.append(f"          - {_q(a.acronym)}  # {note}, used {a.count} times")
            expansion = a.expansion or ""
            if _usable(expansion) and fold_phrase(expansion) not in listed:
                listed.add(fold_phrase(expansion))
                lines.append(f"          - {_q(expansion)}")
    if suggestion.phrases:
        groups.append("key_phrases")
        lines += ["      key_phrases:", "        weight: 2", "        terms:"]
        for p in suggestion.phrases:
            lines.append(f"          - {_q(p.phrase)}  # YAKE rank {p.rank:.4f}, {p.count}x")
    if groups and suggestion.context:
        lines += ["      context:", "        weight: 0", "        terms:"]
        for n, c in suggestion.context:
            lines.append(f"          - {_q(n)}  # named {c} times")
    if groups and suggestion.context:
        subject = groups[0] if len(groups) == 1 else f"{{any: [{', '.join(groups)}]}}"
        lines += ["    require:", "      all:", f"        - {subject}", "        - context"]
    if not groups:
        lines += [
            "      subject:",
            "        weight: 3",
            f"        terms: [{_q('replace me')}]  # the briefs gave no usable phrase",
        ]
    return "\n".join(lines) + "\n"
