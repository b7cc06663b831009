"""Measuring watch-topics against labelled news: precision, recall and the items that differ.

Owns: checking labelled items (JSON lines) with line-numbered errors (``parse_jsonl``; the file
is read by ``monitor.configio``), ``evaluate``, which scores every item with the very
``Matcher`` the daemon uses and counts, per topic and per language, true and false positives
and false negatives (and how many matches are alerts), and ``story_folds``/``evaluate_folds``,
which split the items into folds that keep each story's copies together and measure each fold
on its own. Grade 2 is relevant (positive), 0 is not (negative), 1 is borderline and counts
neither way. Pure; imports ``monitor.errors``, ``monitor.model`` and ``monitor.score`` only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from monitor.errors import InputError, Problem
from monitor.score.engine import Matcher, TopicExplanation

POSITIVE = 2
NEGATIVE = 0
BORDERLINE = 1


@dataclass(frozen=True, slots=True)
class EvalItem:
    """An item the topic got wrong: a false positive or a false negative, with why."""

    id: str
    title: str
    score: float
    decision: str
    reasons: tuple[str, ...]
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "score": self.score,
            "decision": self.decision,
            "detail": self.detail,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class TopicEval:
    """The counts and mistakes of one topic."""

    topic: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    ignored: int = 0
    false_positives: tuple[EvalItem, ...] = ()
    false_negatives: tuple[EvalItem, ...] = ()
    #: items matched whatever their label, and how many of those matches are alerts
    matches: int = 0
    alerts: int = 0
    #: the same counts for the items of each language (``"?"`` for items without one)
    by_lang: Mapping[str, TopicEval] = field(default_factory=dict)

    @property
    def positives(self) -> int:
        """Relevant items (grade 2) among those labelled."""
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        """Share of matches that are relevant; 1.0 when the topic matched nothing."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of relevant items matched; 1.0 when no item is relevant."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "matches": self.matches,
            "alerts": self.alerts,
            "by_lang": {
                lang: {
                    "tp": e.tp,
                    "fp": e.fp,
                    "fn": e.fn,
                    "positives": e.positives,
                    "precision": round(e.precision, 4),
                    "recall": round(e.recall, 4),
                }
                for lang, e in self.by_lang.items()
            },
            "false_positives": [i.as_json() for i in self.false_positives],
            "false_negatives": [i.as_json() for i in self.false_negatives],
        }


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What the matcher decided for one input item: ``{topic: score}`` of the topics matched."""

    id: str
    matched: Mapping[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "matched": dict(self.matched)}


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Per-topic figures and per-item results of one evaluation."""

    topics: Mapping[str, TopicEval]
    items: tuple[ItemResult, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "topics": {t: e.as_json() for t, e in self.topics.items()},
            "items": [i.as_json() for i in self.items],
        }


def _wrong(row: Mapping[str, Any], verdict: TopicExplanation) -> EvalItem:
    return EvalItem(
        id=str(row.get("id", "")),
        title=str(row.get("title", "")),
        score=verdict.score,
        decision=verdict.decision,
        reasons=tuple(str(r) for r in verdict.reasons),
        detail=verdict.detail,
    )


def evaluate(
    rows: Iterable[Mapping[str, Any]], matcher: Matcher, topic: str | None = None
) -> EvalReport:
    """Score every row and compare with its labels.

    ``rows`` are dicts with ``id``, ``title``, ``summary``, ``lang`` and ``labels``
    (``{topic: 0|1|2}``), as :func:`parse_jsonl` returns them. ``topic`` limits the report to one
    topic; it must be one of the matcher's (``ValueError`` otherwise). Matches are what
    ``Matcher.score`` returns, exactly as in the daemon; mistakes carry the explanation.
    """
    if topic is not None and topic not in matcher.topic_ids:
        known = ", ".join(matcher.topic_ids) or "(none)"
        raise ValueError(f"unknown topic '{topic}'; the watchlists define: {known}")
    wanted = (topic,) if topic is not None else matcher.topic_ids
    # counts per topic and per language; the topic's own are their sums
    counts: dict[str, dict[str, dict[str, int]]] = {t: {} for t in wanted}
    fps: dict[str, list[EvalItem]] = {t: [] for t in wanted}
    fns: dict[str, list[EvalItem]] = {t: [] for t in wanted}
    items: list[ItemResult] = []
    for n, row in enumerate(rows, start=1):
        title = str(row.get("title") or "")
        summary = str(row.get("summary") or "")
        lang = row.get("lang")
        lang = lang if isinstance(lang, str) else None
        labels = row.get("labels") or {}
        found = [m for m in matcher.score(title, summary, lang) if m.topic in counts]
        matched = {m.topic: m.score for m in found}
        items.append(ItemResult(str(row.get("id", f"#{n}")), matched))
        verdicts: dict[str, TopicExplanation] | None = None
        alerts = {m.topic for m in found if m.severity == "alert"}
        for t in wanted:
            c = counts[t].setdefault(_lang_key(lang), dict.fromkeys(_COUNTS, 0))
            hit = t in matched
            c["matches"] += hit
            c["alerts"] += t in alerts
            grade = labels.get(t)
            if grade is None:
                continue
            if grade == BORDERLINE:
                c["ignored"] += 1
            elif grade == POSITIVE and hit:
                c["tp"] += 1
            elif grade == NEGATIVE and not hit:
                c["tn"] += 1
            else:
                if verdicts is None:
                    verdicts = {v.topic: v for v in matcher.explain(title, summary, lang)}
                if hit:
                    c["fp"] += 1
                    fps[t].append(_wrong(row, verdicts[t]))
                else:
                    c["fn"] += 1
                    fns[t].append(_wrong(row, verdicts[t]))
    topics = {}
    for t in wanted:
        total = {k: sum(c[k] for c in counts[t].values()) for k in _COUNTS}
        topics[t] = replace(
            _tally(t, total),
            false_positives=tuple(fps[t]),
            false_negatives=tuple(fns[t]),
            by_lang={lang: _tally(t, c) for lang, c in sorted(counts[t].items())},
        )
    return EvalReport(topics, tuple(items))


_COUNTS = ("tp", "fp", "fn", "tn", "ignored", "matches", "alerts")


def _tally(topic: str, c: Mapping[str, int]) -> TopicEval:
    return TopicEval(
        topic,
        tp=c["tp"],
        fp=c["fp"],
        fn=c["fn"],
        tn=c["tn"],
        ignored=c["ignored"],
        matches=c["matches"],
        alerts=c["alerts"],
    )


def _lang_key(lang: str | None) -> str:
    """The language an item is counted under: its primary code (``fr-CA`` is ``fr``)."""
    if not lang:
        return "?"
    return lang.replace("_", "-").split("-", 1)[0].strip().lower() or "?"


def story_folds(rows: Sequence[Mapping[str, Any]], k: int) -> list[list[Mapping[str, Any]]]:
    """Split ``rows`` into ``k`` folds, keeping the copies of one story in one fold.

    Items sharing a ``story_id`` (copies of one story carried by several outlets) form one
    group; an item without one is a group of its own. Groups are ordered by a hash of their
    id, so the folds do not depend on the order of the file, and dealt out in turn, so the
    folds hold about as many stories each. ``ValueError`` when ``k`` is below 2 or above the
    number of stories.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for n, row in enumerate(rows, start=1):
        story = row.get("story_id")
        key = f"story:{story}" if story not in (None, "") else f"item:{row.get('id', n)}"
        groups.setdefault(key, []).append(row)
    if not 2 <= k <= len(groups):
        raise ValueError(
            f"cannot make {k} folds of {len(groups)} stories; use between 2 and {len(groups)}"
        )
    ordered = sorted(groups, key=lambda g: hashlib.sha1(g.encode()).hexdigest())
    folds: list[list[Mapping[str, Any]]] = [[] for _ in range(k)]
    for i, key in enumerate(ordered):
        folds[i % k].extend(groups[key])
    return folds


def evaluate_folds(
    rows: Sequence[Mapping[str, Any]], matcher: Matcher, k: int, topic: str | None = None
) -> list[EvalReport]:
    """Each story fold of ``rows`` (see :func:`story_folds`) measured on its own.

    Watch-topics are rules, not a fitted model: what a fold says is how the topic does on
    stories a user did not look at while writing it, when the user tunes on the other folds
    and keeps this one aside; and how much the figures vary from one set of stories to another.
    """
    return [evaluate(fold, matcher, topic) for fold in story_folds(rows, k)]


def parse_jsonl(text: str, path: str) -> list[dict[str, Any]]:
    """Parse labelled items; raise ``InputError`` naming every bad line."""
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    path,
                    n,
                    f"not valid JSON ({exc.msg} at column {exc.colno}); each line "
                    "must be one JSON object",
                )
            )
            continue
        if not isinstance(row, dict):
            problems.append(
                Problem(
                    path,
                    n,
                    f"expected a JSON object, got {type(row).__name__}; e.g. "
                    '{"id": "a1", "title": "...", "summary": "...", "labels": {"norad": 2}}',
                )
            )
            continue
        problems.extend(_row_problems(row, path, n))
        key = str(row.get("id", f"#{n}"))
        if key in seen:
            problems.append(
                Problem(
                    path, n, f"id '{key}' is already used on line {seen[key]}; ids must be unique"
                )
            )
        seen.setdefault(key, n)
        rows.append(row)
    if problems:
        raise InputError(problems)
    return rows


def _row_problems(row: dict[str, Any], path: str, n: int) -> list[Problem]:
    out: list[Problem] = []
    if "id" not in row:
        out.append(Problem(path, n, "missing 'id' (a string naming the item)"))
    elif not isinstance(row["id"], str | int):
        out.append(Problem(path, n, f"'id' must be a string, got {row['id']!r}"))
    if not isinstance(row.get("title"), str):
        out.append(Problem(path, n, "missing or non-text 'title'; every item needs its title"))
    if "summary" in row and not isinstance(row["summary"], str | None):
        out.append(Problem(path, n, f"'summary' must be text, got {type(row['summary']).__name__}"))
    if "lang" in row and not isinstance(row["lang"], str | None):
        out.append(
            Problem(path, n, f"'lang' must be a language code such as \"en\", got {row['lang']!r}")
        )
    labels = row.get("labels", {})
    if not isinstance(labels, dict):
        out.append(Problem(path, n, "'labels' must be an object such as {\"norad\": 2}"))
    else:
        for topic, grade in labels.items():
            if grade not in (0, 1, 2) or isinstance(grade, bool):
                out.append(
                    Problem(
                        path,
                        n,
                        f"labels.{topic} is {grade!r}; a grade is 0 (not relevant), "
                        "1 (borderline) or 2 (relevant)",
                    )
                )
    return out
