"""What goes into a digest or an alert, and its stable identity.

Owns: grouping a channel's matches (chosen by ``monitor.routing``) by event so one event
is shown once, ordering, the idempotency key, and the digest's JSON form kept in the outbox.
Pure: takes values (and times), returns values. Must not import fetch, store, deliver,
pipeline, scheduler or cli.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from monitor.model import SEVERITY_RANK, Digest, DigestEntry, MatchRecord, Reason, Signal


def group_stories(matches: Iterable[MatchRecord]) -> list[DigestEntry]:
    """One entry per event: copies of one story carried by several outlets, and outlets' own
    reports of one happening, are one entry listing the other outlets.

    The lead is the most severe report, then the best scored, then the earliest; entries are
    ordered by severity, then score, then time, most important first (a digest then groups
    them by topic: :func:`by_topic`).
    """
    groups: dict[str, list[MatchRecord]] = {}
    for m in matches:
        groups.setdefault(m.event or m.story or f"item:{m.item_id}", []).append(m)
    entries = []
    for members in groups.values():
        # the lead: most severe, then best score, then earliest
        lead = min(
            members,
            key=lambda m: (-SEVERITY_RANK.get(m.severity, 0), -m.score, m.matched_at, m.id),
        )
        topics: dict[str, None] = {}
        outlets: dict[str, None] = {}
        for m in sorted(members, key=lambda m: -m.score):
            topics.setdefault(m.topic, None)
            for name in (m.feed_name or m.feed_url, *m.also_in):
                outlets.setdefault(name, None)
        outlets.pop(lead.feed_name or lead.feed_url, None)
        entries.append(
            DigestEntry(
                lead=lead,
                topics=tuple(topics),
                also_in=tuple(outlets),
                match_ids=tuple(sorted(m.id for m in members)),
            )
        )
    entries.sort(
        key=lambda e: (
            -SEVERITY_RANK.get(e.lead.severity, 0),
            -e.lead.score,
            -(e.lead.published or e.lead.matched_at).timestamp(),
        )
    )
    return entries


def by_topic(entries: Sequence[DigestEntry]) -> list[DigestEntry]:
    """``entries`` (most important first) grouped by their lead's topic: a topic's entries
    follow each other in their order, topics in the order of their most important entry, so
    the most important entry still comes first."""
    rank: dict[str, int] = {}
    for e in entries:
        rank.setdefault(e.lead.topic, len(rank))
    return sorted(entries, key=lambda e: rank[e.lead.topic])


def digest_key(channel: str, kind: str, window_end: datetime, *, installation: str = "") -> str:
    """The idempotency key of one channel's digest for the window closing at ``window_end``:
    the same on every worker of one installation (a window of a channel is one digest,
    wherever it starts), different in another installation (its database's random id)."""
    basis = f"{installation}|{channel}|{kind}|{window_end.astimezone(UTC).isoformat()}"
    return f"{kind}-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


def alert_key(channel: str, match_ids: Sequence[int], *, installation: str = "") -> str:
    basis = f"{installation}|{channel}|alert|" + ",".join(map(str, sorted(match_ids)))
    return "alert-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


def build_digest(
    channel: str,
    matches: Iterable[MatchRecord],
    *,
    window_start: datetime | None,
    window_end: datetime,
    kind: Literal["digest", "alert"] = "digest",
    max_items: int | None = None,
    timezone: str = "UTC",
    installation: str = "",
    topic_names: Mapping[str, str] | None = None,
    signals: Sequence[Signal] = (),
) -> Digest:
    """A digest of ``matches`` (already selected for the channel) for one window.

    ``signals`` are listed at its foot: source notices and updated items the channel has
    not been shown in a digest yet.

    ``window_start`` is where the window opens: the end of the channel's previous digest, or
    None for a first digest. The digest's window then reaches back to its oldest match when
    that is earlier (a match a previous digest had no room for, or one stored while it was
    being built), so the window shown always covers every match the digest holds; an empty
    first digest has an empty window. ``installation`` (the database's random id) goes into
    the idempotency key; ``topic_names`` (id to name) gives the names people read.
    """
    matches = list(matches)
    entries = group_stories(matches)
    if max_items is not None:
        entries = entries[:max_items]  # the most important, whatever their topic
    entries = by_topic(entries)
    if kind == "alert":
        key = alert_key(
            channel, [i for e in entries for i in e.match_ids], installation=installation
        )
    else:
        key = digest_key(channel, kind, window_end, installation=installation)
    held = {i for e in entries for i in e.match_ids}
    starts = [m.matched_at for m in matches if m.id in held]
    if window_start is not None:
        starts.append(window_start)
    shown = {t for e in entries for t in e.topics} | {t for s in signals for t in s.topics}
    return Digest(
        key=key,
        channel=channel,
        kind=kind,
        window_start=min(starts, default=window_end),
        window_end=window_end,
        entries=tuple(entries),
        timezone=timezone,
        topic_labels=tuple(sorted((t, n) for t, n in (topic_names or {}).items() if t in shown)),
        signals=tuple(signals),
    )


def signal_message_key(channel: str, signal: Signal, *, installation: str = "") -> str:
    """The idempotency key of ``signal``'s own message to ``channel``: one per signal and
    channel in one installation."""
    basis = f"{installation}|{channel}|{signal.kind}|{signal.key}"
    return "signal-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


def build_signal_message(
    channel: str,
    signal: Signal,
    *,
    now: datetime,
    timezone: str = "UTC",
    installation: str = "",
    topic_names: Mapping[str, str] | None = None,
) -> Digest:
    """The message carrying ``signal`` alone to ``channel`` (kind: the signal's kind)."""
    return Digest(
        key=signal_message_key(channel, signal, installation=installation),
        channel=channel,
        kind=signal.kind,
        window_start=min(signal.fired_at, now),
        window_end=now,
        entries=(),
        timezone=timezone,
        topic_labels=tuple(
            sorted((t, n) for t, n in (topic_names or {}).items() if t in signal.topics)
        ),
        signals=(signal,),
    )


# -- the outbox form ---------------------------------------------------------------------------


def _match_json(m: MatchRecord) -> dict[str, Any]:
    data = m.as_json()
    data["summary"] = m.summary
    data["urgent"] = m.urgent
    data["reasons"] = [[r.term, r.field, r.position, r.weight, r.rule] for r in m.reasons]
    return data


def _match_from(data: dict[str, Any]) -> MatchRecord:
    def when(v: Any) -> datetime | None:
        return datetime.fromisoformat(v) if v else None

    return MatchRecord(
        id=int(data["id"]),
        item_id=int(data["item_id"]),
        feed_url=data["feed_url"],
        feed_name=data.get("feed_name"),
        url=data.get("url"),
        title=data["title"],
        summary=data.get("summary", ""),
        published=when(data.get("published")),
        topic=data["topic"],
        score=float(data["score"]),
        severity=data.get("severity", "digest"),
        reasons=tuple(
            Reason(str(t), str(f), int(p), float(w), str(r)) for t, f, p, w, r in data["reasons"]
        ),
        matched_at=datetime.fromisoformat(data["matched_at"]),
        story=data.get("story"),
        event=data.get("event"),
        also_in=tuple(data.get("also_in", ())),
        urgent=bool(data.get("urgent", False)),
    )


def digest_to_json(d: Digest) -> str:
    return json.dumps(
        {
            "key": d.key,
            "channel": d.channel,
            "kind": d.kind,
            "window_start": d.window_start.isoformat(),
            "window_end": d.window_end.isoformat(),
            "timezone": d.timezone,
            "topic_labels": dict(d.topic_labels),
            "entries": [
                {
                    "lead": _match_json(e.lead),
                    "topics": list(e.topics),
                    "also_in": list(e.also_in),
                    "match_ids": list(e.match_ids),
                }
                for e in d.entries
            ],
            "signals": [x.as_json() for x in d.signals],
        },
        ensure_ascii=False,
    )


def digest_from_json(text: str) -> Digest:
    data = json.loads(text)
    return Digest(
        key=data["key"],
        channel=data["channel"],
        kind=data["kind"],
        window_start=datetime.fromisoformat(data["window_start"]),
        window_end=datetime.fromisoformat(data["window_end"]),
        timezone=data.get("timezone", "UTC"),
        topic_labels=tuple(sorted(data.get("topic_labels", {}).items())),
        entries=tuple(
            DigestEntry(
                lead=_match_from(e["lead"]),
                topics=tuple(e["topics"]),
                also_in=tuple(e["also_in"]),
                match_ids=tuple(e["match_ids"]),
            )
            for e in data["entries"]
        ),
        signals=tuple(Signal.from_json(x) for x in data.get("signals", ())),
    )
