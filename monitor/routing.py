"""Which matches a channel takes: the routing rule, stated once as data.

Owns: a channel's filter (:class:`Route`: its topics, minimum score and the severities it takes)
and the conditions that filter makes of a match (:meth:`Route.conditions`). The same conditions
are read twice and written once: :meth:`Route.takes` tests a match against them in memory, and
the store turns each into a ``WHERE`` clause (``store.deliveries``), so the SQL selection and the
in-memory rule cannot drift apart. Pure: takes values, returns values. Imports ``monitor.model``
only; must not import store, fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from monitor.model import SEVERITY_RANK, MatchRecord

#: the fields of a match a condition may test (columns of the ``matches`` table, attributes of
#: :class:`monitor.model.MatchRecord`)
Field = Literal["topic", "score", "severity"]
#: ``in``: the field's value is one of a set; ``>=``: the value is at least a bound
Op = Literal["in", ">="]


@dataclass(frozen=True, slots=True)
class Condition:
    """One test a match must pass: ``field op value``."""

    field: Field
    op: Op
    value: Any

    def holds(self, value: Any) -> bool:
        """Whether a match whose ``field`` is ``value`` passes this condition."""
        if self.op == "in":
            return value in self.value
        return bool(value >= self.value)


def severities_from(min_severity: str) -> frozenset[str]:
    """The severities at or above ``min_severity`` (an unknown severity is never taken)."""
    floor = SEVERITY_RANK[min_severity]
    return frozenset(s for s, rank in SEVERITY_RANK.items() if rank >= floor)


@dataclass(frozen=True, slots=True)
class Route:
    """A channel's filter. ``None`` for topics or severities means "all of them"."""

    topics: tuple[str, ...] | None = None
    min_score: float = 0.0
    severities: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        *,
        topics: Sequence[str] | None = None,
        min_score: float = 0.0,
        min_severity: str | None = None,
    ) -> Route:
        """The route of a channel's settings (``min_severity`` as in the channel's YAML)."""
        return cls(
            topics=tuple(topics) if topics is not None else None,
            min_score=float(min_score),
            severities=severities_from(min_severity) if min_severity is not None else None,
        )

    def only(self, *severities: str) -> Route:
        """This route narrowed to ``severities`` (an alert batch takes alert matches only)."""
        wanted = frozenset(severities)
        kept = wanted if self.severities is None else self.severities & wanted
        return Route(topics=self.topics, min_score=self.min_score, severities=kept)

    def conditions(self) -> tuple[Condition, ...]:
        """What a match must satisfy to be taken, all of it (the rule itself)."""
        out = [Condition("score", ">=", self.min_score)]
        if self.topics is not None:
            out.append(Condition("topic", "in", frozenset(self.topics)))
        if self.severities is not None:
            out.append(Condition("severity", "in", self.severities))
        return tuple(out)

    def takes(self, match: MatchRecord) -> bool:
        """Whether ``match`` is routed here."""
        return all(c.holds(getattr(match, c.field)) for c in self.conditions())

    def select(self, matches: Iterable[MatchRecord]) -> list[MatchRecord]:
        """The matches routed here, in the order given."""
        return [m for m in matches if self.takes(m)]
