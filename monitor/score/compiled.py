"""A topic as the matcher holds it, and the pure steps of deciding on one item.

Owns: the compiled form of a topic (its groups, and its ``require``/``exclude``/``alert_when``
conditions as group indexes), one item's fields with their folded forms, where a term hit
stands in the original text, whether a condition holds (``near`` included), and what each hit
adds to a topic's score. ``monitor.score.engine`` builds these and scans items; this module
only reads them. Pure. Imports ``monitor.score.spec`` and ``monitor.score.text`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from monitor.score.spec import Condition, TopicSpec
from monitor.score.text import TYPOGRAPHY, Forms

FIELDS: tuple[str, str, str] = ("title", "summary", "body")

#: per term: (its group's index, the group's weight, whether each term counts apart)
TermInfo = tuple[tuple[int, float, bool], ...]

# A term hit: every place one term was found in one field.
# (term id, field index, kind, positions, words, length): for a literal (kind 0) ``positions``
# are where its key starts in the scanned text and ``words`` how many words the key has; for a
# regex (kind 1) they are character offsets in the folded text, and ``words`` and ``length``
# describe the first match.
TermHit = tuple[int, int, int, list[int], int, int]
LITERAL = 0
REGEX = 1


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    weight: float
    each: bool
    cap: float | None


@dataclass(frozen=True, slots=True)
class Has:
    group: int


@dataclass(frozen=True, slots=True)
class Near:
    a: int
    b: int
    within: int
    across: bool
    text: str


@dataclass(frozen=True, slots=True)
class Many:
    kind: Literal["any", "all", "none"]
    children: tuple[Cond, ...]


Cond = Has | Near | Many


@dataclass(frozen=True, slots=True)
class CompiledTopic:
    spec: TopicSpec
    langs: frozenset[str]
    field_weights: tuple[float, float, float]
    groups: tuple[Group, ...]
    require: Cond | None
    require_text: str
    excludes: tuple[tuple[Cond, str], ...]
    alert_when: Cond | None
    alert_text: str
    capped: bool


class FieldText:
    """One field of one item and its folded forms."""

    __slots__ = ("forms", "index", "joined", "text")

    def __init__(self, index: int, text: str, lang: str | None = None) -> None:
        self.index = index
        self.text = text
        self.forms = forms = Forms(text, lang)
        self.joined = forms.joined() if text else " "

    def word_index(self, kind: int, position: int) -> int:
        """The index of the word a hit starts at."""
        if kind == LITERAL:
            return self.joined.count(" ", 0, position + 1) - 1
        return max(0, len(self.forms.fold("words")[: position + 1].split()) - 1)

    def original(self, hit: TermHit) -> tuple[int, str]:
        """Where a hit first starts in the original text, and the text it covers."""
        kind, position, words, length = hit[2], hit[3][0], hit[4], hit[5]
        if kind == LITERAL:
            first = self.word_index(kind, position)
            start, end = self.forms.word_span(first)
            if words > 1:
                end = self.forms.word_span(first + words - 1)[1]
            return start, self.text[start:end]
        mapping = self.forms.offset_map()
        if mapping is not None:
            a = mapping[min(position, len(mapping) - 1)]
            b = mapping[min(position + length, len(mapping)) - 1] + 1
            return a, self.text[a:b]
        return position, self.text[position : position + length]


@dataclass(frozen=True, slots=True)
class Scan:
    """What one pass over an item found: keys per field, regex hits, topics worth deciding."""

    fields: tuple[FieldText, FieldText, FieldText]
    found: list[dict[int, list[int]]]
    regex_hits: list[TermHit]
    candidates: set[int]


def needed_characters(patterns: list[re.Pattern[str]]) -> frozenset[str] | None:
    """Punctuation that starts every match of every pattern, so that a text without any of
    them needs no regex pass; ``None`` when some pattern may start otherwise."""
    from re import _parser  # type: ignore[attr-defined]

    needed: set[str] = set()
    for pattern in patterns:
        try:
            parsed = _parser.parse(pattern.pattern, pattern.flags)
        except Exception:  # pragma: no cover - the pattern compiled, so it parses
            return None
        first = next(((op, arg) for op, arg in parsed if str(op) != "AT"), None)
        if first is None or str(first[0]) != "LITERAL":
            return None
        ch = chr(first[1])
        # only characters that folding leaves alone and that no other character becomes
        if ch.isalnum() or ch.isspace() or ch in TYPOGRAPHY.values() or not ch.isascii():
            return None
        needed.add(ch)
    return frozenset(needed)


def primary_lang(lang: str | None) -> str | None:
    if not lang:
        return None
    return lang.replace("_", "-").split("-", 1)[0].strip().lower() or None


# One occurrence of a term: (field index, kind, position, words, length).
Place = tuple[int, int, int, int, int]


def span_of(fields: list[FieldText], place: Place) -> tuple[int, str]:
    """Original position and text of one occurrence."""
    fi, kind, position, words, length = place
    return fields[fi].original((0, fi, kind, [position], words, length))


def compile_cond(cond: Condition, group_index: dict[str, int]) -> Cond:
    if cond.group is not None:
        return Has(group_index[cond.group])
    if cond.near is not None:
        a, b = cond.near
        return Near(
            group_index[a],
            group_index[b],
            cond.within or 0,
            bool(cond.across_sentences),
            cond.describe(),
        )
    kind: Literal["any", "all", "none"]
    if cond.any is not None:
        kind, children = "any", cond.any
    elif cond.all is not None:
        kind, children = "all", cond.all
    else:
        kind, children = "none", cond.none or []
    return Many(kind, tuple(compile_cond(c, group_index) for c in children))


def mentioned(cond: Cond | None) -> list[int]:
    """The groups a condition names, in order."""
    if cond is None:
        return []
    if isinstance(cond, Has):
        return [cond.group]
    if isinstance(cond, Near):
        return [cond.a, cond.b]
    return [gi for child in cond.children for gi in mentioned(child)]


def holds(
    cond: Cond,
    present: set[int],
    hits: list[TermHit],
    term_group: tuple[int, ...],
    fields: list[FieldText],
    witnesses: list[tuple[str, Place, Place]] | None = None,
) -> bool:
    if isinstance(cond, Has):
        return cond.group in present
    if isinstance(cond, Near):
        if cond.a not in present or cond.b not in present:
            return False
        pair = near(cond, hits, term_group, fields)
        if pair is not None and witnesses is not None:
            witnesses.append((cond.text, pair[0], pair[1]))
        return pair is not None
    if cond.kind == "any":
        if witnesses is None:
            return any(holds(c, present, hits, term_group, fields) for c in cond.children)
        # every child is evaluated so that explanations show each proximity found
        results = [holds(c, present, hits, term_group, fields, witnesses) for c in cond.children]
        return any(results)
    if cond.kind == "all":
        return all(holds(c, present, hits, term_group, fields, witnesses) for c in cond.children)
    return not any(holds(c, present, hits, term_group, fields) for c in cond.children)


def near(
    cond: Near, hits: list[TermHit], term_group: tuple[int, ...], fields: list[FieldText]
) -> tuple[Place, Place] | None:
    """The first two occurrences, one of each group, in one field (and one sentence, unless
    the condition may cross them) with at most ``within`` words between them."""
    places: dict[int, list[tuple[int, Place]]] = {cond.a: [], cond.b: []}
    for hit in hits:
        gi = term_group[hit[0]]
        if gi in places:
            field = fields[hit[1]]
            for position in hit[3]:
                word = field.word_index(hit[2], position)
                places[gi].append((word, (hit[1], hit[2], position, hit[4], hit[5])))
    for wa, a in places[cond.a]:
        for wb, b in places[cond.b]:
            if a[0] != b[0] or a == b:
                continue
            gap = wb - (wa + a[3]) if wa <= wb else wa - (wb + b[3])
            if gap > cond.within:
                continue
            if cond.across or fields[a[0]].forms.same_sentence(wa, wb):
                return a, b
    return None


def total(rule: CompiledTopic, hits: list[TermHit], info: TermInfo) -> float:
    """The topic's score: each group's weight times the field's, once per field (or per
    term with ``count: each``), capped by ``max``."""
    if rule.capped:
        return round(sum(contributions(rule, hits, info)), 4)
    fw = rule.field_weights
    counted: set[tuple[int, int]] = set()
    total = 0.0
    for hit in hits:
        tid, fi = hit[0], hit[1]
        gi, weight, each = info[tid]
        if not weight:
            continue
        key = (tid if each else -1 - gi, fi)
        if key in counted:
            continue
        counted.add(key)
        total += weight * fw[fi]
    return round(total, 4)


def contributions(rule: CompiledTopic, hits: list[TermHit], info: TermInfo) -> list[float]:
    """What each hit adds to the score, in the order of ``hits``."""
    fw = rule.field_weights
    counted: set[tuple[int, int]] = set()
    group_totals: dict[int, float] = {}
    out: list[float] = []
    for hit in hits:
        tid, fi = hit[0], hit[1]
        gi, weight, each = info[tid]
        key = (tid if each else -1 - gi, fi)
        w = weight * fw[fi]
        if not w or key in counted:
            out.append(0.0)
            continue
        counted.add(key)
        cap = rule.groups[gi].cap
        if cap is not None:
            room = cap - abs(group_totals.get(gi, 0.0))
            w = max(0.0, min(abs(w), room)) * (1 if w > 0 else -1)
        group_totals[gi] = group_totals.get(gi, 0.0) + w
        out.append(w)
    return out
