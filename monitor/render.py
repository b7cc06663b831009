"""Turn a ``Digest`` into what each kind of channel sends: Slack messages, email, webhook JSON.

Owns: the shape and escaping of every outgoing message and the plain-text rendering used by the
console; what each story shows is ``monitor.render_view``'s, the webhook signature scheme
:mod:`monitor.deliver.webhook`'s. Pure: values in, values out; the only file access is jinja2
reading the templates shipped in ``monitor/templates``. Imports ``monitor.model``,
``monitor.render_view``, ``monitor.render_signals`` and ``monitor.schedule``; must not import
config, store, deliver or anything that does network or database I/O.

Feed text is untrusted. Every renderer cleans it first (control characters, terminal escape
sequences and bidirectional overrides removed), then escapes it for its target: Slack mrkdwn,
HTML (jinja2 autoescape) or JSON. Links are emitted only for http(s) URLs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import jinja2

from monitor import render_signals
from monitor.links import DigestLinks
from monitor.model import Digest, Reason, plausible_date
from monitor.render_view import (
    ALSO_IN_SHOWN,
    REASONS_SHOWN,
    SNIPPET_MAX,
    TITLE_MAX,
    StoryView,
    counts_line,
    kind_word,
    story_views,
    topics_line,
    window_line,
)
from monitor.schedule import resolve_zone
from monitor.textsafe import (
    clean_text,
    safe_url,
    slack_escape,
    slack_length,
    slack_link_target,
    truncate,
)

SCHEMA_VERSION = 2
"""Version of the webhook JSON body; bumped when a field changes meaning or is removed, or
when a new kind of body (an event type) appears: 2 added ``event`` and the signal events."""

IDEMPOTENCY_HEADER = "Idempotency-Key"

# Slack's documented Block Kit limits (docs.slack.dev/reference/block-kit/...):
#  - a message holds at most 50 blocks                         (blocks reference)
#  - a section's text object is 1-3000 characters              (section block, text object)
#  - a header's plain_text is at most 150 characters           (header block)
#  - a context block holds at most 10 elements                 (context block)
#  - incoming webhooks accept about one message per second     (rate limits: "Posting messages")
# Slack also refuses a message whose blocks hold too much text in total ("msg_blocks_too_long")
# well below the 40,000 characters allowed for top-level text; the limit is undocumented and was
# measured near 13,200 characters (slackapi/bolt-js#2509), so each message stays under a budget.
SLACK_MAX_BLOCKS = 50
SLACK_SECTION_TEXT_MAX = 3000
SLACK_HEADER_TEXT_MAX = 150
SLACK_CONTEXT_ELEMENTS_MAX = 10
SLACK_MESSAGE_TEXT_BUDGET = 11_000


# --------------------------------------------------------------------------- Slack


def _slack_feedback_line(view: StoryView) -> str | None:
    if view.open_url is None or view.not_relevant_url is None:
        return None
    return (
        f"<{slack_link_target(view.open_url)}|Open> · "
        f"<{slack_link_target(view.not_relevant_url)}|Not relevant>"
    )


def _slack_story_text(view: StoryView) -> str:
    attempts = (
        (True, SNIPPET_MAX, REASONS_SHOWN, ALSO_IN_SHOWN, TITLE_MAX),
        (True, 120, REASONS_SHOWN, 4, TITLE_MAX),
        (True, 0, 1, 2, 150),
        (False, 0, 0, 0, 150),
    )
    text = ""
    for link, snippet_max, n_reasons, n_also, title_max in attempts:
        text = _slack_story_attempt(view, link, snippet_max, n_reasons, n_also, title_max)
        if slack_length(text) <= SLACK_SECTION_TEXT_MAX:
            return text
    return text[: SLACK_SECTION_TEXT_MAX // 2]  # pragma: no cover - attempts above always fit


def _slack_story_attempt(
    view: StoryView, link: bool, snippet_max: int, n_reasons: int, n_also: int, title_max: int
) -> str:
    title = slack_escape(truncate(view.title, title_max))
    target = slack_link_target(view.url) if view.url and link else None
    if target is not None and len(target) <= 1500:
        lines = [f"*<{target}|{title}>*"]
    else:
        lines = [f"*{title}*"]
    meta = [view.source]
    if view.published:
        meta.append(view.published)
    meta += [", ".join(view.topics), view.severity, f"score {view.score:g}"]
    lines.append(slack_escape(" · ".join(meta)))
    if n_reasons and view.reasons:
        lines.append("Why: " + slack_escape("; ".join(view.reasons[:n_reasons])))
    if snippet_max and view.snippet:
        lines.append("> " + slack_escape(truncate(view.snippet, snippet_max)))
    if n_also and view.also_in:
        shown = list(view.also_in[:n_also])
        more = len(view.also_in) - len(shown) + view.also_in_more
        also = ", ".join(shown) + (f" and {more} more" if more else "")
        lines.append("Also reported by: " + slack_escape(also))
    feedback = _slack_feedback_line(view)
    if feedback is not None:
        lines.append(feedback)
    return "\n".join(lines)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def slack_messages(digest: Digest, links: DigestLinks | None = None) -> list[dict[str, Any]]:
    """The Slack incoming-webhook payloads for ``digest``, to be posted in order.

    The first message opens with a header (kind, channel, counts) and a context line (window,
    topics); then one section per story, ending with its "Open" and "Not relevant" links
    when ``links`` is given. When a message would pass Slack's block count or text budget,
    the rest continues in further messages, each marked "part i of n".
    """
    if digest.signal is not None:
        return render_signals.slack_messages(digest)
    zone = resolve_zone(digest.timezone)
    sections = [_section(_slack_story_text(view)) for view in story_views(digest, zone, links)]
    if not sections:
        sections = [_section("No new matches in this window.")]
    sections += [_section(text) for text in render_signals.slack_foot_sections(digest)]
    header_text = truncate(
        f"{kind_word(digest)} for {clean_text(digest.channel)}: {counts_line(digest)}",
        SLACK_HEADER_TEXT_MAX,
    )
    intro_bits = [slack_escape(window_line(digest, zone))]
    if digest.topic_names:
        intro_bits.append("Topics: " + slack_escape(topics_line(digest.topic_titles)))
    intro: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header_text, "emoji": False}},
        {"type": "context", "elements": [_mrkdwn(b) for b in intro_bits]},
    ]
    reserve = 300  # room for the "continued" context line of later parts
    groups: list[list[dict[str, Any]]] = [[]]
    used = sum(_block_chars(b) for b in intro)
    room = SLACK_MAX_BLOCKS - len(intro)
    for block in sections:
        size = _block_chars(block)
        if groups[-1] and (
            len(groups[-1]) >= room or used + size > SLACK_MESSAGE_TEXT_BUDGET - reserve
        ):
            groups.append([])
            used, room = 0, SLACK_MAX_BLOCKS - 1
        groups[-1].append(block)
        used += size
    total = len(groups)
    fallback = (
        f"Policy Monitor {kind_word(digest).lower()} for {digest.channel}: {counts_line(digest)}"
    )
    messages: list[dict[str, Any]] = []
    for i, group in enumerate(groups, start=1):
        suffix = f" (part {i} of {total})" if total > 1 else ""
        if i == 1:
            blocks = [*intro, *group]
            if total > 1:
                blocks[1] = {
                    "type": "context",
                    "elements": [*intro[1]["elements"], _mrkdwn(f"Part 1 of {total}")],
                }
        else:
            note = f"{kind_word(digest)} for {clean_text(digest.channel)}, continued{suffix}"
            blocks = [{"type": "context", "elements": [_mrkdwn(slack_escape(note))]}, *group]
        messages.append(
            {
                "text": slack_escape(fallback + suffix),
                "blocks": blocks,
                "unfurl_links": False,
                "unfurl_media": False,
            }
        )
    return messages


def _block_chars(block: dict[str, Any]) -> int:
    if "text" in block:
        return slack_length(block["text"]["text"])
    return sum(slack_length(e["text"]) for e in block.get("elements", ()))


# --------------------------------------------------------------------------- email


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("monitor", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def message_id(key: str, sender: str) -> str:
    """A Message-ID that depends only on the digest key and the sender's domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2].lower()
    if not re.fullmatch(r"[a-z0-9.-]+", domain or "-"):
        domain = "policy-monitor.invalid"
    digest_hash = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<monitor.{digest_hash}@{domain}>"


def email_subject(digest: Digest, subject_prefix: str = "[monitor]") -> str:
    """``[monitor] Digest: 3 stories, 5 matches — norad, tariffs`` (one line, bounded)."""
    prefix = clean_text(subject_prefix)
    subject = f"{kind_word(digest)}: {counts_line(digest)}"
    if digest.topic_names:
        subject += f" — {topics_line(digest.topic_titles, limit=4)}"
    return truncate(f"{prefix} {subject}".strip(), 200)


def email_message(
    digest: Digest,
    *,
    sender: str,
    to: Sequence[str],
    subject_prefix: str = "[monitor]",
    links: DigestLinks | None = None,
) -> EmailMessage:
    """A multipart/alternative email (plain text, then HTML) for ``digest``.

    Both parts come from the jinja2 templates in ``monitor/templates``; the HTML one is
    autoescaped, links only http(s) URLs and marks feed text ``dir="auto"`` so right-to-left
    titles display correctly. With ``links``, each story carries its "open" and "not
    relevant" feedback links (``monitor.links``). The Message-ID is derived from the digest
    key, so a retry of the same digest carries the same Message-ID and mail clients can
    discard the duplicate.
    """
    zone = resolve_zone(digest.timezone)
    env = _templates()
    if digest.signal is not None:
        context = render_signals.email_context(digest)
        text = env.get_template("signal.txt").render(context)
        html = env.get_template("signal.html").render(context)
        subject = truncate(
            f"{clean_text(subject_prefix)} {render_signals.subject_line(digest)}".strip(), 200
        )
    else:
        updates, notices = render_signals.foot(digest)
        context = {
            "kind": kind_word(digest),
            "channel": clean_text(digest.channel),
            "counts": counts_line(digest),
            "window": window_line(digest, zone),
            "topics": topics_line(digest.topic_titles, limit=12) if digest.topic_names else "",
            "stories": story_views(digest, zone, links),
            "updates": updates,
            "notices": notices,
        }
        text = env.get_template("digest.txt").render(context)
        html = env.get_template("digest.html").render(context)
        subject = email_subject(digest, subject_prefix)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(digest.window_end.astimezone(UTC))
    msg["Message-ID"] = message_id(digest.key, sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Monitor-Digest"] = header_safe_key(digest.key)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def header_safe_key(key: str) -> str:
    """``key`` if it can travel in an HTTP or mail header as is, else a stable hash of it."""
    if key and len(key) <= 200 and all(33 <= ord(c) < 127 for c in key):
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- webhook


def _reason_json(reason: Reason) -> dict[str, Any]:
    return {
        "term": reason.term,
        "field": reason.field,
        "position": reason.position,
        "weight": reason.weight,
        "rule": reason.rule,
    }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _envelope(digest: Digest) -> dict[str, Any]:
    """What every webhook body starts with: its version, event, key and channel."""
    return {
        "schema_version": SCHEMA_VERSION,
        "event": digest.kind,
        "digest_key": digest.key,
        "kind": digest.kind,
        "channel": digest.channel,
        "timezone": digest.timezone,
    }


def webhook_payload(digest: Digest) -> dict[str, Any]:
    """The webhook body as a dict (see docs/delivery.md for the schema)."""
    if digest.signal is not None:
        return {**_envelope(digest), "signal": render_signals.signal_json(digest.signal)}
    matches = []
    for entry in digest.entries:
        lead = entry.lead
        matches.append(
            {
                "item": lead.item_id,
                "match_ids": list(entry.match_ids or (lead.id,)),
                "url": safe_url(lead.url),
                "title": clean_text(lead.title),
                "previous_title": clean_text(lead.previous_title) or None,
                "summary": clean_text(lead.summary),
                "source": clean_text(lead.feed_name) or None,
                "feed_url": lead.feed_url,
                "published": _iso(plausible_date(lead.published)),
                "story": lead.story,
                "event_id": lead.event,
                "topic": lead.topic,
                "topics": list(entry.topics or (lead.topic,)),
                "score": lead.score,
                "severity": lead.severity,
                "reasons": [_reason_json(r) for r in lead.reasons],
                "also_in": list(entry.also_in or lead.also_in),
            }
        )
    return {
        **_envelope(digest),
        "window": {"start": _iso(digest.window_start), "end": _iso(digest.window_end)},
        "counts": {"stories": len(digest.entries), "matches": digest.match_count},
        "topics": list(digest.topic_names),
        "matches": matches,
        "updates": [
            render_signals.signal_json(s) for s in digest.signals if s.kind == "item.updated"
        ],
        "notices": [
            render_signals.signal_json(s) for s in digest.signals if s.kind == "source.health"
        ],
    }


def webhook_body(digest: Digest) -> bytes:
    """The webhook body: compact UTF-8 JSON, byte-for-byte the same for the same digest."""
    return json.dumps(
        webhook_payload(digest), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


# --------------------------------------------------------------------------- console


def console_text(digest: Digest) -> str:
    """The digest as plain text for a terminal (no colour codes; feed text cleaned)."""
    if digest.signal is not None:
        return render_signals.console_text(digest)
    zone = resolve_zone(digest.timezone)
    lines = [
        f"Policy Monitor {kind_word(digest).lower()} · {clean_text(digest.channel)} · "
        f"{window_line(digest, zone)}",
        counts_line(digest)
        + (f" · topics: {topics_line(digest.topic_titles)}" if digest.topic_names else ""),
    ]
    if not digest.entries:
        lines += ["", "No new matches in this window."]
    for n, view in enumerate(story_views(digest, zone), start=1):
        meta = [view.source, *([view.published] if view.published else [])]
        meta += [", ".join(view.topics), view.severity, f"score {view.score:g}"]
        lines += ["", f"{n}. {view.title}", "   " + " · ".join(meta)]
        if view.url:
            lines.append(f"   {view.url}")
        if view.reasons:
            lines.append("   why: " + "; ".join(view.reasons))
        if view.snippet:
            lines.append(f"   {view.snippet}")
        if view.also_in:
            more = f" and {view.also_in_more} more" if view.also_in_more else ""
            lines.append("   also reported by: " + ", ".join(view.also_in) + more)
    lines += render_signals.console_foot(digest)
    return "\n".join(lines) + "\n"
