"""The compiled matcher: scores an item against every topic in one pass, with reasons.

Owns: compiling validated topics into one Aho-Corasick automaton (plus the rare regex terms),
scanning an item's title, summary and article body, and deciding each topic's score, match,
severity (the pure steps of deciding are ``monitor.score.compiled``'s, the verdict and its
reasons ``monitor.score.explain``'s). Pure and thread-safe: a ``Matcher`` never changes after
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

import ahocorasick

from monitor.errors import ConfigError, Problem
from monitor.model import TopicMatch
from monitor.score.compiled import (
    FIELDS,
    LITERAL,
    REGEX,
    CompiledTopic,
    FieldText,
    Group,
    Scan,
    TermHit,
    compile_cond,
    holds,
    needed_characters,
    primary_lang,
    total,
)
from monitor.score.explain import Decision, TopicExplanation, explain_topic
from monitor.score.spec import TopicSpec, check_topic
from monitor.score.text import parse_term

__all__ = ["FIELDS", "Decision", "Matcher", "TopicExplanation", "compile_topics"]


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
        compiled: list[CompiledTopic] = []
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
            groups: list[Group] = []
            for gi, (gname, group) in enumerate(spec.groups.items()):
                groups.append(Group(gname, group.weight, group.count == "each", group.max))
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
                CompiledTopic(
                    spec=spec,
                    langs=frozenset(spec.lang),
                    field_weights=(spec.fields.title, spec.fields.summary, spec.fields.body),
                    groups=tuple(groups),
                    require=compile_cond(spec.require, group_index) if spec.require else None,
                    require_text=spec.require.describe() if spec.require else "",
                    excludes=tuple(
                        (compile_cond(c, group_index), c.describe()) for c in spec.exclude
                    ),
                    alert_when=(
                        compile_cond(spec.alert_when, group_index) if spec.alert_when else None
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
        self._regex_needs = needed_characters([p for _, p, _ in regexes])
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

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        """Unpickling (how a parse worker receives the matcher it scores with)."""
        for name, value in state[1].items():
            object.__setattr__(self, name, value)

    @property
    def term_count(self) -> int:
        """How many terms (as written in the watchlists) the matcher looks for."""
        return len(self._term_topic)

    def __repr__(self) -> str:
        return f"<Matcher topics={len(self.topic_ids)} terms={self.term_count}>"

    # -- scanning ----------------------------------------------------------------------------

    def _scan(self, title: str, summary: str, lang: str | None = None, body: str = "") -> Scan:
        """Find every key in each field: one pass of the automaton per field."""
        fields = (
            FieldText(0, title or "", lang),
            FieldText(1, summary or "", lang),
            FieldText(2, body or "", lang),
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
                            REGEX,
                            [m.start() for m in matches],
                            max(1, len(first.group().split())),
                            first.end() - first.start(),
                        )
                    )
                    if self._term_info[tid][1] > 0:
                        candidates.add(self._term_topic[tid])
        return Scan(fields, found, regex_hits, candidates)

    def _hits(self, ti: int, scan: Scan) -> list[TermHit]:
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
                    hits.append((tid, fi, LITERAL, positions, words, 0))
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
        primary = primary_lang(lang)
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
            if not hits or total(rule, hits, self._term_info) < rule.spec.threshold:
                continue
            present = {self._term_group[h[0]] for h in hits}
            groups = self._term_group
            if rule.require is not None and not holds(rule.require, present, hits, groups, fields):
                continue
            if any(holds(c, present, hits, groups, fields) for c, _ in rule.excludes):
                continue
            verdict = explain_topic(
                rule, hits, fields, self._term_group, self._term_info, full=False
            )
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
        primary = primary_lang(lang)
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
            out.append(explain_topic(rule, hits, fields, self._term_group, self._term_info))
        return out

    # -- deciding ------------------------------------------------------------------------------


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
