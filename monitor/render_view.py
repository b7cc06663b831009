"""What a digest shows of each story, shared by every renderer: the view of one entry.

Owns: ``StoryView`` (a story's title, link, source, time, snippet, reasons and the other outlets,
each cleaned of control characters and cut to length), ``story_views`` for a digest, and the
short lines every message uses (counts, window, topics, kind). Pure: values in, values out.
Imports ``monitor.model``, ``monitor.links`` and ``monitor.textsafe`` only; must not import
config, store, deliver or anything that does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlsplit

from monitor.links import DigestLinks
from monitor.model import Digest, DigestEntry, MatchRecord, Reason, plausible_date
from monitor.textsafe import clean_text, safe_url, truncate

TITLE_MAX = 250
SNIPPET_MAX = 280
REASONS_SHOWN = 3
ALSO_IN_SHOWN = 8
# --------------------------------------------------------------------------- shared view


@dataclass(frozen=True, slots=True)
class StoryView:
    """One digest entry, cleaned and formatted, ready for any renderer."""

    title: str
    url: str | None
    source: str
    published: str | None
    topics: tuple[str, ...]
    severity: str
    score: float
    reasons: tuple[str, ...]
    snippet: str
    also_in: tuple[str, ...]
    also_in_more: int
    story: str | None
    #: the match's feedback links (``web.public_url`` configured), checked like ``url``
    open_url: str | None = None
    not_relevant_url: str | None = None


def _source_name(lead: MatchRecord) -> str:
    name = clean_text(lead.feed_name)
    if name:
        return truncate(name, 80)
    host = urlsplit(lead.feed_url).hostname if lead.feed_url else None
    return clean_text(host) or "unknown source"


def _format_reason(reason: Reason) -> str:
    sign = "+" if reason.weight >= 0 else ""
    term = truncate(clean_text(reason.term), 60)
    return f"'{term}' in {clean_text(reason.field)} ({sign}{reason.weight:g})"


def _local_time(value: datetime | None, zone: tzinfo) -> str | None:
    """The time in ``zone``; None when unknown (none given, or an impossible date)."""
    value = plausible_date(value)
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _shown_topics(topics: Sequence[str], limit: int = 6) -> tuple[str, ...]:
    shown = [truncate(clean_text(t), 40) for t in topics[:limit]]
    if len(topics) > limit:
        shown.append(f"+{len(topics) - limit} more")
    return tuple(shown)


def story_view(entry: DigestEntry, zone: tzinfo, label: Callable[[str], str] = str) -> StoryView:
    """The display form of one digest entry; ``label`` names its topics for people."""
    lead = entry.lead
    reasons = sorted(lead.reasons, key=lambda r: -abs(r.weight))[:REASONS_SHOWN]
    also = [truncate(clean_text(name), 60) for name in entry.also_in or lead.also_in]
    also = [a for a in dict.fromkeys(also) if a]
    title = truncate(clean_text(lead.title), TITLE_MAX) or "(untitled)"
    before = clean_text(lead.previous_title)
    if before and before != clean_text(lead.title):
        title += f" (updated; was: {truncate(before, TITLE_MAX // 2)})"
    return StoryView(
        title=title,
        url=safe_url(lead.url),
        source=_source_name(lead),
        published=_local_time(lead.published, zone),
        topics=_shown_topics([label(t) for t in entry.topics or (lead.topic,)]),
        severity=truncate(clean_text(lead.severity), 20),
        score=lead.score,
        reasons=tuple(_format_reason(r) for r in reasons),
        snippet=truncate(clean_text(lead.summary), SNIPPET_MAX),
        also_in=tuple(also[:ALSO_IN_SHOWN]),
        also_in_more=max(0, len(also) - ALSO_IN_SHOWN),
        story=lead.story,
    )


def story_views(digest: Digest, zone: tzinfo, links: DigestLinks | None = None) -> list[StoryView]:
    """The display form of every entry, with its feedback links when ``links`` is given. An
    entry that cannot be shown (a bug, or data no check foresaw) becomes a note saying so:
    one item never stops a whole delivery."""
    views = []
    for entry in digest.entries:
        try:
            view = story_view(entry, zone, digest.label)
            if links is not None:
                lead = entry.lead
                made = links.for_match(lead.item_id, lead.topic, digest.window_end)
                view = replace(
                    view,
                    open_url=safe_url(made.open_url),
                    not_relevant_url=safe_url(made.not_relevant_url),
                )
            views.append(view)
        except Exception as exc:  # deliberately broad: the other items must still go out
            views.append(_unshowable(entry, exc))
    return views


def _unshowable(entry: DigestEntry, exc: Exception) -> StoryView:
    lead = entry.lead
    return StoryView(
        title=f"(item {lead.item_id} could not be shown: {type(exc).__name__})",
        url=None,
        source="unknown source",
        published=None,
        topics=(),
        severity="",
        score=0.0,
        reasons=(),
        snippet="",
        also_in=(),
        also_in_more=0,
        story=None,
    )


def counts_line(digest: Digest) -> str:
    stories, matches = len(digest.entries), digest.match_count
    return (
        f"{stories} {'story' if stories == 1 else 'stories'}, "
        f"{matches} {'match' if matches == 1 else 'matches'}"
    )


def window_line(digest: Digest, zone: tzinfo) -> str:
    start = digest.window_start.astimezone(zone)
    end = digest.window_end.astimezone(zone)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M %Z}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M %Z}"


def topics_line(topics: Sequence[str], limit: int = 6) -> str:
    shown = [clean_text(t) for t in topics[:limit]]
    more = len(topics) - len(shown)
    return ", ".join(shown) + (f" +{more} more" if more > 0 else "")


def kind_word(digest: Digest) -> str:
    return "Alert" if digest.kind == "alert" else "Digest"
