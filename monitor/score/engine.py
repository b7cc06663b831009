"""The compiled matcher: scores an item against every topic in one pass, with reasons.

Owns: compiling validated topics into one Aho-Corasick automaton (plus the rare regex terms),
scanning an item's title and summary, and deciding each topic's score, match, severity and
explanation. Pure and thread-safe: a ``Matcher`` never changes after ``compile_topics`` returns,
so a running daemon can swap in a new one atomically when watchlists are edited.
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
   the ``require`` rule holds and the score reaches the threshold. A score at or above
   ``alert_at`` makes the match an alert.
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
from monitor.score.text import (
    WordSpans,
    joined_cased_words,
    joined_words,
    offset_map,
    parse_term,
    plain_text,
)

FIELDS: tuple[str, str] = ("title", "summary")

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


# A hit: (term id, field index, kind, position, words, length). For a literal hit (kind 0) the
# position is where the key starts in the scanned text; for a regex hit (kind 1) it is the
# character offset in the folded text and ``length`` is the length of the matched text.
Hit = tuple[int, int, int, int, int, int]
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
    field_weights: tuple[float, float]
    groups: tuple[_Group, ...]
    require: _Cond | None
    require_text: str
    excludes: tuple[tuple[_Cond, str], ...]


class _FieldText:
    """One field of one item, with its folded forms computed when first needed."""

    __slots__ = ("_cased", "_folded", "_map", "_spans", "index", "joined", "text")

    def __init__(self, index: int, text: str) -> None:
        self.index = index
        self.text = text
        self.joined = joined_words(text)
        self._cased: str | None = None
        self._spans: WordSpans | None = None
        self._folded: str | None = None
        self._map: list[int] | None | bool = False

    def cased(self) -> str:
        if self._cased is None:
            self._cased = joined_cased_words(self.text)
        return self._cased

    def spans(self) -> WordSpans:
        if self._spans is None:
            self._spans = WordSpans.of(self.text)
        return self._spans

    def word_index(self, hit: Hit) -> int:
        if hit[2] == _LITERAL:
            return self.joined.count(" ", 0, hit[3] + 1) - 1
        if self._folded is None:
            self._folded = plain_text(self.text, keep_case=False)
        return max(0, len(self._folded[: hit[3] + 1].split()) - 1)

    def original(self, hit: Hit) -> tuple[int, str]:
        """Where the hit starts in the original text, and the text it covers."""
        if hit[2] == _LITERAL:
            spans = self.spans()
            first = self.word_index(hit)
            last = min(first + hit[4] - 1, len(spans.ends) - 1)
            if first > last:  # pragma: no cover - a hit always lies within the words
                return 0, ""
            return spans.starts[first], self.text[spans.starts[first] : spans.ends[last]]
        if self._map is False:
            self._map = offset_map(self.text)
        start, length = hit[3], hit[5]
        mapping = self._map
        if isinstance(mapping, list):
            a = mapping[min(start, len(mapping) - 1)]
            b = mapping[min(start + length, len(mapping)) - 1] + 1
            return a, self.text[a:b]
        return start, self.text[start : start + length]


def _primary_lang(lang: str | None) -> str | None:
    if not lang:
        return None
    return lang.replace("_", "-").split("-", 1)[0].strip().lower() or None


class Matcher:
    """Scores items against a fixed set of topics. Immutable; safe to share between threads."""

    __slots__ = (
        "_automaton",
        "_regexes",
        "_term_group",
        "_term_label",
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
        term_label: list[str] = []
        keys: dict[str, list[tuple[int, str | None, int, int]]] = {}
        regexes: list[tuple[int, re.Pattern[str], bool]] = []
        seen_keys: set[tuple[int, int, str, str | None]] = set()
        for ti, spec in enumerate(topics):
            group_index = {name: gi for gi, name in enumerate(spec.groups)}
            groups: list[_Group] = []
            for gi, (gname, group) in enumerate(spec.groups.items()):
                groups.append(_Group(gname, group.weight, group.count == "each", group.max))
                for term in group.terms:
                    tid = len(term_topic)
                    term_topic.append(ti)
                    term_group.append(gi)
                    term_label.append(term.label)
                    if term.regex is not None:
                        sensitive = term.case == "sensitive"
                        flags = 0 if sensitive else re.IGNORECASE
                        regexes.append((tid, re.compile(term.regex, flags), sensitive))
                        continue
                    parsed = parse_term(term.term or "", case=term.case)
                    for key, cased in zip(parsed.keys, parsed.cased, strict=True):
                        padded = " " + key + ("" if parsed.prefix else " ")
                        check = (
                            " " + cased + ("" if parsed.prefix else " ")
                            if parsed.case_sensitive
                            else None
                        )
                        if (ti, gi, padded, check) in seen_keys:
                            continue  # two terms of one group spell the same words
                        seen_keys.add((ti, gi, padded, check))
                        words = key.count(" ") + 1
                        keys.setdefault(padded, []).append((len(padded), check, tid, words))
            compiled.append(
                _Topic(
                    spec=spec,
                    langs=frozenset(spec.lang),
                    field_weights=(spec.fields.title, spec.fields.summary),
                    groups=tuple(groups),
                    require=_compile_cond(spec.require, group_index) if spec.require else None,
                    require_text=spec.require.describe() if spec.require else "",
                    excludes=tuple(
                        (_compile_cond(c, group_index), c.describe()) for c in spec.exclude
                    ),
                )
            )
        automaton = None
        if keys:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
            for padded, entries in keys.items():
                automaton.add_word(padded, tuple(entries))
            automaton.make_automaton()
        self._automaton = automaton
        self._regexes = tuple(regexes)
        self._term_topic = tuple(term_topic)
        self._term_group = tuple(term_group)
        self._term_label = tuple(term_label)
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

    def _scan(self, title: str, summary: str) -> tuple[dict[int, list[Hit]], list[_FieldText]]:
        by_topic: dict[int, list[Hit]] = {}
        fields: list[_FieldText] = []
        term_topic = self._term_topic
        automaton = self._automaton
        for fi, text in enumerate((title, summary)):
            field = _FieldText(fi, text or "")
            fields.append(field)
            if not text:
                continue
            if automaton is not None:
                joined = field.joined
                for end, entries in automaton.iter(joined):
                    for length, check, tid, words in entries:
                        start = end - length + 1
                        if check is not None and field.cased()[start : end + 1] != check:
                            continue
                        hit = (tid, fi, _LITERAL, start, words, length)
                        topic = term_topic[tid]
                        if topic in by_topic:
                            by_topic[topic].append(hit)
                        else:
                            by_topic[topic] = [hit]
            if self._regexes:
                texts = {
                    False: plain_text(text, keep_case=False),
                    True: plain_text(text, keep_case=True),
                }
                for tid, pattern, sensitive in self._regexes:
                    for m in pattern.finditer(texts[sensitive]):
                        if m.end() == m.start():
                            continue
                        words = max(1, len(m.group().split()))
                        hit = (tid, fi, _REGEX, m.start(), words, m.end() - m.start())
                        by_topic.setdefault(term_topic[tid], []).append(hit)
        return by_topic, fields

    # -- public API ---------------------------------------------------------------------------

    def score(self, title: str, summary: str, lang: str | None = None) -> list[TopicMatch]:
        """The topics this item matches (score at or above threshold), best first."""
        by_topic, fields = self._scan(title, summary)
        primary = _primary_lang(lang)
        out: list[TopicMatch] = []
        for ti in sorted(by_topic):
            rule = self._topics[ti]
            if primary and rule.langs and primary not in rule.langs:
                continue
            verdict = self._decide(rule, by_topic[ti], fields, explain=False)
            if verdict.decision == "match":
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

    def explain(self, title: str, summary: str, lang: str | None = None) -> list[TopicExplanation]:
        """Every topic's verdict on this item, with all its reasons, in watchlist order."""
        by_topic, fields = self._scan(title, summary)
        primary = _primary_lang(lang)
        out: list[TopicExplanation] = []
        for ti, rule in enumerate(self._topics):
            spec = rule.spec
            if primary and rule.langs and primary not in rule.langs:
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
                        f"item language '{primary}' is not one of the topic's "
                        f"({', '.join(sorted(rule.langs))})",
                    )
                )
                continue
            hits = by_topic.get(ti)
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
            out.append(self._decide(rule, hits, fields, explain=True))
        return out

    # -- deciding ------------------------------------------------------------------------------

    def _decide(
        self, rule: _Topic, hits: list[Hit], fields: list[_FieldText], *, explain: bool
    ) -> TopicExplanation:
        spec = rule.spec
        term_group = self._term_group
        # the first hit of each (term, field), in the order found: title first
        first: dict[tuple[int, int], Hit] = {}
        for hit in hits:
            first.setdefault((hit[0], hit[1]), hit)
        by_group: dict[int, list[Hit]] = {}
        for hit in hits:
            by_group.setdefault(term_group[hit[0]], []).append(hit)
        present = set(by_group)

        contributions: dict[tuple[int, int], float] = {}
        group_totals: dict[int, float] = {}
        counted: set[tuple[int, int]] = set()
        for (tid, fi), _hit in first.items():
            gi = term_group[tid]
            group = rule.groups[gi]
            w = group.weight * rule.field_weights[fi]
            if w == 0 or (not group.each and (gi, fi) in counted):
                contributions[(tid, fi)] = 0.0
                continue
            counted.add((gi, fi))
            if group.cap is not None:
                total = group_totals.get(gi, 0.0)
                room = group.cap - abs(total)
                w = max(0.0, min(abs(w), room)) * (1 if w > 0 else -1)
            group_totals[gi] = group_totals.get(gi, 0.0) + w
            contributions[(tid, fi)] = w
        score = round(sum(contributions.values()), 4)

        witnesses: list[tuple[str, Hit, Hit]] = []
        vetoed_by: tuple[int, str] | None = None
        for i, (cond, text) in enumerate(rule.excludes):
            if _holds(cond, present, by_group, fields, witnesses if explain else None):
                vetoed_by = (i, text)
                break
        required = True
        if rule.require is not None:
            required = _holds(rule.require, present, by_group, fields, witnesses)

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
            alert = spec.alert_at is not None and score >= spec.alert_at
            severity = "alert" if alert else spec.severity
            detail = f"score {score:g} reaches the threshold {spec.threshold:g}"
            if alert:
                detail += f" and alert_at {spec.alert_at:g}"
        if decision != "match" and not explain:
            return TopicExplanation(
                spec.id, spec.name, score, spec.threshold, decision, None, False, (), detail
            )

        found_terms: list[tuple[int, int, Reason]] = []
        for (tid, fi), hit in first.items():
            gi = term_group[tid]
            group = rule.groups[gi]
            pos, found = fields[fi].original(hit)
            kind = "group" if group.weight != 0 else "context"
            reason = Reason(
                found, FIELDS[fi], pos, contributions[(tid, fi)], f"{kind} {group.name}"
            )
            found_terms.append((fi, pos, reason))
        found_terms.sort(key=lambda x: (x[0], x[1]))
        reasons = [r for _, _, r in found_terms]
        for label, a, b in witnesses:
            field = fields[a[1]]
            pos_a, text_a = field.original(a)
            pos_b, text_b = field.original(b)
            first_text, second_text = (text_a, text_b) if pos_a <= pos_b else (text_b, text_a)
            reasons.append(
                Reason(f"{first_text} … {second_text}", FIELDS[a[1]], min(pos_a, pos_b), 0.0, label)
            )
        if vetoed_by is not None:
            cond = rule.excludes[vetoed_by[0]][0]
            shown = False
            for gi in _mentioned(cond):
                if gi in by_group:
                    hit = by_group[gi][0]
                    pos, found = fields[hit[1]].original(hit)
                    reasons.append(
                        Reason(found, FIELDS[hit[1]], pos, 0.0, f"exclude {vetoed_by[1]}")
                    )
                    shown = True
                    break
            if not shown:
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


def _compile_cond(cond: Condition, group_index: dict[str, int]) -> _Cond:
    if cond.group is not None:
        return _Has(group_index[cond.group])
    if cond.near is not None:
        a, b = cond.near
        return _Near(group_index[a], group_index[b], cond.within or 0, cond.describe())
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
    by_group: dict[int, list[Hit]],
    fields: list[_FieldText],
    witnesses: list[tuple[str, Hit, Hit]] | None,
) -> bool:
    if isinstance(cond, _Has):
        return cond.group in present
    if isinstance(cond, _Near):
        pair = _near(by_group.get(cond.a, []), by_group.get(cond.b, []), fields, cond.within)
        if pair is not None and witnesses is not None:
            witnesses.append((cond.text, pair[0], pair[1]))
        return pair is not None
    if cond.kind == "any":
        # every child is evaluated so that explanations show each proximity found
        results = [_holds(c, present, by_group, fields, witnesses) for c in cond.children]
        return any(results)
    if cond.kind == "all":
        return all(_holds(c, present, by_group, fields, witnesses) for c in cond.children)
    return not any(_holds(c, present, by_group, fields, None) for c in cond.children)


def _near(
    hits_a: Sequence[Hit], hits_b: Sequence[Hit], fields: list[_FieldText], within: int
) -> tuple[Hit, Hit] | None:
    """The first pair of hits, one of each group, in one field with at most ``within`` words
    between them."""
    if not hits_a or not hits_b:
        return None
    for a in hits_a:
        field = fields[a[1]]
        wa = field.word_index(a)
        for b in hits_b:
            if b[1] != a[1]:
                continue
            wb = field.word_index(b)
            if wa <= wb:
                gap = wb - (wa + a[4])
            else:
                gap = wa - (wb + b[4])
            if gap <= within:
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
