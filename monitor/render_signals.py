"""How a signal looks: its own message (a story surge, a topic spike, a source notice, an
updated item) in Slack, email, webhook JSON and the console, and the foot of a digest that
lists source notices and updated items.

Owns: the display form of :class:`monitor.model.Signal` values (``SignalView``) and their
webhook JSON. Pure: values in, values out. Imports ``monitor.model``, ``monitor.schedule``,
``monitor.signals.amended`` (the words for a change) and ``monitor.textsafe``; must not
import ``monitor.render`` (which imports this), config, store or deliver. Everything a
signal carries from a feed (titles, outlet names, errors) is untrusted and cleaned here like
an item's text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from monitor.model import Digest, Signal
from monitor.schedule import resolve_zone
from monitor.signals.amended import describe_change
from monitor.textsafe import clean_text, safe_url, slack_escape, slack_link_target, truncate

OUTLETS_SHOWN = 12
STORIES_SHOWN = 5
FACT_MAX = 300

#: the words for each kind, in headers and subjects
KIND_WORDS = {
    "story.surge": "Story surge",
    "topic.spike": "Topic spike",
    "source.health": "Source notice",
    "item.updated": "Updated item",
}

#: a colour per kind for the email's accent bar
ACCENTS = {
    "story.surge": "#bf3989",
    "topic.spike": "#9a6700",
    "source.health": "#59636e",
    "item.updated": "#0969da",
}


@dataclass(frozen=True, slots=True)
class SignalView:
    """One signal, cleaned and worded, ready for any renderer."""

    kind: str
    word: str
    headline: str
    url: str | None
    facts: tuple[str, ...]
    accent: str


def _local(value: Any, zone: tzinfo) -> str:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return "unknown time"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _hours(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "?"
    if s >= 2 * 86400:
        return f"{s / 86400:.1f} days"
    if s >= 3600:
        return f"{s / 3600:g} h"
    return f"{s / 60:.0f} min"


def _text(value: Any, limit: int = FACT_MAX) -> str:
    return truncate(clean_text(str(value)) if value is not None else "", limit)


def signal_view(signal: Signal, zone: tzinfo, label: Callable[[str], str] = str) -> SignalView:
    """The display form of ``signal``; ``label`` names topics for people."""
    d = signal.details
    topics = ", ".join(_text(label(t), 60) for t in signal.topics)
    facts: list[str] = []
    word = KIND_WORDS.get(signal.kind, "Signal")
    headline = _text(signal.title, 250) or "(untitled)"
    url: str | None = None
    if signal.kind == "story.surge":
        outlets = d.get("outlets") or []
        level = d.get("level", 1)
        if level == 2:
            word = "Story surge, follow-up"
        headline = _text(outlets[0].get("title") if outlets else signal.title, 250)
        url = safe_url(outlets[0].get("url")) if outlets else None
        facts.append(
            f"{d.get('count')} outlets ({d.get('in_window')} within {_hours(d.get('window_s'))}"
            f"; a surge is {d.get('threshold')})"
            + (f"; {d.get('previous_count')} at the first alert" if level == 2 else "")
        )
        if topics:
            facts.append(f"Topics: {topics}")
        for o in outlets[:OUTLETS_SHOWN]:
            facts.append(
                f"{_text(o.get('name'), 80)} — first seen {_local(o.get('first_seen'), zone)}"
            )
        if len(outlets) > OUTLETS_SHOWN:
            facts.append(f"and {len(outlets) - OUTLETS_SHOWN} more outlets")
    elif signal.kind == "topic.spike":
        headline = f"{topics or _text(d.get('topic'))}: {_text(signal.title, 200)}"
        facts.append(
            f"Baseline over {d.get('baseline_days')} days: mean {d.get('mean')}/day, "
            f"sd {d.get('sd')}; a spike is above {d.get('threshold')} "
            f"and at least {d.get('min_count')}"
        )
        daily = d.get("daily") or []
        facts.append("Daily counts, oldest first: " + ", ".join(str(int(c)) for c in daily))
        for s in (d.get("top_stories") or [])[:STORIES_SHOWN]:
            n = s.get("outlets", 1)
            facts.append(f"{_text(s.get('title'), 200)} ({n} outlet{'s' if n != 1 else ''})")
    elif signal.kind == "source.health":
        state = d.get("state")
        word = {"failing": "Source failing", "silent": "Source silent", "ok": "Source back"}.get(
            str(state), word
        )
        if d.get("error"):
            facts.append(f"Error: {_text(d.get('error'))}")
        if state == "failing":
            facts.append(f"{d.get('consecutive_failures')} failed polls in a row")
        if state == "silent":
            facts.append(
                f"Usually publishes every {_hours(d.get('median_gap_s'))}; "
                f"nothing for {_hours(d.get('quiet_for_s'))}"
            )
        facts.append(f"Feed: {_text(d.get('feed_url'), 200)}")
    elif signal.kind == "item.updated":
        url = safe_url(d.get("url"))
        if d.get("previous_title"):
            facts.append(f"Was: {_text(d.get('previous_title'), 200)}")
        changes = [describe_change(c) for c in d.get("changes") or []]
        facts.append("Changed: " + _text("; ".join(changes)))
        facts.append(f"Source: {_text(d.get('feed_name') or d.get('feed_url'), 80)}")
    return SignalView(
        kind=signal.kind,
        word=word,
        headline=headline,
        url=url,
        facts=tuple(facts),
        accent=ACCENTS.get(signal.kind, "#59636e"),
    )


def foot(digest: Digest) -> tuple[list[SignalView], list[SignalView]]:
    """The foot of a digest: its updated items, then its source notices."""
    zone = resolve_zone(digest.timezone)
    views = [signal_view(s, zone, digest.label) for s in digest.signals]
    updates = [v for v in views if v.kind == "item.updated"]
    notices = [v for v in views if v.kind == "source.health"]
    return updates, notices


def foot_lines(view: SignalView) -> str:
    """A foot entry as one paragraph of plain text (no escaping)."""
    return "\n".join([view.headline, *(f"   {f}" for f in view.facts)])


# --------------------------------------------------------------------------- own messages


def subject_line(digest: Digest) -> str:
    """``Story surge: <headline>`` for an email subject or a notification."""
    signal = digest.signal
    if signal is None:
        return "Signal"
    view = signal_view(signal, resolve_zone(digest.timezone), digest.label)
    return f"{view.word}: {view.headline}"


def slack_messages(digest: Digest) -> list[dict[str, Any]]:
    """A signal's Slack message: a header with its kind, then its headline and facts."""
    signal = digest.signal
    assert signal is not None, "a signal message carries its signal"
    view = signal_view(signal, resolve_zone(digest.timezone), digest.label)
    title = slack_escape(truncate(view.headline, 250))
    target = slack_link_target(view.url) if view.url else None
    head = f"*<{target}|{title}>*" if target and len(target) <= 1500 else f"*{title}*"
    body = "\n".join([head, *(slack_escape(f) for f in view.facts)])
    header = truncate(f"{view.word} · {clean_text(digest.channel)}", 150)
    return [
        {
            "text": slack_escape(
                truncate(f"Policy Monitor {view.word.lower()}: {view.headline}", 300)
            ),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": truncate(body, 2900), "verbatim": True},
                },
            ],
            "unfurl_links": False,
            "unfurl_media": False,
        }
    ]


def slack_foot_sections(digest: Digest) -> list[str]:
    """The mrkdwn texts of a digest's foot: updated items, then source notices."""
    updates, notices = foot(digest)
    out = []
    for heading, views in (("Updated", updates), ("Sources", notices)):
        if not views:
            continue
        lines = [f"*{heading}*"]
        for v in views[:20]:
            lines.append("• " + slack_escape(v.headline))
            lines += ["   " + slack_escape(f) for f in v.facts]
        out.append(truncate("\n".join(lines), 2900))
    return out


def email_context(digest: Digest) -> dict[str, Any]:
    """What ``signal.txt`` and ``signal.html`` show."""
    signal = digest.signal
    assert signal is not None, "a signal message carries its signal"
    view = signal_view(signal, resolve_zone(digest.timezone), digest.label)
    return {"channel": clean_text(digest.channel), "signal": view}


def console_text(digest: Digest) -> str:
    signal = digest.signal
    assert signal is not None, "a signal message carries its signal"
    view = signal_view(signal, resolve_zone(digest.timezone), digest.label)
    lines = [f"Policy Monitor {view.word.lower()} · {clean_text(digest.channel)}", view.headline]
    if view.url:
        lines.append(view.url)
    lines += [f"   {f}" for f in view.facts]
    return "\n".join(lines) + "\n"


def console_foot(digest: Digest) -> list[str]:
    updates, notices = foot(digest)
    lines: list[str] = []
    for heading, views in (("Updated", updates), ("Sources", notices)):
        if views:
            lines += ["", f"{heading}:"]
            lines += [f"- {foot_lines(v)}" for v in views]
    return lines


# --------------------------------------------------------------------------- webhook


def _clean_json(value: Any, key: str = "") -> Any:
    """A signal's details with every string cleaned (URLs kept only when safe)."""
    if isinstance(value, Mapping):
        return {str(k): _clean_json(v, str(k)) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_clean_json(v, key) for v in value]
    if isinstance(value, str):
        if key == "url":
            return safe_url(value)
        return clean_text(value)
    return value


def signal_json(signal: Signal) -> dict[str, Any]:
    """A signal as the webhook carries it (``docs/delivery.md``, "Signal events")."""
    return {
        "id": signal.id,
        "key": signal.key,
        "kind": signal.kind,
        "subject": signal.subject,
        "title": clean_text(signal.title),
        "fired_at": signal.fired_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "topics": list(signal.topics),
        "urgent": signal.urgent,
        "details": _clean_json(signal.details),
    }
