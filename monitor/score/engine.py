"""The compiled matcher: scores an item against every topic in one pass, with reasons.

Owns: compiling validated topics into one Aho-Corasick automaton (plus the rare regex terms),
scanning an item's title, summary and article body, and deciding each topic's score, match,
severity and explanation. Pure and thread-safe: a ``Matcher`` never changes after
``compile_topics`` returns, so a running daemon can swap in a new one atomically when
watchlists are edited.
Imports ``monitor.model``, ``monitor.errors`` and ``monitor.score``; never does I/O.

How an item is scored (see ``docs/watchlists.md`` for the analyst's view):

1. Each field is folded (case, accents, apostrophes, punctuation) into single-spaced words and
   scanned once by the automaton built from every term of every topic. Keys are padded with
   spaces, so hits are whole words by construction; acronyms are then checked against the
   same words with their case kept.
2. For each topic with at least one hit: every group scores its weight times the field's
   weight, once per field (or once per different term with ``count: each``), capped by
   ``max``. The score is the sum.
3. The topic matches when the item's language is one of the topic's, no ``exclude`` rule holds,
   the ``require`` rule holds and the score reaches the threshold. A match is an alert when the
   topic's ``alert_when`` condition holds (and the score reaches ``alert_at``, if given); a
   topic without ``alert_when`` alerts on ``alert_at`` alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ahocorasick

from monitor.errors import ConfigError, Problem
from monitor.model import Reason, Severity, TopicMatch
from monitor.score.spec import Condition, TopicSpec, check_topic
from monitor.score.text import TYPOGRAPHY, Forms, parse_term

FIELDS: tuple[str, str, str] = ("title", "summary", "body")

Decision = Literal[
    "match", "below_threshold", "requirement_not_met", "vetoed", "other_language", "no_terms"
]


@dataclass(frozen=True, slots=True)
class TopicExplanation:
    """Why one topic did or did not match one item: every reason, and the decision."""

    topic: str
    name: str
    score: float
    threshold: float
    decision: Decision
    severity: Severity | None
    urgent: bool
    reasons: tuple[Reason, ...]
    detail: str

    @property
    def matched(self) -> bool:
        return self.decision == "match"


# A term hit: every place one term was found in one field.
# (term id, field index, kind, positions, words, length): for a literal (kind 0) ``positions``
# are where its key starts in the scanned text and ``words`` how many words the key has; for a
# regex (kind 1) they are character offsets in the folded text, and ``words`` and ``length``
# describe the first match.
TermHit = tuple[int, int, int, list[int], int, int]
_LITERAL = 0
_REGEX = 1


@dataclass(frozen=True, slots=True)
class _Group:
    name: str
    weight: float
    each: bool
    cap: float | None


@dataclass(frozen=True, slots=True)
class _Has:
    group: int


@dataclass(frozen=True, slots=True)
class _Near:
    a: int
    b: int
    within: int
    across: bool
    text: str


@dataclass(frozen=True, slots=True)
class _Many:
    kind: Literal["any", "all", "none"]
    children: tuple[_Cond, ...]


_Cond = _Has | _Near | _Many


@dataclass(frozen=True, slots=True)
class _Topic:
    spec: TopicSpec
    langs: frozenset[str]
    field_weights: tuple[float, float, float]
    groups: tuple[_Group, ...]
    require: _Cond | None
    require_text: str
    excludes: tuple[tuple[_Cond, str], ...]
    alert_when: _Cond | None
    alert_text: str
    capped: bool


class _FieldText:
    """One field of one item and its folded forms."""

    __slots__ = ("forms", "index", "joined", "text")

    def __init__(self, index: int, text: str, lang: str | None = None) -> None:
        self.index = index
        self.text = text
        self.forms = forms = Forms(text, lang)
        self.joined = forms.joined() if text else " "

    def word_index(self, kind: int, position: int) -> int:
        """The index of the word a hit starts at."""
        if kind == _LITERAL:
            return self.joined.count(" ", 0, position + 1) - 1
        return max(0, len(self.forms.fold("words")[: position + 1].split()) - 1)

    def original(self, hit: TermHit) -> tuple[int, str]:
        """Where a hit first starts in the original text, and the text it covers."""
        kind, position, words, length = hit[2], hit[3][0], hit[4], hit[5]
        if kind == _LITERAL:
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
class _Scan:
    """What one pass over an item found: keys per field, regex hits, topics worth deciding."""

    fields: tuple[_FieldText, _FieldText, _FieldText]
    found: list[dict[int, list[int]]]
    regex_hits: list[TermHit]
    candidates: set[int]


def _needed_characters(patterns: list[re.Pattern[str]]) -> frozenset[str] | None:
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


def _primary_lang(lang: str | None) -> str | None:
    if not lang:
        return None
    return lang.replace("_", "-").split("-", 1)[0].strip().lower() or None


class Matcher:
    """Scores items against a fixed set of topics. Immutable; safe to share between threads."""

    __slots__ = (
        "_automaton",
        "_key_length",
        "_key_topics",
        "_positive_topics",
        "_regex_any",
        "_regex_kinds",
        "_regex_needs",
        "_regexes",
        "_term_group",
        "_term_info",
        "_term_topic",
        "_topics",
        "topic_ids",
        "topics",
    )

    def __init__(self, topics: Sequence[TopicSpec]) -> None:
        problems = _problems(topics)
        if problems:
            raise ConfigError(problems)
        compiled: list[_Topic] = []
        term_topic: list[int] = []
        term_group: list[int] = []
        term_info: list[tuple[int, float, bool]] = []
        # folded key -> its index; per key, the terms it stands for
        key_index: dict[str, int] = {}
        entries: list[list[tuple[int, int, int, str | None]]] = []
        regexes: list[tuple[int, re.Pattern[str], bool]] = []
        seen: set[tuple[int, int, str, str | None]] = set()
        for ti, spec in enumerate(topics):
            group_index = {name: gi for gi, name in enumerate(spec.groups)}
            groups: list[_Group] = []
            for gi, (gname, group) in enumerate(spec.groups.items()):
                groups.append(_Group(gname, group.weight, group.count == "each", group.max))
                for term in group.terms:
                    tid = len(term_topic)
                    term_topic.append(ti)
                    term_group.append(gi)
                    term_info.append((gi, group.weight, group.count == "each"))
                    if term.regex is not None:
                        sensitive = term.case == "sensitive"
                        flags = 0 if sensitive else re.IGNORECASE
                        regexes.append((tid, re.compile(term.regex, flags), sensitive))
                        continue
                    parsed = parse_term(term.term or "", case=term.case)
                    for key, cased in zip(parsed.keys, parsed.cased, strict=True):
                        padded = " " + key + ("" if parsed.prefix else " ")
                        check = None
                        if parsed.case_sensitive:
                            check = " " + cased + ("" if parsed.prefix else " ")
                        if (ti, gi, padded, check) in seen:
                            continue  # two terms of one group spell the same words
                        seen.add((ti, gi, padded, check))
                        if padded not in key_index:
                            key_index[padded] = len(entries)
                            entries.append([])
                        words = key.count(" ") + 1
                        entries[key_index[padded]].append((ti, tid, words, check))
            compiled.append(
                _Topic(
                    spec=spec,
                    langs=frozenset(spec.lang),
                    field_weights=(spec.fields.title, spec.fields.summary, spec.fields.body),
                    groups=tuple(groups),
                    require=_compile_cond(spec.require, group_index) if spec.require else None,
                    require_text=spec.require.describe() if spec.require else "",
                    excludes=tuple(
                        (_compile_cond(c, group_index), c.describe()) for c in spec.exclude
                    ),
                    alert_when=(
                        _compile_cond(spec.alert_when, group_index) if spec.alert_when else None
                    ),
                    alert_text=spec.alert_when.describe() if spec.alert_when else "",
                    capped=any(g.max is not None for g in spec.groups.values()),
                )
            )
        automaton = None
        if key_index:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
            for padded, index in key_index.items():
                automaton.add_word(padded, index)
            automaton.make_automaton()
        self._automaton = automaton
        # per key: for each topic, the terms the key stands for (term id, words, case check)
        key_topics: list[dict[int, tuple[tuple[int, int, str | None], ...]]] = []
        positive: list[frozenset[int]] = []
        for key_entries in entries:
            per_topic: dict[int, list[tuple[int, int, str | None]]] = {}
            for ti, tid, words, check in key_entries:
                per_topic.setdefault(ti, []).append((tid, words, check))
            key_topics.append({ti: tuple(v) for ti, v in per_topic.items()})
            positive.append(frozenset(ti for ti, tid, _, _ in key_entries if term_info[tid][1] > 0))
        self._key_topics = tuple(key_topics)
        self._positive_topics = tuple(positive)
        lengths = [0] * len(entries)
        for padded, index in key_index.items():
            lengths[index] = len(padded)
        self._key_length = tuple(lengths)
        self._regexes = tuple(regexes)
        self._regex_kinds = tuple(sorted({sensitive for _, _, sensitive in regexes}))
        # one alternation per case mode: if it finds nothing in a field, no regex term can
        # match there, which spares running each regex on most items
        # a character every match must contain, found in the raw text without folding it
        self._regex_needs = _needed_characters([p for _, p, _ in regexes])
        self._regex_any = {}
        for kind in self._regex_kinds:
            patterns = [p for _, p, k in regexes if k == kind]
            self._regex_any[kind] = (
                patterns[0]
                if len(patterns) == 1
                else re.compile(
                    "|".join(f"(?:{p.pattern})" for p in patterns), 0 if kind else re.IGNORECASE
                )
            )
        self._term_topic = tuple(term_topic)
        self._term_group = tuple(term_group)
        self._term_info = tuple(term_info)
        self._topics = tuple(compiled)
        self.topics: tuple[TopicSpec, ...] = tuple(topics)
        self.topic_ids: tuple[str, ...] = tuple(t.id for t in topics)

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "topic_ids"):
            raise AttributeError("a Matcher cannot be changed; compile a new one")
        object.__setattr__(self, name, value)

    @property
    def term_count(self) -> int:
        """How many terms (as written in the watchlists) the matcher looks for."""
        return len(self._term_topic)

    def __repr__(self) -> str:
        return f"<Matcher topics={len(self.topic_ids)} terms={self.term_count}>"

    # -- scanning ----------------------------------------------------------------------------

    def _scan(self, title: str, summary: str, lang: str | None = None, body: str = "") -> _Scan:
        """Find every key in each field: one pass of the automaton per field."""
        fields = (
            _FieldText(0, title or "", lang),
            _FieldText(1, summary or "", lang),
            _FieldText(2, body or "", lang),
        )
        automaton = self._automaton
        key_length = self._key_length
        positive = self._positive_topics
        found: list[dict[int, list[int]]] = []
        regex_hits: list[TermHit] = []
        candidates: set[int] = set()
        for field in fields:
            where: dict[int, list[int]] = {}
            found.append(where)
            if not field.text:
                continue
            if automaton is not None:
                for end, kid in automaton.iter(field.joined):
                    start = end - key_length[kid] + 1
                    if kid in where:
                        where[kid].append(start)
                    else:
                        where[kid] = [start]
                for kid in where:
                    candidates.update(positive[kid])
            needs = self._regex_needs
            if self._regexes and (needs is None or any(c in field.text for c in needs)):
                views = {
                    k: field.forms.fold("cased_punct" if k else "punct") for k in self._regex_kinds
                }
                live = {k for k, view in views.items() if self._regex_any[k].search(view)}
                for tid, pattern, sensitive in self._regexes:
                    if sensitive not in live:
                        continue
                    matches = [m for m in pattern.finditer(views[sensitive]) if m.end() > m.start()]
                    if not matches:
                        continue
                    first = matches[0]
                    regex_hits.append(
                        (
                            tid,
                            field.index,
                            _REGEX,
                            [m.start() for m in matches],
                            max(1, len(first.group().split())),
                            first.end() - first.start(),
                        )
                    )
                    if self._term_info[tid][1] > 0:
                        candidates.add(self._term_topic[tid])
        return _Scan(fields, found, regex_hits, candidates)

    def _hits(self, ti: int, scan: _Scan) -> list[TermHit]:
        """Every term of topic ``ti`` found in the item, with where it was found."""
        hits: list[TermHit] = []
        key_topics = self._key_topics
        for fi, where in enumerate(scan.found):
            for kid, starts in where.items():
                terms = key_topics[kid].get(ti)
                if terms is None:
                    continue
                for tid, words, check in terms:
                    positions = starts
                    if check is not None:
                        cased = scan.fields[fi].forms.joined(cased=True)
                        size = len(check)
                        positions = [p for p in starts if cased[p : p + size] == check]
                        if not positions:
                            continue
                    hits.append((tid, fi, _LITERAL, positions, words, 0))
        for hit in scan.regex_hits:
            if self._term_topic[hit[0]] == ti:
                hits.append(hit)
        return hits

    # -- public API ---------------------------------------------------------------------------

    def score(
        self, title: str, summary: str, lang: str | None = None, body: str = ""
    ) -> list[TopicMatch]:
        """The topics this item matches (score at or above threshold), best first.

        ``body`` is the article's text when it was fetched: a field of its own, weighted by
        the topic's ``fields.body``."""
        primary = _primary_lang(lang)
        scan = self._scan(title, summary, primary, body)
        if not scan.candidates:
            return []
        fields = list(scan.fields)
        out: list[TopicMatch] = []
        for ti in sorted(scan.candidates):
            rule = self._topics[ti]
            if primary and rule.langs and primary not in rule.langs:
                continue
            hits = self._hits(ti, scan)
            if not hits or self._total(rule, hits) < rule.spec.threshold:
                continue
            present = {self._term_group[h[0]] for h in hits}
            if rule.require is not None and not _holds(rule.require, present, hits, self, fields):
                continue
            if any(_holds(c, present, hits, self, fields) for c, _ in rule.excludes):
                continue
            verdict = self._explain_topic(rule, hits, fields, full=False)
            out.append(
                TopicMatch(
                    topic=rule.spec.id,
                    score=verdict.score,
                    severity=verdict.severity or "digest",
                    reasons=verdict.reasons,
                    urgent=verdict.urgent,
                )
            )
        out.sort(key=lambda m: -m.score)
        return out

    def explain(
        self, title: str, summary: str, lang: str | None = None, body: str = ""
    ) -> list[TopicExplanation]:
        """Every topic's verdict on this item, with all its reasons, in watchlist order."""
        primary = _primary_lang(lang)
        scan = self._scan(title, summary, primary, body)
        fields = list(scan.fields)
        out: list[TopicExplanation] = []
        for ti, rule in enumerate(self._topics):
            spec = rule.spec
            if primary and rule.langs and primary not in rule.langs:
                langs = ", ".join(sorted(rule.langs))
                detail = f"item language '{primary}' is not one of the topic's ({langs})"
                out.append(
                    TopicExplanation(
                        spec.id,
                        spec.name,
                        0.0,
                        spec.threshold,
                        "other_language",
                        None,
                        False,
                        (),
                        detail,
                    )
                )
                continue
            hits = self._hits(ti, scan)
            if not hits:
                out.append(
                    TopicExplanation(
                        spec.id,
                        spec.name,
                        0.0,
                        spec.threshold,
                        "no_terms",
                        None,
                        False,
                        (),
                        "no term of the topic was found",
                    )
                )
                continue
            out.append(self._explain_topic(rule, hits, fields))
        return out

    # -- deciding ------------------------------------------------------------------------------

    def _total(self, rule: _Topic, hits: list[TermHit]) -> float:
        """The topic's score: each group's weight times the field's, once per field (or per
        term with ``count: each``), capped by ``max``."""
        if rule.capped:
            return round(sum(self._contributions(rule, hits)), 4)
        info = self._term_info
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

    def _contributions(self, rule: _Topic, hits: list[TermHit]) -> list[float]:
        """What each hit adds to the score, in the order of ``hits``."""
        info = self._term_info
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

    def _explain_topic(
        self, rule: _Topic, hits: list[TermHit], fields: list[_FieldText], *, full: bool = True
    ) -> TopicExplanation:
        spec = rule.spec
        term_group = self._term_group
        # title first, then by where each term is first found
        ordered = (
            sorted(hits, key=lambda h: (h[1], fields[h[1]].word_index(h[2], h[3][0])))
            if len(hits) > 1
            else hits
        )
        contributions = self._contributions(rule, ordered)
        score = round(sum(contributions), 4)
        present = {term_group[h[0]] for h in hits}
        witnesses: list[tuple[str, _Place, _Place]] = []
        vetoed_by: tuple[int, str] | None = None
        for i, (cond, text) in enumerate(rule.excludes):
            if _holds(cond, present, hits, self, fields, witnesses):
                vetoed_by = (i, text)
                break
        required = True
        if rule.require is not None:
            required = _holds(rule.require, present, hits, self, fields, witnesses)

        severity: Severity | None = None
        if vetoed_by is not None:
            decision: Decision = "vetoed"
            detail = f"vetoed by exclude[{vetoed_by[0]}]: {vetoed_by[1]}"
        elif not required:
            decision = "requirement_not_met"
            missing = [rule.groups[gi].name for gi in _mentioned(rule.require) if gi not in present]
            detail = f"require {rule.require_text} not met"
            if missing:
                detail += f"; not found: {', '.join(dict.fromkeys(missing))}"
        elif score < spec.threshold:
            decision = "below_threshold"
            detail = f"score {score:g} is below the threshold {spec.threshold:g}"
        else:
            decision = "match"
            detail = f"score {score:g} reaches the threshold {spec.threshold:g}"
            high = spec.alert_at is not None and score >= spec.alert_at
            if rule.alert_when is None:
                alert = high
                if alert:
                    detail += f" and alert_at {spec.alert_at:g}"
            else:
                shown: list[tuple[str, _Place, _Place]] = []
                escalates = _holds(rule.alert_when, present, hits, self, fields, shown)
                alert = escalates and (spec.alert_at is None or high)
                if alert:
                    detail += f"; alert: alert_when {rule.alert_text} holds"
                    witnesses += [(f"alert_when {label}", a, b) for label, a, b in shown]
                elif escalates:
                    detail += (
                        f"; alert_when {rule.alert_text} holds but the score is below "
                        f"alert_at {spec.alert_at:g}"
                    )
            severity = "alert" if alert else spec.severity

        reasons: list[Reason] = []
        witnessed: set[tuple[int, int]] = set()
        for hit, weight in zip(ordered, contributions, strict=True):
            gi = term_group[hit[0]]
            group = rule.groups[gi]
            if not full:
                # a match carries the reasons that decided it: what scored, and one term of
                # each context group in each field
                if weight == 0 and (group.weight != 0 or (gi, hit[1]) in witnessed):
                    continue
                witnessed.add((gi, hit[1]))
            pos, found = fields[hit[1]].original(hit)
            kind = "group" if group.weight != 0 else "context"
            reasons.append(Reason(found, FIELDS[hit[1]], pos, weight, f"{kind} {group.name}"))
        for label, a, b in witnesses:
            pos_a, text_a = _span_of(fields, a)
            pos_b, text_b = _span_of(fields, b)
            first_text, second_text = (text_a, text_b) if pos_a <= pos_b else (text_b, text_a)
            reasons.append(
                Reason(f"{first_text} … {second_text}", FIELDS[a[0]], min(pos_a, pos_b), 0.0, label)
            )
        if vetoed_by is not None:
            cond = rule.excludes[vetoed_by[0]][0]
            for gi in _mentioned(cond):
                hit_of_group = next((h for h in ordered if term_group[h[0]] == gi), None)
                if hit_of_group is not None:
                    pos, found = fields[hit_of_group[1]].original(hit_of_group)
                    reasons.append(
                        Reason(found, FIELDS[hit_of_group[1]], pos, 0.0, f"exclude {vetoed_by[1]}")
                    )
                    break
            else:
                reasons.append(Reason(vetoed_by[1], "title", 0, 0.0, "exclude"))
        return TopicExplanation(
            spec.id,
            spec.name,
            score,
            spec.threshold,
            decision,
            severity,
            bool(spec.urgent and severity == "alert"),
            tuple(reasons),
            detail,
        )


# One occurrence of a term: (field index, kind, position, words, length).
_Place = tuple[int, int, int, int, int]


def _span_of(fields: list[_FieldText], place: _Place) -> tuple[int, str]:
    """Original position and text of one occurrence."""
    fi, kind, position, words, length = place
    return fields[fi].original((0, fi, kind, [position], words, length))


def _compile_cond(cond: Condition, group_index: dict[str, int]) -> _Cond:
    if cond.group is not None:
        return _Has(group_index[cond.group])
    if cond.near is not None:
        a, b = cond.near
        return _Near(
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
    return _Many(kind, tuple(_compile_cond(c, group_index) for c in children))


def _mentioned(cond: _Cond | None) -> list[int]:
    """The groups a condition names, in order."""
    if cond is None:
        return []
    if isinstance(cond, _Has):
        return [cond.group]
    if isinstance(cond, _Near):
        return [cond.a, cond.b]
    return [gi for child in cond.children for gi in _mentioned(child)]


def _holds(
    cond: _Cond,
    present: set[int],
    hits: list[TermHit],
    matcher: Matcher,
    fields: list[_FieldText],
    witnesses: list[tuple[str, _Place, _Place]] | None = None,
) -> bool:
    if isinstance(cond, _Has):
        return cond.group in present
    if isinstance(cond, _Near):
        if cond.a not in present or cond.b not in present:
            return False
        pair = _near(cond, hits, matcher._term_group, fields)
        if pair is not None and witnesses is not None:
            witnesses.append((cond.text, pair[0], pair[1]))
        return pair is not None
    if cond.kind == "any":
        if witnesses is None:
            return any(_holds(c, present, hits, matcher, fields) for c in cond.children)
        # every child is evaluated so that explanations show each proximity found
        results = [_holds(c, present, hits, matcher, fields, witnesses) for c in cond.children]
        return any(results)
    if cond.kind == "all":
        return all(_holds(c, present, hits, matcher, fields, witnesses) for c in cond.children)
    return not any(_holds(c, present, hits, matcher, fields) for c in cond.children)


def _near(
    cond: _Near, hits: list[TermHit], term_group: tuple[int, ...], fields: list[_FieldText]
) -> tuple[_Place, _Place] | None:
    """The first two occurrences, one of each group, in one field (and one sentence, unless
    the condition may cross them) with at most ``within`` words between them."""
    places: dict[int, list[tuple[int, _Place]]] = {cond.a: [], cond.b: []}
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


def _problems(topics: Sequence[TopicSpec]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for topic in topics:
        where = f"topic {topic.id}"
        if topic.id in seen:
            problems.append(Problem(where, None, f"topic id '{topic.id}' is used twice"))
        seen.add(topic.id)
        for loc, message in check_topic(topic):
            path = ".".join(str(p) for p in loc)
            problems.append(Problem(where, None, f"{path}: {message}"))
    return problems


def compile_topics(topics: Sequence[TopicSpec]) -> Matcher:
    """Compile validated topics into a matcher; raise ``ConfigError`` if a topic is unusable."""
    return Matcher(topics)
