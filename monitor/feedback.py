"""An analyst's judgements of items, and the labelled items they make for ``monitor eval``.

Owns: the ``Judgement`` value (one "relevant" or "not relevant" said of one item for one
topic, with when, by whom and the item's text as it was judged), which judgement stands
(``latest``: the newest of each item and topic; the older ones stay as history), and
``labelled_rows``: the standing judgements as rows in the format ``monitor.evaluate`` reads
(grade 2 for relevant, 0 for not relevant). Pure; imports nothing from ``monitor``.

A judgement on an item the topic matched says whether the match was right; "relevant" on an
item it did not match is a miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Verdict = Literal["relevant", "not_relevant"]
VERDICTS: tuple[Verdict, ...] = ("relevant", "not_relevant")

#: the grade ``monitor eval`` reads for each verdict
GRADES: dict[str, int] = {"relevant": 2, "not_relevant": 0}


def verdict_words(verdict: str) -> str:
    """A verdict as people read it: ``not relevant``."""
    return verdict.replace("_", " ")


@dataclass(frozen=True, slots=True)
class Judgement:
    """One judgement of one item for one topic, and the item's text as it was judged."""

    id: int
    item_id: int
    topic: str
    verdict: Verdict
    #: whether the topic had matched the item when it was judged (False: a miss or a reject)
    matched: bool
    created_at: datetime
    title: str
    summary: str = ""
    url: str | None = None
    lang: str | None = None
    user: str | None = None
    #: where it was said: ``cli``, ``web`` or ``link`` (a digest link)
    via: str = "cli"

    @property
    def kind(self) -> str:
        """What the judgement says of the watchlist: a right match, a false positive, a
        miss (false negative) or a right non-match."""
        if self.matched:
            return "match" if self.verdict == "relevant" else "false positive"
        return "miss" if self.verdict == "relevant" else "non-match"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item_id": self.item_id,
            "topic": self.topic,
            "verdict": self.verdict,
            "kind": self.kind,
            "matched": self.matched,
            "user": self.user,
            "via": self.via,
            "at": self.created_at.astimezone(UTC).isoformat(timespec="seconds"),
            "title": self.title,
            "url": self.url,
        }


def latest(judgements: Iterable[Judgement]) -> list[Judgement]:
    """The judgement that stands for each (item, topic): the last recorded (highest id).
    Newest first."""
    best: dict[tuple[int, str], Judgement] = {}
    for j in judgements:
        key = (j.item_id, j.topic)
        held = best.get(key)
        if held is None or j.id > held.id:
            best[key] = j
    return sorted(best.values(), key=lambda j: j.id, reverse=True)


def labelled_rows(judgements: Iterable[Judgement]) -> list[dict[str, Any]]:
    """The standing judgements as labelled items for ``monitor eval``: one row per item,
    oldest item id first, with ``labels`` ``{topic: 2 or 0}`` and the item's text from its
    newest judgement."""
    rows: dict[int, dict[str, Any]] = {}
    for j in latest(judgements):  # newest first: the first of an item gives its text
        row = rows.get(j.item_id)
        if row is None:
            row = rows[j.item_id] = {
                "id": str(j.item_id),
                "title": j.title,
                "summary": j.summary,
                "url": j.url,
                "lang": j.lang,
                "labels": {},
            }
        row["labels"][j.topic] = GRADES[j.verdict]
    out = []
    for item_id in sorted(rows):
        row = rows[item_id]
        labels = dict(sorted(row.pop("labels").items()))
        out.append({**row, "labels": labels})
    return out


@dataclass(frozen=True, slots=True)
class TopicFeedback:
    """What the standing judgements of one topic say of it: right matches, false positives,
    misses and right non-matches, and the precision and recall they give."""

    topic: str
    right: int = 0
    false_positives: int = 0
    misses: int = 0
    right_non_matches: int = 0

    @property
    def judged(self) -> int:
        return self.right + self.false_positives + self.misses + self.right_non_matches

    @property
    def precision(self) -> float | None:
        """Share of judged matches that are relevant; None when no match was judged."""
        matches = self.right + self.false_positives
        return self.right / matches if matches else None

    @property
    def recall(self) -> float | None:
        """Share of items judged relevant that the topic matched; None without any."""
        relevant = self.right + self.misses
        return self.right / relevant if relevant else None


def topic_feedback(judgements: Iterable[Judgement]) -> dict[str, TopicFeedback]:
    """Each topic's figures from the judgements that stand among ``judgements``."""
    counts: dict[str, dict[str, int]] = {}
    field_of = {
        "match": "right",
        "false positive": "false_positives",
        "miss": "misses",
        "non-match": "right_non_matches",
    }
    for j in latest(judgements):
        c = counts.setdefault(j.topic, {})
        c[field_of[j.kind]] = c.get(field_of[j.kind], 0) + 1
    return {t: TopicFeedback(t, **c) for t, c in sorted(counts.items())}
