"""The watchlist language: the schema of a topic and the checks that make a watchlist usable.

Owns: the pydantic models of a watchlist file (``WatchlistFile``, ``TopicSpec``, ``GroupSpec``,
``TermSpec``, ``Condition``, ``FieldWeights``) and ``validate_watchlist``, which reports every
problem of one parsed file as ``path:line: message`` with the rule at fault and a hint.
Pure; imports ``monitor.errors``, ``monitor.yamlsrc`` and ``monitor.score.text`` only; never
imports the engine, the configuration loader or anything that does I/O.

A topic, in YAML::

    - id: tariffs
      name: US-Canada tariffs and trade
      description: Tariffs and trade measures between the United States and Canada.
      seed: seeds/000_74cf184e59c9d2f1.txt
      lang: [en, fr]
      threshold: 4
      groups:
        tariff: {weight: 3, terms: ["tariff*", "droits de douane"]}
        canada: {weight: 0, terms: [Canada, "Canadian*", Ottawa]}
        escalation: {weight: 0, terms: ["retaliat*", "représailles"]}
      require: {all: [tariff, canada]}
      exclude: [electricity_rates]
      alert_when: {near: [escalation, tariff], within: 8}
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitor.errors import Problem
from monitor.score.text import parse_term
from monitor.yamlsrc import Document, validation_problems

Severity = Literal["digest", "alert"]
Case = Literal["sensitive", "insensitive"]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_GROUP = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_LANG = re.compile(r"^[a-z]{2,3}$")
MAX_WITHIN = 50


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TermSpec(_Model):
    """One term of a group: a phrase (``term``) or a regular expression (``regex``).

    In YAML a plain string is a phrase: ``- tariff*`` is ``- {term: "tariff*"}``.
    """

    term: str | None = None
    regex: str | None = None
    case: Case | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"term": data}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> TermSpec:
        if (self.term is None) == (self.regex is None):
            raise ValueError(
                "a term is a phrase or a mapping with exactly one of 'term' or 'regex', "
                "e.g. {term: NORAD, case: sensitive} or {regex: '\\b25 ?%'}"
            )
        return self

    @property
    def label(self) -> str:
        """How the term is shown in messages and reasons."""
        return self.term if self.term is not None else f"/{self.regex}/"


class GroupSpec(_Model):
    """A named set of terms that scores ``weight`` when found (0: context only).

    ``count: once`` (the default) scores the weight once per field in which any of the terms is
    found; ``count: each`` scores it for every different term found. ``max`` caps the group.
    """

    weight: float = 1.0
    count: Literal["once", "each"] = "once"
    max: float | None = Field(default=None, gt=0)
    terms: list[TermSpec]


class Condition(_Model):
    """A condition on groups: a group name, or one of ``any``/``all``/``none``/``near``.

    In YAML a plain string is a group name: ``- canada`` is ``- {group: canada}``.
    ``near: [a, b]`` with ``within: N`` holds when a term of group ``a`` and one of group ``b``
    are in the same sentence of one field with at most N words between them;
    ``across_sentences: true`` lets the two terms sit in neighbouring sentences too.
    """

    group: str | None = None
    any: list[Condition] | None = None
    all: list[Condition] | None = None
    none: list[Condition] | None = None
    near: list[str] | None = None
    within: int | None = None
    across_sentences: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"group": data}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        kinds = [k for k in ("group", "any", "all", "none", "near") if getattr(self, k) is not None]
        if len(kinds) != 1:
            given = f"got {', '.join(kinds)}" if kinds else "got none of them"
            raise ValueError(
                "a condition is a group name or a mapping with exactly one of "
                f"any, all, none, near ({given}); nest them to combine, "
                "e.g. {all: [tariff, {any: [canada, cusma]}]}"
            )
        for key in ("within", "across_sentences"):
            if getattr(self, key) is not None and self.near is None:
                raise ValueError(
                    f"'{key}' belongs to a 'near' condition, e.g. {{near: [a, b], within: 8}}"
                )
        return self

    @property
    def kind(self) -> str:
        for k in ("group", "any", "all", "none", "near"):
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated condition has a kind")  # pragma: no cover

    def describe(self) -> str:
        """The condition as a short formula for explanations: ``all(tariff, canada)``."""
        if self.group is not None:
            return self.group
        if self.near is not None:
            across = ", across sentences" if self.across_sentences else ""
            return f"near({', '.join(self.near)}; within {self.within} words{across})"
        children = getattr(self, self.kind)
        return f"{self.kind}({', '.join(c.describe() for c in children)})"

    def groups(self) -> Iterator[str]:
        """Every group name this condition mentions."""
        if self.group is not None:
            yield self.group
        elif self.near is not None:
            yield from self.near
        else:
            for child in getattr(self, self.kind):
                yield from child.groups()


class FieldWeights(_Model):
    """How much a term found in each field counts (a multiplier of the group's weight)."""

    title: float = Field(default=2.0, ge=0)
    summary: float = Field(default=1.0, ge=0)
    #: the article's text, when it is fetched: long and less focused than what the feed says
    body: float = Field(default=0.5, ge=0)


class TopicSpec(_Model):
    """One watch-topic: what it means, its terms, and the rules that decide a match."""

    id: str
    name: str
    description: str
    seed: str | None = None
    lang: list[str] = Field(default_factory=list)
    threshold: float = Field(gt=0)
    alert_at: float | None = Field(default=None, gt=0)
    alert_when: Condition | None = None
    severity: Severity = "digest"
    urgent: bool = False
    fields: FieldWeights = Field(default_factory=FieldWeights)
    groups: dict[str, GroupSpec]
    require: Condition | None = None
    exclude: list[Condition] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _lang_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("lang"), str):
            return {**data, "lang": [data["lang"]]}
        return data


class WatchlistFile(_Model):
    """A watchlist file: ``topics:`` and the list of topics it holds."""

    topics: list[TopicSpec]


# ---------------------------------------------------------------------------------------------
# Semantic checks

Loc = tuple[str | int, ...]


def check_topic(topic: TopicSpec) -> list[tuple[Loc, str]]:
    """Everything wrong with a schema-valid topic, as (location within the topic, message).

    The engine refuses a topic with any problem, so a watchlist that validates always compiles.
    """
    out: list[tuple[Loc, str]] = []
    if not _ID.match(topic.id):
        out.append(
            (
                ("id",),
                f"id '{topic.id}' must be lower-case letters, digits and '_', starting with a "
                "letter (it is used in routing and eval labels), e.g. 'arctic_security'",
            )
        )
    for i, code in enumerate(topic.lang):
        if not _LANG.match(code):
            out.append(
                (("lang", i), f"lang '{code}' is not a language code; use e.g. 'en' or 'fr'")
            )
    if topic.alert_at is not None and topic.alert_at < topic.threshold:
        out.append(
            (
                ("alert_at",),
                f"alert_at {topic.alert_at:g} is below threshold {topic.threshold:g}; an alert "
                "needs at least the score of a match, so raise alert_at or lower threshold",
            )
        )
    if not topic.groups:
        out.append((("groups",), "the topic has no groups; add at least one group of terms"))
    out.extend(_check_groups(topic))
    used: set[str] = set()
    if topic.require is not None:
        used.update(topic.require.groups())
        out.extend(_check_condition(topic, topic.require, ("require",)))
    for i, cond in enumerate(topic.exclude):
        used.update(cond.groups())
        out.extend(_check_condition(topic, cond, ("exclude", i)))
    if topic.alert_when is not None:
        used.update(topic.alert_when.groups())
        out.extend(_check_condition(topic, topic.alert_when, ("alert_when",)))
    for name, group in topic.groups.items():
        if group.weight == 0 and name not in used:
            out.append(
                (
                    ("groups", name, "weight"),
                    f"group '{name}' has weight 0 and no require/exclude/alert_when rule uses "
                    "it, so it "
                    "can never change a result; give it a weight or name it in a rule",
                )
            )
    if topic.groups and not any(g.weight > 0 for g in topic.groups.values()):
        out.append(
            (
                ("groups",),
                "no group has a positive weight, so the score can never reach the threshold; "
                "give the topic's main group a weight such as 3",
            )
        )
    return out


def _check_groups(topic: TopicSpec) -> Iterator[tuple[Loc, str]]:
    for name, group in topic.groups.items():
        yield from check_group(name, group)


def check_group(name: str, group: GroupSpec) -> Iterator[tuple[Loc, str]]:
    """Problems of one group: its name, its terms' syntax, regexes, repeated terms."""
    here: Loc = ("groups", name)
    if not _GROUP.match(name):
        yield (
            here,
            f"group name '{name}' must be letters, digits and '_' (it is used in rules), "
            "e.g. 'canada_context'",
        )
    if not group.terms:
        yield ((*here, "terms"), f"group '{name}' has no terms; list at least one term")
    seen: dict[tuple[str, ...], int] = {}
    for j, term in enumerate(group.terms):
        where: Loc = (*here, "terms", j)
        label = f"group '{name}', term '{term.label}'"
        if term.term is not None:
            try:
                parsed = parse_term(term.term, case=term.case)
            except ValueError as exc:
                yield (where, f"{label}: {exc}")
                continue
            key = (
                *(parsed.cased if parsed.case_sensitive else parsed.keys),
                "*" if parsed.prefix else "",
                str(parsed.case_sensitive),
            )
            if key in seen:
                yield (where, f"{label} repeats term {seen[key] + 1} of the group; remove one")
            seen.setdefault(key, j)
        else:
            problem = regex_problem(term.regex or "", sensitive=term.case == "sensitive")
            if problem:
                yield (where, f"{label}: {problem}")


def regex_problem(pattern: str, *, sensitive: bool = False) -> str | None:
    """Why a regex term cannot be used, or ``None`` when it can."""
    try:
        compiled = re.compile(pattern, 0 if sensitive else re.IGNORECASE)
    except re.error as exc:
        return (
            f"invalid regular expression: {exc.msg} at position {exc.pos}; "
            "check brackets and escape special characters with a backslash"
        )
    if compiled.search("") is not None or compiled.search(" ") is not None:
        return (
            "the regular expression matches empty text and so every item; "
            "make at least one character required (use '+' rather than '*')"
        )
    if any(not c.isascii() and c.isalpha() for c in pattern):
        return (
            "regular expressions see text with accents removed; write letters without "
            "accents (e.g. 'defense' for 'défense')"
        )
    return None


def _check_condition(topic: TopicSpec, cond: Condition, here: Loc) -> Iterator[tuple[Loc, str]]:
    rule = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in here).replace(".[", "[")
    if cond.group is not None:
        if cond.group not in topic.groups:
            yield (here, f"{rule}: {_unknown_group(topic, cond.group)}")
        return
    if cond.near is not None:
        if len(cond.near) != 2:
            yield (
                here,
                f"{rule}: 'near' takes exactly two group names, e.g. {{near: [tariff, canada], "
                f"within: 8}} (got {len(cond.near)})",
            )
        for j, name in enumerate(cond.near):
            if name not in topic.groups:
                yield ((*here, "near", j), f"{rule}.near: {_unknown_group(topic, name)}")
        if cond.within is None:
            yield (here, f"{rule}: 'near' needs 'within: N' (the most words between the terms)")
        elif not 0 <= cond.within <= MAX_WITHIN:
            yield (
                (*here, "within"),
                f"{rule}.within: {cond.within} is out of range; use 0 (adjacent) to {MAX_WITHIN}",
            )
        return
    kind = cond.kind
    children: list[Condition] = getattr(cond, kind)
    if not children:
        yield (here, f"{rule}: '{kind}' has an empty list; give it at least one condition")
    for i, child in enumerate(children):
        yield from _check_condition(topic, child, (*here, kind, i))


def _unknown_group(topic: TopicSpec, name: str) -> str:
    close = difflib.get_close_matches(name, list(topic.groups), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"groups are: {', '.join(topic.groups)}"
    return f"unknown group '{name}'; {hint}"


def _salvage_groups(doc: Document, raw: Any, index: int) -> list[Problem]:
    """Check the groups that are well formed in a topic that is not, so all problems show."""
    if not isinstance(raw, dict) or not isinstance(raw.get("groups"), dict):
        return []
    name = raw.get("id") if isinstance(raw.get("id"), str) else f"#{index + 1}"
    out = []
    for gname, graw in raw["groups"].items():
        try:
            group = GroupSpec.model_validate(graw)
        except ValidationError:
            continue  # already reported by the topic's own validation
        for loc, message in check_group(str(gname), group):
            line = doc.line_of(["topics", index, *loc])
            out.append(Problem(doc.path, line, f"topic '{name}': {message}"))
    return out


def validate_watchlist(doc: Document) -> tuple[list[TopicSpec], list[Problem]]:
    """Validate one parsed watchlist file; return its good topics and every problem found.

    Each topic is validated on its own, so one broken topic does not hide problems in the
    others. Ids must be unique within the file (the configuration loader checks across files).
    A caller must not use the topics when any problem is returned.
    """
    data = doc.data
    if not isinstance(data, dict) or "topics" not in data:
        return [], [
            Problem(
                doc.path,
                1,
                "a watchlist needs a top-level 'topics:' list, e.g.\n"
                "topics:\n  - id: norad\n    name: NORAD review\n    ...",
            )
        ]
    problems: list[Problem] = []
    extra = [k for k in data if k != "topics"]
    for key in extra:
        problems.append(
            Problem(
                doc.path,
                doc.line_of([key]),
                f"unknown key '{key}' at top level; a watchlist holds only 'topics:'",
            )
        )
    items = data["topics"]
    if not isinstance(items, list):
        problems.append(
            Problem(doc.path, doc.line_of(["topics"]), "'topics' must be a list of topics")
        )
        return [], problems
    topics: list[TopicSpec] = []
    first_line: dict[str, int | None] = {}
    for i, raw in enumerate(items):
        try:
            topic = TopicSpec.model_validate(raw)
        except ValidationError as exc:
            problems.extend(
                validation_problems(exc, doc, model=WatchlistFile, prefix=("topics", i))
            )
            problems.extend(_salvage_groups(doc, raw, i))
            continue
        for loc, message in check_topic(topic):
            full = ("topics", i, *loc)
            problems.append(
                Problem(doc.path, doc.line_of(list(full)), f"topic '{topic.id}': {message}")
            )
        if topic.id in first_line:
            problems.append(
                Problem(
                    doc.path,
                    doc.line_of(["topics", i, "id"]),
                    f"topic id '{topic.id}' is already used at line {first_line[topic.id]}; "
                    "give each topic its own id",
                )
            )
        else:
            first_line[topic.id] = doc.line_of(["topics", i, "id"])
        topics.append(topic)
    return topics, problems
