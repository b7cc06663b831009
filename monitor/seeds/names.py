"""Acronyms with the long forms a brief defines them by, and the names a brief uses.

Owns: ``find_acronyms`` (every acronym used, with its long form when the text defines it as
"Long Form (ACRONYM)" or "ACRONYM (Long Form)", found as Schwartz and Hearst (2003) do) and
``find_names`` (capitalised names, each told apart as an institution, a person or another name
— a place, a people, an event). Pure: takes text, returns values; imports
``monitor.score.text`` only (for pysbd's sentence boundaries).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from monitor.score.text import fold_phrase, sentence_starts

# Small words skipped when matching an acronym to the words it stands for.
LINKING = {
    "en": frozenset({"of", "the", "and", "for", "on", "in", "to", "a", "an", "&"}),
    "fr": frozenset(
        {"de", "du", "des", "la", "le", "les", "l", "d", "et", "pour", "en", "au", "aux"}
    ),
}
# Words that may join the capitalised words of one name ("Department of National Defence").
_NAME_LINKS = {"en": r"of|for|of\s+the", "fr": r"de|du|des|de\s+la|de\s+l['’]|d['’]"}
# Capitalised words that open a sentence or a title without being part of a name.
NOT_NAMES = {
    "en": frozenset(
        "the a an this that these those it its in on at as but and or if for with while when "
        "despite although after before since during however recent several both each their "
        "there they we he she our his her then now former current earlier later according "
        "reports report speaking".split()
    ),
    "fr": frozenset(
        "le la les l un une des ce cette ces il elle ils elles nous mais et ou si pour avec "
        "selon après avant depuis lors en dans sur au aux du de d alors".split()
    ),
}
# Titles and ranks: the words after them name a person.
_TITLES = {
    "en": frozenset(
        "mr mrs ms dr president vice minister secretary mayor premier prime col gen general "
        "commander senator sen rep ambassador chief governor lt sgt capt adm admiral "
        "lieutenant colonel major sergeant captain deputy chair chairman chairwoman "
        "director spokesperson spokesman spokeswoman state".split()
    ),
    "fr": frozenset(
        "m mme mm président présidente ministre premier première maire général colonel "
        "commandant sénateur sénatrice ambassadeur ambassadrice directeur directrice "
        "porte-parole chef".split()
    ),
}
# Verbs that follow a person's name in reporting ("Oldford said").
_SAYS = re.compile(
    r"\s*,?\s*(?:said|says|told|noted|added|stated|argued|warned|wrote|who|a\s+dit|dit|"
    r"a\s+déclaré|a\s+affirmé|affirme|estime)\b",
    re.IGNORECASE,
)
# Nouns that make a name an institution: as its last word ("Department of National Defence")
# or as the common noun right after it ("the Five Eyes alliance").
INSTITUTION_NOUNS = {
    "en": frozenset(
        "command alliance department agency force forces council organization organisation "
        "treaty agreement committee ministry office board wing guard police patrol service "
        "services system program programme initiative pact accord union commission "
        "parliament senate congress bank administration navy army corps coalition "
        "partnership network authority bureau institute secretariat summit strategy act "
        "fund squadron cabinet court tribunal assembly pentagon".split()
    ),
    "fr": frozenset(
        "commandement ministère agence force forces conseil organisation traité accord comité "
        "bureau garde gendarmerie service services système programme alliance union "
        "commission parlement sénat groupe armée marine loi stratégie sommet "
        "gouvernement".split()
    ),
}

_ACRONYM_IN_PARENS = re.compile(r"\(([A-Z][A-Z0-9&]{1,7})\)")
_ACRONYM_THEN_LONG = re.compile(r"\b([A-Z][A-Z0-9&]{1,7})\s*\(([^()]{4,160})\)")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,7}\b")
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_CAP = r"[A-ZÀ-ÖØ-Þ][\w'’-]+"
_DOTTED = re.compile(r"(?<![\w.])(?:[A-Z]\.){2,}(?![\w])")


@dataclass(frozen=True, slots=True)
class Acronym:
    """An acronym the briefs use, with the words it stands for when they define it."""

    acronym: str
    expansion: str | None
    count: int

    def __str__(self) -> str:
        return f"{self.expansion} ({self.acronym})" if self.expansion else self.acronym


def find_acronyms(text: str, lang: str = "en") -> list[Acronym]:
    """Acronyms used in ``text``, those the text defines first, then the most used.

    A definition is "Long Form (ACRONYM)" or "ACRONYM (Long Form)", where the acronym's letters
    start the long form's words in order. An acronym never defined is listed only when used
    twice, with ``expansion`` None.
    """
    linking = LINKING.get(lang, LINKING["en"])
    expansions: dict[str, str] = {}
    for m in _ACRONYM_IN_PARENS.finditer(text):
        acronym = m.group(1)
        before = _WORD.findall(text[max(0, m.start() - 200) : m.start()])
        expansion = _expand(acronym, before, linking)
        if expansion and acronym not in expansions:
            expansions[acronym] = expansion
    for m in _ACRONYM_THEN_LONG.finditer(text):
        acronym, inside = m.group(1), m.group(2)
        words = _WORD.findall(inside)
        if acronym in expansions or len(words) != len(inside.split()):
            continue
        expansion = _expand(acronym, words, linking)
        if expansion and len(expansion.split()) == len(words):
            expansions[acronym] = expansion
    counts = Counter(_ACRONYM.findall(text))
    found = [
        Acronym(a, expansions.get(a), n) for a, n in counts.items() if a in expansions or n >= 2
    ]
    found.sort(key=lambda a: (a.expansion is None, -a.count, a.acronym))
    return found


def _expand(acronym: str, words: list[str], linking: frozenset[str]) -> str | None:
    """The long form ending ``words`` that ``acronym`` stands for, found as Schwartz and Hearst
    (2003) do: the acronym's letters appear in order in the long form, the first one starting a
    word, within at most min(n + 5, 2n) words. A long form beginning with a linking word is
    trimmed."""
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


NameKind = Literal["institution", "person", "other"]


@dataclass(frozen=True, slots=True)
class Name:
    """A name the briefs use, how often, and what it names."""

    name: str
    count: int
    kind: NameKind


@dataclass(slots=True)
class _Seen:
    count: int = 0
    titled: bool = False  # once came after a title or rank ("Mayor Peter Chirico")
    says: bool = False  # once came before a reporting verb ("Chirico said")
    institution: bool = False  # once came before an institution noun ("Five Eyes alliance")


def _name_pattern(lang: str) -> re.Pattern[str]:
    link = _NAME_LINKS.get(lang, _NAME_LINKS["en"])
    return re.compile(rf"(?<![\w'’-]){_CAP}(?:\s+(?:(?:{link})\s+)?{_CAP})*")


def _split_compounds(words: list[str], alone: set[str]) -> list[list[str]]:
    """Split "United States-Canada" into "United States" and "Canada", where each part is also
    used on its own; keep "États-Unis" and "Over-the-Horizon" whole."""
    runs: list[list[str]] = [[]]
    for word in words:
        parts = word.split("-")
        if len(parts) > 1 and all(p[:1].isupper() and p in alone for p in parts):
            runs[-1].append(parts[0])
            runs.extend([p] for p in parts[1:])
        else:
            runs[-1].append(word)
    return [r for r in runs if r]


_ALONE = re.compile(rf"(?<![\w'’-]){_CAP.replace('-', '')}(?![\w'’-])")
# A French institution is named by a noun and what follows it, in lower case after the first
# word ("Groupe des cinq", "ministère de la Défense nationale"): up to three words after "de".
_FR_OF = r"(?:de\s+la|de\s+l['’]|des|du|de|d['’])"


def _french_institutions(text: str, nouns: frozenset[str], stop: frozenset[str]) -> Counter[str]:
    """French institution names of the form "noun de ...", each with how often the text uses
    it in exactly that form; the longest form used at least twice is kept."""
    found: Counter[str] = Counter()
    pattern = re.compile(
        rf"(?<![\w'’-])([^\W\d_]+)\s+{_FR_OF}\s*((?:[^\W\d_][\w'’-]*\s*){{1,3}})", re.UNICODE
    )
    for m in pattern.finditer(text):
        if m.group(1).lower() not in nouns:
            continue
        link = m.group(0)[len(m.group(1)) : m.start(2) - m.start(0)]
        tail: list[str] = []
        for word in m.group(2).split():
            if word.lower() in stop:
                break
            tail.append(word)
        for n in range(1, len(tail) + 1):
            found[" ".join([m.group(1), link.strip(), *tail[:n]]).replace("' ", "'")] += 1
    best: Counter[str] = Counter()
    for name, count in found.items():
        longer = [o for o in found if o.startswith(name + " ") and found[o] >= 2]
        if count >= 2 and not longer:
            best[name] = count
    return best


def find_names(text: str, lang: str = "en", *, exclude: set[str] | None = None) -> list[Name]:
    """Capitalised names in ``text``, most used first, each as an institution, a person or
    another name.

    A name is a run of capitalised words, possibly joined by "of" ("Department of National
    Defence"). A capitalised word that opens a sentence is a name only when the text also uses
    it inside a sentence, or when more capitalised words follow it ("Five Eyes cooperation is
    viewed"). A person is named after a title ("Mayor Peter Chirico"), before a reporting verb
    ("Oldford said"); a full name's uses are counted with the surname's when the text also
    uses the surname alone (Donald Trump, then Trump). An institution ends in an
    institution noun ("Joint Patrol Command"), starts with one ("Department of National
    Defence") or comes before one ("the Five Eyes alliance").
    Abbreviations written with dots ("U.S.") are names too. ``exclude`` lists names to leave
    out (acronyms, their long forms).
    """
    skip = NOT_NAMES.get(lang, NOT_NAMES["en"])
    titles = _TITLES.get(lang, _TITLES["en"])
    nouns = INSTITUTION_NOUNS.get(lang, INSTITUTION_NOUNS["en"])
    excluded = {fold_phrase(e) for e in exclude or set()}
    leading = skip | LINKING.get(lang, LINKING["en"])
    starts = set(sentence_starts(text, lang)) | {0}
    starts |= {m.end() for m in re.finditer(r"\n\s*", text)}  # a line starts a sentence too
    seen: dict[str, _Seen] = {}
    openers: dict[str, _Seen] = {}
    alone = set(_ALONE.findall(text))
    for m in _name_pattern(lang).finditer(text):
        opens = _opens_sentence(text, m.start(), starts)
        after = text[m.end() : m.end() + 40]
        for words in _split_compounds(m.group(0).split(), alone):
            ranks = [i for i, w in enumerate(words) if w.lower().rstrip(".") in titles]
            titled = bool(ranks)
            if titled:  # "Prime Minister Justin Trudeau": the name follows the last title word
                words, opens = words[ranks[-1] + 1 :], False
            while words and words[0].lower().strip("'’") in leading:
                words, opens = words[1:], False
            if not words:
                continue
            name = " ".join(words)
            if name.endswith(("'s", "’s")):
                name = name[:-2]
            name = name.rstrip("'’")
            if len(name) < 2 or words[0].isupper() or fold_phrase(name) in excluded:
                continue
            # a word opening a sentence is a name only if used inside one too (or a surname)
            book = openers if opens and len(words) == 1 else seen
            entry = book.setdefault(name, _Seen())
            entry.count += 1
            entry.titled |= titled
            entry.says |= bool(_SAYS.match(after))
            next_word = re.match(r"\s+([a-zà-ÿ]+)", after)
            entry.institution |= bool(next_word and next_word.group(1) in nouns)
    for name, o in openers.items():
        if name in seen or any(k.endswith(f" {name}") for k in seen):
            entry = seen.setdefault(name, _Seen())
            entry.count += o.count
            entry.titled |= o.titled
            entry.says |= o.says
            entry.institution |= o.institution
    for m in _DOTTED.finditer(text):
        seen.setdefault(m.group(0), _Seen()).count += 1
    if lang == "fr":
        for name, n in _french_institutions(text, nouns, skip | LINKING["fr"]).items():
            if fold_phrase(name) not in excluded:
                seen.pop(name.split()[0], None)  # "Groupe" alone was a cut of "Groupe des cinq"
                seen[name] = _Seen(count=n, institution=True)
    return _classify(seen, nouns)


def _opens_sentence(text: str, at: int, starts: set[int]) -> bool:
    i = at
    while i > 0 and text[i - 1] in " \t\"'“‘«(":
        i -= 1
    return i in starts or at in starts


def _classify(seen: dict[str, _Seen], nouns: frozenset[str]) -> list[Name]:
    singles = {n for n in seen if " " not in n}
    people = {name for name, s in seen.items() if s.titled or s.says}
    people |= {p.split()[-1] for p in people if p.split()[-1] in singles}
    counts: Counter[str] = Counter()
    kinds: dict[str, NameKind] = {}
    for name, s in seen.items():
        words = name.split()
        if name in people:
            # a full name's uses go to the surname the text also uses alone
            key = words[-1] if len(words) > 1 and words[-1] in singles else name
            counts[key] += s.count
            kinds[key] = "person"
            continue
        counts[name] += s.count
        last = words[-1].lower()
        first = words[0].lower()
        institution = last in nouns or (len(words) > 1 and (s.institution or first in nouns))
        kinds.setdefault(name, "institution" if institution else "other")
    found = [Name(n, c, kinds[n]) for n, c in counts.items()]
    found.sort(key=lambda n: (-n.count, n.name))
    return found
