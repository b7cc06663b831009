"""Folding item text and watchlist terms into one comparable form, and parsing term syntax.

Owns: the folded forms of a text used by matching (case, accents, apostrophes, punctuation;
the character tables are ``monitor.score.folding``'s), the layout of the text the automaton
scans, which sentence each word is in (pysbd finds the boundaries), and the small syntax of a
watchlist term (``word*`` prefixes, ``{a,b}`` alternatives, capitalised acronyms). Pure;
imports only ``monitor.score.folding``.

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

import operator
import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from monitor.score.folding import (
    BYTES,
    CASED_WORDS,
    SPACE_RUNS,
    TABLES,
    TYPOGRAPHY,
    WORDS,
    Kind,
    latin1,
)

__all__ = [
    "CASED_WORDS",
    "Forms",
    "Kind",
    "MAX_EXPANSIONS",
    "MIN_PREFIX",
    "ParsedTerm",
    "TYPOGRAPHY",
    "WORDS",
    "WordSpans",
    "cased_phrase",
    "expand_braces",
    "fold",
    "fold_phrase",
    "fold_words",
    "is_acronym",
    "joined_cased_words",
    "joined_words",
    "offset_map",
    "parse_term",
    "plain_text",
    "sentence_starts",
]


class Forms:
    """The folded forms of one text, each computed once when first asked for."""

    __slots__ = ("_fast", "_forms", "_lookups", "_map", "_sentences", "_spans", "lang", "text")

    def __init__(self, text: str, lang: str | None = None) -> None:
        self.text = text
        self.lang = lang
        self._fast = latin1(text)
        self._forms: dict[str, str] = {}
        self._map: list[int] | None | bool = False
        self._spans: WordSpans | None = None
        self._sentences: list[int] | None = None
        self._lookups = 0

    def fold(self, kind: Kind = "words") -> str:
        """The text folded character by character (see the module docstring for the kinds)."""
        form = self._forms.get(kind)
        if form is None:
            if self._fast is None:
                form = self.text.translate(TABLES[kind])
            else:
                form = self._fast[0].translate(BYTES[kind]).decode("latin-1")
            self._forms[kind] = form
        return form

    def joined(self, *, cased: bool = False) -> str:
        """Folded words separated by one space and padded by spaces: what the automaton scans.
        With ``cased`` the letters keep their case; both have the same length and layout."""
        key = "joined_cased" if cased else "joined"
        form = self._forms.get(key)
        if form is None:
            kind: Kind = "cased_words" if cased else "words"
            if self._fast is None:
                form = " " + " ".join(self.fold(kind).split()) + " "
            else:
                folded = self._fast[0].translate(BYTES[kind])
                form = (b" " + b" ".join(folded.split()) + b" ").decode("latin-1")
            self._forms[key] = form
        return form

    def offset_map(self) -> list[int] | None:
        """For each character of a folded form, the index of the original character it came
        from; ``None`` when folding kept every character in its place (the common case)."""
        if self._map is False:
            if self._fast is not None and self._fast[1]:
                self._map = None
            else:
                pieces = [len(WORDS[ord(ch)]) for ch in self.text]
                if all(n == 1 for n in pieces):
                    self._map = None
                else:
                    out: list[int] = []
                    for i, n in enumerate(pieces):
                        out.extend([i] * n)
                    self._map = out
        return self._map if isinstance(self._map, list) else None

    def word_span(self, index: int) -> tuple[int, int]:
        """Where word ``index`` of :meth:`joined` begins and ends in the original text.

        Finding one word is cheaper than listing all when a field has only a few hits; past
        three lookups the full list is made once and used.
        """
        self._lookups += 1
        if self._spans is None and self._lookups <= 3 and self.offset_map() is None:
            folded = self.fold("words")
            found = _nth_word(index).match(folded)
            if found is not None:
                start = found.end()
                end = folded.find(" ", start)
                return start, len(folded) if end < 0 else end
        spans = self.spans()
        return spans.starts[index], spans.ends[index]

    def sentence_of(self, word: int) -> int:
        """The index of the sentence that word ``word`` of :meth:`joined` belongs to."""
        if self._sentences is None:
            self._sentences = sentence_starts(self.text, self.lang)
        starts = self.spans().starts
        if not starts:
            return 0
        return bisect_right(self._sentences, starts[min(word, len(starts) - 1)]) - 1

    def same_sentence(self, first: int, second: int) -> bool:
        """Whether words ``first`` and ``second`` of :meth:`joined` are in one sentence.

        Text between them where no sentence can end (see ``_MAY_END``) needs no segmenter.
        """
        spans = self.spans()
        last = len(spans.starts) - 1
        a, b = sorted((min(first, last), min(second, last)))
        if not _MAY_END.search(self.text, spans.ends[a], spans.starts[b] + 1):
            return True
        return self.sentence_of(a) == self.sentence_of(b)

    def spans(self) -> WordSpans:
        """Where each word of :meth:`joined` begins and ends in the original text."""
        if self._spans is None:
            # words and runs of spaces alternate; their running lengths give every boundary
            parts = SPACE_RUNS.split(self.fold("words"))
            words = parts[0::2]
            ends = list(accumulate(map(len, parts)))[0::2]
            starts = list(map(operator.sub, ends, map(len, words)))
            if not words[-1]:
                del starts[-1], ends[-1]
            if len(words) > 1 and not words[0]:
                del starts[0], ends[0]
            mapping = self.offset_map()
            if mapping is not None:
                # a word ends where the next separator begins, so that marks folded away (a
                # decomposed accent) stay inside the word
                n = len(mapping)
                starts = [mapping[a] for a in starts]
                ends = [mapping[b] if b < n else len(self.text) for b in ends]
            self._spans = WordSpans(tuple(starts), tuple(ends))
        return self._spans


# Where a new sentence may start: a full stop, question or exclamation mark or ellipsis
# (closing quotes or brackets may follow) and a space before anything but a lower-case letter,
# or a line break. Text without one is a single sentence whatever pysbd would say, so most
# pairs of words need no segmenter (it costs about a millisecond per field).
_MAY_END = re.compile("[.!?\u2026\u3002][\"'\u2019\u201d)\\]]*\\s+(?![a-z\u00df-\u00ff])|\n")

# pysbd's rules for these languages; other languages are split with the English rules, which
# know the punctuation most Latin-script news shares.
_SEGMENTER_LANGS = frozenset({"en", "fr", "de", "es", "it", "nl", "da", "pl", "ru"})


def sentence_starts(text: str, lang: str | None = None) -> list[int]:
    """Where each sentence of ``text`` begins (character offsets, the first is 0).

    pysbd decides the boundaries, so that abbreviations ("U.S.", "Gen.", "M.") and initials do
    not end a sentence. A segmenter keeps state while it works, so each call makes its own
    (which costs microseconds) and the function stays safe to call from several threads.
    """
    import pysbd  # loaded on first use: the parse workers score, the daemon seldom does

    code = (lang or "en").split("-", 1)[0].lower()
    segmenter = pysbd.Segmenter(
        language=code if code in _SEGMENTER_LANGS else "en", clean=False, char_span=True
    )
    starts = [0]
    for span in segmenter.segment(text):
        if span.start > starts[-1]:
            starts.append(span.start)
    return starts


_NTH_WORD: dict[int, re.Pattern[str]] = {}


def _nth_word(index: int) -> re.Pattern[str]:
    """A pattern whose match ends where word ``index`` (from 0) of a folded text begins."""
    pattern = _NTH_WORD.get(index)
    if pattern is None:
        pattern = re.compile(rf" *(?:\S+ +){{{index}}}(?=\S)")
        if len(_NTH_WORD) < 4096:
            _NTH_WORD[index] = pattern
    return pattern


def fold(text: str, kind: Kind = "words") -> str:
    """``text`` folded character by character (see the module docstring for the kinds)."""
    return Forms(text).fold(kind)


def fold_words(text: str) -> str:
    """``text`` case folded, without accents, every non-word character a space."""
    return fold(text, "words")


def joined_words(text: str) -> str:
    """The form the automaton scans: folded words separated by one space, padded by spaces."""
    return Forms(text).joined()


def joined_cased_words(text: str) -> str:
    """Like :func:`joined_words` with the letters' case kept; the same length and layout."""
    return Forms(text).joined(cased=True)


def fold_phrase(text: str) -> str:
    """A phrase reduced to its folded words, single-spaced (the key of a term)."""
    return " ".join(fold(text, "words").split())


def cased_phrase(text: str) -> str:
    """A phrase reduced to its words with case kept, single-spaced, accents removed."""
    return " ".join(fold(text, "cased_words").split())


def plain_text(text: str, *, keep_case: bool) -> str:
    """Accents removed and typography made plain, punctuation kept: what regex terms see.

    It lines up with :func:`fold_words` position by position.
    """
    return fold(text, "cased_punct" if keep_case else "punct")


def offset_map(text: str) -> list[int] | None:
    """See :meth:`Forms.offset_map`."""
    return Forms(text).offset_map()


@dataclass(frozen=True, slots=True)
class WordSpans:
    """Where each word of the scanned text begins and ends in the original text."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> WordSpans:
        return Forms(text).spans()


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
