"""A topic's verdict on one item, and why: the decision, severity and reasons.

Owns: ``TopicExplanation`` (what ``monitor explain`` and the matches' reasons show) and
``explain_topic``, which decides one topic on one item from the terms found in it: vetoed,
requirement not met, below the threshold, or a match (an alert when ``alert_when`` and
``alert_at`` say so), with the reasons that decided it. Pure. Imports ``monitor.model`` and
``monitor.score`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from monitor.model import Reason, Severity
from monitor.score.compiled import (
    FIELDS,
    CompiledTopic,
    FieldText,
    Place,
    TermHit,
    TermInfo,
    contributions,
    holds,
    mentioned,
    span_of,
)

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


def explain_topic(
    rule: CompiledTopic,
    hits: list[TermHit],
    fields: list[FieldText],
    term_group: tuple[int, ...],
    term_info: TermInfo,
    *,
    full: bool = True,
) -> TopicExplanation:
    """The verdict of one topic on one item whose ``hits`` were found: its score, decision,
    severity and reasons (``full=False``: only the reasons a match carries)."""
    spec = rule.spec
    # title first, then by where each term is first found
    ordered = (
        sorted(hits, key=lambda h: (h[1], fields[h[1]].word_index(h[2], h[3][0])))
        if len(hits) > 1
        else hits
    )
    added = contributions(rule, ordered, term_info)
    score = round(sum(added), 4)
    present = {term_group[h[0]] for h in hits}
    witnesses: list[tuple[str, Place, Place]] = []
    vetoed_by: tuple[int, str] | None = None
    for i, (cond, text) in enumerate(rule.excludes):
        if holds(cond, present, hits, term_group, fields, witnesses):
            vetoed_by = (i, text)
            break
    required = True
    if rule.require is not None:
        required = holds(rule.require, present, hits, term_group, fields, witnesses)

    severity: Severity | None = None
    if vetoed_by is not None:
        decision: Decision = "vetoed"
        detail = f"vetoed by exclude[{vetoed_by[0]}]: {vetoed_by[1]}"
    elif not required:
        decision = "requirement_not_met"
        missing = [rule.groups[gi].name for gi in mentioned(rule.require) if gi not in present]
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
            shown: list[tuple[str, Place, Place]] = []
            escalates = holds(rule.alert_when, present, hits, term_group, fields, shown)
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
    for hit, weight in zip(ordered, added, strict=True):
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
        pos_a, text_a = span_of(fields, a)
        pos_b, text_b = span_of(fields, b)
        first_text, second_text = (text_a, text_b) if pos_a <= pos_b else (text_b, text_a)
        reasons.append(
            Reason(f"{first_text} … {second_text}", FIELDS[a[0]], min(pos_a, pos_b), 0.0, label)
        )
    if vetoed_by is not None:
        cond = rule.excludes[vetoed_by[0]][0]
        for gi in mentioned(cond):
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
