"""Suggested rule changes from an analyst's judgements, each with its measured effect.

Owns: ``suggest``, which reads a topic and labelled items (``monitor feedback export``'s rows,
or any file ``monitor eval`` reads) and proposes:

- an **exclusion**: a word or two-word phrase found in two or more of the topic's false
  positives (in the one, when there is one) and in none (or few) of the relevant items
  becomes a weight-0 group named in ``exclude:``, which vetoes the match;
- an **alias** or a **context term**: a word or phrase found in two or more missed relevant
  items (in the one, when there is one) and in none (or few) of the items judged not relevant
  is added to the topic's main group (an alias: it scores) or to a group ``require:`` names
  that a missed item lacks (context: it lets the requirement hold).

Each candidate is measured, not guessed: the topic is changed in memory, compiled with the
daemon's own ``compile_topics`` and evaluated on the same labels with ``monitor.evaluate``;
only changes that fix at least one item are kept, best first, each with precision and recall
before and after, the items it fixes and breaks, and a YAML snippet to paste. Nothing is
written anywhere: applying a suggestion is the user's edit.

Pure; imports ``monitor.evaluate`` and ``monitor.score`` only.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from monitor.evaluate import NEGATIVE, POSITIVE, evaluate
from monitor.score.engine import compile_topics
from monitor.score.spec import Condition, GroupSpec, TermSpec, TopicSpec, check_topic
from monitor.score.text import fold_phrase, fold_words

Kind = Literal["exclude", "alias", "context"]

#: candidates measured per kind (each costs one compile and one evaluation)
MEASURED = 12
#: words that say nothing of a subject, in the two languages of the default watchlists
STOPWORDS = frozenset(
    """
    a about after again against all also an and any are as at be been before being between
    both but by can could did do does during each for from had has have he her here his how i
    if in into is it its just more most new no not now of on one only or other our out over
    said says she should so some such than that the their them then there these they this
    those through to too two under up us was we were what when where which while who will
    with would year years you your
    au aux avec ce ces cette dans de des du elle en est et il ils la le les leur lui mais
    ne nous on ou par pas plus pour qu que qui sa se ses son sont sur un une
    """.split()
)
_WORD = re.compile(r"^[a-z][a-z0-9]*$")


@dataclass(frozen=True, slots=True)
class Figures:
    """A topic's figures on the labels: counts, precision and recall."""

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float

    def __str__(self) -> str:
        return (
            f"P {self.precision:.2f} R {self.recall:.2f} (TP {self.tp}, FP {self.fp}, FN {self.fn})"
        )


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One proposed change to a topic and what it does on the labels."""

    kind: Kind
    term: str
    #: the group the term goes into (a new one for an exclusion)
    group: str
    #: why it was proposed: where the term was found
    evidence: str
    before: Figures
    after: Figures
    #: ids of the labelled items it gets right that were wrong, and the reverse
    fixes: tuple[str, ...]
    breaks: tuple[str, ...]
    yaml: str
    #: the topic as it would be with the change
    topic: TopicSpec

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "term": self.term,
            "group": self.group,
            "evidence": self.evidence,
            "before": _figures_json(self.before),
            "after": _figures_json(self.after),
            "fixes": list(self.fixes),
            "breaks": list(self.breaks),
            "yaml": self.yaml,
        }


def _figures_json(f: Figures) -> dict[str, Any]:
    return {
        "tp": f.tp,
        "fp": f.fp,
        "fn": f.fn,
        "precision": round(f.precision, 4),
        "recall": round(f.recall, 4),
    }


@dataclass(frozen=True, slots=True)
class TuneReport:
    """The topic's figures on the labels now, and the suggestions, best first."""

    topic: str
    labelled: int
    before: Figures
    suggestions: tuple[Suggestion, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "labelled": self.labelled,
            "before": _figures_json(self.before),
            "suggestions": [s.as_json() for s in self.suggestions],
        }


def terms_of(title: str, summary: str) -> set[str]:
    """The candidate terms of an item: its words and two-word phrases, folded (case and
    accents ignored, as matching does), without stopwords, numbers or words under 3 letters."""
    words = fold_words(f"{title} . {summary}").split()
    out: set[str] = set()
    for i, w in enumerate(words):
        if _useful(w):
            out.add(w)
            if i + 1 < len(words) and _useful(words[i + 1]):
                out.add(f"{w} {words[i + 1]}")
    return out


def _useful(word: str) -> bool:
    return len(word) >= 3 and word not in STOPWORDS and bool(_WORD.match(word))


def _known_terms(topic: TopicSpec) -> set[str]:
    return {
        fold_phrase(t.term.replace("*", ""))
        for g in topic.groups.values()
        for t in g.terms
        if t.term
    }


def _slug(term: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", term).strip("_")[:40] or "term"


def _with_exclusion(topic: TopicSpec, term: str) -> tuple[TopicSpec, str]:
    name = f"not_{_slug(term)}"
    while name in topic.groups:
        name += "_"
    groups = {**topic.groups, name: GroupSpec(weight=0, terms=[TermSpec(term=term)])}
    changed = topic.model_copy(
        update={"groups": groups, "exclude": [*topic.exclude, Condition(group=name)]}
    )
    return changed, name


def _with_term(topic: TopicSpec, group: str, term: str) -> TopicSpec:
    old = topic.groups[group]
    new = old.model_copy(update={"terms": [*old.terms, TermSpec(term=term)]})
    return topic.model_copy(update={"groups": {**topic.groups, group: new}})


def _main_group(topic: TopicSpec) -> str | None:
    scoring = [(g.weight, name) for name, g in topic.groups.items() if g.weight > 0]
    return max(scoring)[1] if scoring else None


def _context_groups(topic: TopicSpec) -> list[str]:
    named = list(dict.fromkeys(topic.require.groups())) if topic.require is not None else []
    return [g for g in named if g in topic.groups and topic.groups[g].weight == 0]


def _hits(topic: TopicSpec, rows: Sequence[Mapping[str, Any]]) -> dict[str, bool] | None:
    """Whether ``topic`` matches each of ``rows``, by id; None if the topic would not be
    accepted by the watchlist checks."""
    if check_topic(topic):
        return None
    report = evaluate(rows, compile_topics([topic]), topic.id)
    return {item.id: topic.id in item.matched for item in report.items}


def _groups_lacking(topic: TopicSpec, rows: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    """For each of ``rows``, by id, the groups of ``topic`` none of whose terms it contains."""
    matcher = compile_topics([topic])
    out = {}
    for r in rows:
        found = set()
        lang = r.get("lang") if isinstance(r.get("lang"), str) else None
        title, summary = str(r.get("title") or ""), str(r.get("summary") or "")
        for verdict in matcher.explain(title, summary, lang):
            for reason in verdict.reasons:
                kind, _, group = reason.rule.partition(" ")
                if kind in ("group", "context"):
                    found.add(group)
        out[str(r.get("id"))] = set(topic.groups) - found
    return out


def _figures(hits: Mapping[str, bool], grade: Mapping[str, int]) -> Figures:
    """Counts as ``monitor.evaluate`` makes them: grade 2 positive, grade 0 negative."""
    tp = sum(1 for i, g in grade.items() if g == POSITIVE and hits[i])
    fp = sum(1 for i, g in grade.items() if g == NEGATIVE and hits[i])
    fn = sum(1 for i, g in grade.items() if g == POSITIVE and not hits[i])
    return Figures(
        tp, fp, fn, tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0
    )


def _wrong(hits: Mapping[str, bool], grade: Mapping[str, int]) -> set[str]:
    return {i for i, g in grade.items() if hits[i] != (g == POSITIVE)}


def _row_terms(rows: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    return {
        str(r.get("id")): terms_of(str(r.get("title") or ""), str(r.get("summary") or ""))
        for r in rows
    }


def _frequent(ids: Iterable[str], terms: Mapping[str, set[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for i in ids:
        counts.update(terms.get(i, ()))
    return counts


def suggest(topic: TopicSpec, rows: Sequence[Mapping[str, Any]], *, limit: int = 5) -> TuneReport:
    """Suggested changes to ``topic`` from labelled ``rows`` (with ``labels[topic.id]``),
    best first (most items fixed less broken, then precision and recall after), at most
    ``limit``."""
    labelled = [r for r in rows if (r.get("labels") or {}).get(topic.id) in (POSITIVE, NEGATIVE)]
    base_hits = _hits(topic, labelled)
    if base_hits is None:
        raise ValueError(f"topic '{topic.id}' does not pass the watchlist checks")
    grade = {str(r.get("id")): r["labels"][topic.id] for r in labelled}
    before, base_wrong = _figures(base_hits, grade), _wrong(base_hits, grade)
    terms = _row_terms(labelled)
    positives = [i for i, g in grade.items() if g == POSITIVE]
    negatives = [i for i, g in grade.items() if g == NEGATIVE]
    known = _known_terms(topic)
    in_pos, in_neg = _frequent(positives, terms), _frequent(negatives, terms)
    found: list[tuple[tuple[float, ...], Suggestion]] = []

    def consider(kind: Kind, term: str, group: str, changed: TopicSpec, evidence: str) -> None:
        # adding a term changes only the items that contain it: the others keep their result
        found_in = [r for r in labelled if term in terms[str(r.get("id"))]]
        hits = _hits(changed, found_in)
        if hits is None:
            return
        merged = {**base_hits, **hits}
        wrong = _wrong(merged, grade)
        fixes, breaks = sorted(base_wrong - wrong), sorted(wrong - base_wrong)
        if not fixes or len(breaks) >= len(fixes):
            return
        after = _figures(merged, grade)
        f1 = 2 * after.precision * after.recall / (after.precision + after.recall or 1)
        # ties: an exclusion as one word (it vetoes the variants too), a term to match as
        # the longer phrase (it matches less by accident)
        words = len(term.split())
        rank = (len(fixes) - len(breaks), f1, -words if kind == "exclude" else words, -len(term))
        found.append(
            (
                rank,
                Suggestion(
                    kind=kind,
                    term=term,
                    group=group,
                    evidence=evidence,
                    before=before,
                    after=after,
                    fixes=tuple(fixes),
                    breaks=tuple(breaks),
                    yaml=_snippet(kind, topic, group, term),
                    topic=changed,
                ),
            )
        )

    fps = [i for i in grade if grade[i] == NEGATIVE and base_hits[i]]
    in_fp = _frequent(fps, terms)
    for term, n in _candidates(in_fp, len(fps), in_pos, len(positives), known):
        changed, name = _with_exclusion(topic, term)
        evidence = (
            f"in {n} of {len(fps)} false positives, "
            f"{in_pos[term]} of {len(positives)} relevant items"
        )
        consider("exclude", term, name, changed, evidence)

    fns = [i for i in grade if grade[i] == POSITIVE and not base_hits[i]]
    in_fn = _frequent(fns, terms)
    main = _main_group(topic)
    lacking = _groups_lacking(topic, [r for r in labelled if str(r.get("id")) in set(fns)])
    for term, n in _candidates(in_fn, len(fns), in_neg, len(negatives), known):
        evidence = (
            f"in {n} of {len(fns)} missed items, {in_neg[term]} of {len(negatives)} not relevant"
        )
        if main is not None:
            consider("alias", term, main, _with_term(topic, main, term), evidence)
        for group in _context_groups(topic):
            # context in a group helps only items that lack the group
            if any(group in lacking[i] for i in fns if term in terms[i]):
                consider("context", term, group, _with_term(topic, group, term), evidence)

    found.sort(key=lambda pair: pair[0], reverse=True)
    chosen: list[Suggestion] = []
    for _, s in found:
        # a change fixing only items a better one of its kind fixes adds nothing to read
        if any(set(s.fixes) <= set(c.fixes) and c.kind == s.kind for c in chosen):
            continue
        chosen.append(s)
        if len(chosen) >= limit:
            break
    return TuneReport(topic.id, len(labelled), before, tuple(chosen))


def _candidates(
    wanted: Counter[str],
    wanted_total: int,
    unwanted: Counter[str],
    unwanted_total: int,
    known: set[str],
) -> list[tuple[str, int]]:
    """Terms frequent where they would help (in at least two of those items, when there are
    two or more: a term of one item alone is as likely its accident as the topic's) and rare
    where they would hurt (in at most a tenth of those items), most frequent first, at most
    ``MEASURED``."""
    needed = min(2, wanted_total)
    allowed = unwanted_total // 10
    ranked = sorted(
        (
            (term, n)
            for term, n in wanted.items()
            if n >= needed and unwanted[term] <= allowed and term not in known
        ),
        key=lambda tn: (-tn[1], unwanted[tn[0]], -len(tn[0].split()), tn[0]),
    )
    return ranked[:MEASURED]


def _snippet(kind: Kind, topic: TopicSpec, group: str, term: str) -> str:
    """The change as YAML to paste into the topic's entry of its watchlist file."""
    quoted = _yaml_scalar(term)
    if kind == "exclude":
        return (
            f"# topic {topic.id}: a new group, and its name added to the topic's exclude list\n"
            f"groups:\n"
            f"  {group}:\n"
            f"    weight: 0\n"
            f"    terms: [{quoted}]\n"
            f"exclude:\n"
            + "".join(f"  - {c.describe()}\n" for c in topic.exclude if c.group is not None)
            + (
                "  # … the other rules already there\n"
                if any(c.group is None for c in topic.exclude)
                else ""
            )
            + f"  - {group}\n"
        )
    role = "an alias that scores" if kind == "alias" else "context for the require rule"
    return (
        f"# topic {topic.id}: {role}, added to the terms of group {group}\n"
        f"groups:\n"
        f"  {group}:\n"
        f"    terms:\n"
        f"      # … the group's terms, then:\n"
        f"      - {quoted}\n"
    )


def _yaml_scalar(term: str) -> str:
    return term if re.fullmatch(r"[a-z][a-z0-9 ]*", term) else f'"{term}"'
