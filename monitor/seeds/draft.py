"""What a draft topic proposes, language by language, from the briefs' text.

Owns: ``suggest``, which groups the briefs by language and drafts a ``Section`` for each: the
acronyms the briefs define (with their long forms), the institutions they name, key phrases of
two words or more ranked by YAKE, and the other names they keep using, as context. Acronyms
used but never defined are kept aside for the analyst, not proposed as terms. Pure: takes
``(name, text)`` pairs, returns values; imports ``monitor.score.text`` only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import yake

from monitor.score.text import fold_phrase, parse_term
from monitor.seeds.briefs import LANGS, detect_lang, prose, stopwords
from monitor.seeds.names import NOT_NAMES, Acronym, Name, find_acronyms, find_names

_USABLE = re.compile(r"^[\w' .&-]+$", re.UNICODE)


@dataclass(frozen=True, slots=True)
class KeyPhrase:
    """A phrase YAKE ranks as characteristic of the briefs (lower ``rank`` is better), and how
    often the briefs use it whole (not as part of a longer name or hyphenated word)."""

    phrase: str
    rank: float
    count: int


@dataclass(frozen=True, slots=True)
class Section:
    """What the briefs of one language propose."""

    lang: str
    sources: tuple[str, ...]
    acronyms: tuple[Acronym, ...]  # defined in the briefs: proposed with their long forms
    undefined: tuple[Acronym, ...]  # used, never defined: listed for the analyst only
    institutions: tuple[Name, ...]
    phrases: tuple[KeyPhrase, ...]
    context: tuple[Name, ...]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What ``suggest`` proposes for one topic: a section per language of the briefs."""

    sources: tuple[str, ...]
    sections: tuple[Section, ...]

    @property
    def langs(self) -> tuple[str, ...]:
        return tuple(s.lang for s in self.sections)

    def section(self, lang: str) -> Section | None:
        return next((s for s in self.sections if s.lang == lang), None)


def usable(phrase: str) -> bool:
    """A phrase that the term syntax reads literally and that has a letter in it."""
    if not _USABLE.match(phrase) or not any(c.isalpha() for c in phrase):
        return False
    try:
        parse_term(phrase)
    except ValueError:
        return False
    return True


def _occurrences(text: str, words: list[str]) -> list[re.Match[str]]:
    body = r"[\s\-‐-―]+".join(re.escape(w) for w in words)
    return list(re.finditer(rf"(?<![\w'’]){body}(?![\w'’])", text, re.IGNORECASE))


_CAPITALISED_BEFORE = re.compile(r"([A-ZÀ-Þ][\w'’]*)\s+$")


def _cut(text: str, m: re.Match[str], stop: frozenset[str]) -> bool:
    """Whether this occurrence is part of a longer name or hyphenated word: "Eyes cooperation"
    in "Five Eyes cooperation", "Canada military" in "U.S.-Canada military"."""
    before, after = text[max(0, m.start() - 60) : m.start()], text[m.end() : m.end() + 60]
    if re.search(r"[\w.][-‐-―]$", before) or re.match(r"[-‐-―]\w", after):
        return True
    words = m.group(0).split()
    previous = _CAPITALISED_BEFORE.search(before)
    if words[0][:1].isupper() and previous and previous.group(1).lower() not in stop:
        return True
    following = re.match(r"\s+([A-ZÀ-Þ][\w'’]*)", after)
    return bool(words[-1][:1].isupper() and following and following.group(1).lower() not in stop)


def whole_count(text: str, phrase: str, lang: str = "en") -> int:
    """How often ``phrase`` is used whole in ``text`` (case, hyphens and spacing aside)."""
    stop = NOT_NAMES.get(lang, NOT_NAMES["en"])
    return sum(1 for m in _occurrences(text, phrase.split()) if not _cut(text, m, stop))


def _trimmed(text: str, phrase: str, lang: str) -> str:
    """The phrase without capitalised edge words that are only ever cut from a longer name."""
    words = phrase.split()
    while len(words) > 1 and whole_count(text, " ".join(words), lang) == 0:
        if words[0][:1].isupper():
            words = words[1:]
        elif words[-1][:1].isupper():
            words = words[:-1]
        else:
            break
    return " ".join(words)


def _key_phrases(
    text: str, lang: str, top: int, names: list[Name], acronyms: list[Acronym]
) -> list[KeyPhrase]:
    """Phrases of two or more words that YAKE ranks high, used whole at least twice, naming
    no person, not a bare name, not holding an acronym or a defined long form's words."""
    extractor = yake.KeywordExtractor(lan=lang, n=3, dedup_lim=0.7, top=top * 10)
    stop = stopwords(lang) | NOT_NAMES.get(lang, NOT_NAMES["en"])
    people = {w for n in names if n.kind == "person" for w in n.name.split()}
    named = {fold_phrase(n.name) for n in names}
    long_words = {w for a in acronyms for w in (a.expansion or "").split() if w[:1].isupper()}
    acronym_set = {a.acronym for a in acronyms}
    kept: list[KeyPhrase] = []
    keys: list[str] = []
    for raw, rank in extractor.extract_keywords(text):
        phrase = _trimmed(text, " ".join(str(raw).split()), lang)
        words = phrase.split()
        key = fold_phrase(phrase)
        if len(words) < 2 or not usable(phrase) or key in named:
            continue
        if all(w[:1].isupper() for w in words if w.lower() not in stop):
            continue  # a name or a list of names ("Russian and Chinese"), not a phrase
        if words[0].lower() in stop or words[-1].lower() in stop:
            continue  # a fragment opening or closing on a small word
        if any(w in people or w in long_words or w in acronym_set for w in words):
            continue
        if any(f" {k} " in f" {key} " or f" {key} " in f" {k} " for k in keys):
            continue  # a longer or shorter form of a phrase already kept
        count = whole_count(text, phrase, lang)
        if count < 2:
            continue  # said once, it is one sentence's wording, not the subject's
        keys.append(key)
        kept.append(KeyPhrase(phrase, float(rank), count))
        if len(kept) >= top:
            break
    return kept


def _section(lang: str, documents: Sequence[tuple[str, str]], top: int, context: int) -> Section:
    text = "\n\n".join(prose(body) for _, body in documents)
    acronyms = find_acronyms(text, lang)
    defined = [a for a in acronyms if a.expansion]
    undefined = [a for a in acronyms if not a.expansion]
    exclude = {a.acronym for a in acronyms} | {a.expansion or "" for a in defined}
    names = find_names(text, lang, exclude=exclude)
    institutions = [n for n in names if n.kind == "institution" and n.count >= 2]
    others = [n for n in names if n.kind != "institution" and n.count >= 2][:context]
    phrases = _key_phrases(text, lang, top, names, acronyms)
    return Section(
        lang,
        tuple(name for name, _ in documents),
        tuple(defined),
        tuple(undefined),
        tuple(institutions),
        tuple(phrases),
        tuple(others),
    )


def suggest(
    documents: Sequence[tuple[str, str]],
    *,
    top: int = 20,
    lang: str | None = None,
    context: int = 10,
) -> Suggestion:
    """Draft a topic from ``(name, text)`` briefs: one section per language among them.

    Each brief's language is detected (English or French) unless ``lang`` says it; a French
    brief gives a French section, drafted with French stop words and French name rules.
    """
    by_lang: dict[str, list[tuple[str, str]]] = {}
    for name, body in documents:
        by_lang.setdefault(lang or detect_lang(body), []).append((name, body))
    order = [code for code in LANGS if code in by_lang] + [
        code for code in by_lang if code not in LANGS
    ]
    return Suggestion(
        tuple(name for name, _ in documents),
        tuple(_section(code, by_lang[code], top, context) for code in order),
    )
