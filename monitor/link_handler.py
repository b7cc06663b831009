"""What a click on a digest's feedback link does: GET shows the item (where each outlet carried
it, and a link to its story on the pages) with a button per verdict, POST records.

Owns: ``link_page`` and ``link_submit``, plain functions the web application routes
``GET /f/{token}`` and ``POST /f/{token}`` to. They verify the token (``monitor.links``), look
the item up, record through ``Store.feedback`` and answer a ``LinkResponse`` (a status and an
HTML page). A GET never records: mail scanners and link previews open links on their own.
The verdict a POST may record is the token's (an "open" token lets the holder choose). Each
token records once; a replay says what it recorded and changes nothing.

Orchestration only: imports ``monitor.links``, ``monitor.feedback``, ``monitor.render``, the
store it is given and its page queries; never the web framework, the CLI or the scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.feedback import VERDICTS, verdict_words
from monitor.links import LINK_PATH, LinkClaim, LinkError, verify_token
from monitor.render import _templates, clean_text, safe_url, truncate
from monitor.store.analyst import Pages

if TYPE_CHECKING:
    from monitor.store import Store

#: the HTTP status of each reason a token is refused
_REFUSED = {"malformed": 400, "signature": 403, "expired": 410}


@dataclass(frozen=True, slots=True)
class LinkResponse:
    """An answer to a link: HTTP status and a complete HTML page (feed text escaped)."""

    status: int
    html: str


def _page(status: int, heading: str, message: str, **context: Any) -> LinkResponse:
    values: dict[str, Any] = {
        "item_title": None,
        "item_url": None,
        "story_url": None,
        "copies": (),
        "topic_name": "",
        "matched": None,
        "snippet": "",
        "choices": (),
        "hidden": (),
        "action": "",
        **context,
    }
    html = (
        _templates()
        .get_template("feedback_link.html")
        .render(heading=heading, message=message, **values)
    )
    return LinkResponse(status, html)


def _claim(
    token: str, secret: str, now: datetime, topic_names: Mapping[str, str]
) -> LinkClaim | LinkResponse:
    try:
        claim = verify_token(secret, token, now)
    except LinkError as exc:
        return _page(_REFUSED[exc.reason], "This link cannot be used", str(exc))
    if claim.topic not in topic_names:
        return _page(
            404,
            "Unknown topic",
            f"the topic '{claim.topic}' is no longer in the watchlists; nothing was recorded",
        )
    return claim


def link_page(
    store: Store,
    token: str,
    *,
    secret: str,
    now: datetime,
    topic_names: Mapping[str, str],
    hidden: Sequence[tuple[str, str]] = (),
) -> LinkResponse:
    """``GET /f/{token}``: the item, the topic and a button for each verdict the token
    allows (posting back to the same address with ``hidden`` fields, e.g. a CSRF token)."""
    claim = _claim(token, secret, now, topic_names)
    if isinstance(claim, LinkResponse):
        return claim
    item = store.item(claim.item_id)
    if item is None:
        return _page(404, "Unknown item", f"no stored item has id {claim.item_id}")
    earlier = store.feedback.by_token(claim.token_id)
    matched = any(m.topic == claim.topic for m in item.matches)
    copies = Pages(store.engine, store.text_index).copies(claim.item_id)
    context = {
        "story_url": f"/stories/{claim.item_id}",
        "copies": [
            (
                truncate(clean_text(c.feed), 80),
                c.first_seen_at.strftime("%Y-%m-%d %H:%M UTC") if c.first_seen_at else "",
            )
            for c in copies
        ],
        "item_title": truncate(clean_text(item.title), 300) or "(untitled)",
        "item_url": safe_url(item.url),
        "topic_name": topic_names[claim.topic],
        "matched": matched,
        "snippet": truncate(clean_text(item.summary), 400),
    }
    if earlier is not None:
        return _page(200, "Already recorded", _used(earlier.verdict, earlier.created_at), **context)
    verdicts = VERDICTS if claim.verdict == "open" else (claim.verdict,)
    choices = [(v, f"Record: {verdict_words(v)}") for v in verdicts]
    return _page(
        200,
        "Judge this item",
        f"Is this item relevant to {topic_names[claim.topic]}?",
        choices=choices,
        hidden=tuple(hidden),
        action=LINK_PATH + token,
        **context,
    )


def link_submit(
    store: Store,
    token: str,
    form: Mapping[str, str],
    *,
    secret: str,
    now: datetime,
    topic_names: Mapping[str, str],
    user: str | None = None,
) -> LinkResponse:
    """``POST /f/{token}``: record the verdict of ``form["verdict"]`` (the token's own when
    absent) if the token allows it; at most once per token."""
    claim = _claim(token, secret, now, topic_names)
    if isinstance(claim, LinkResponse):
        return claim
    verdict = form.get("verdict") or claim.verdict
    allowed = VERDICTS if claim.verdict == "open" else (claim.verdict,)
    if verdict not in allowed:
        return _page(
            400,
            "Nothing recorded",
            f"this link records {' or '.join(verdict_words(v) for v in allowed)}, not '{verdict}'",
        )
    made, new = store.feedback.record_link(
        claim.token_id, claim.item_id, claim.topic, verdict, now=now, user=user
    )
    if made is None:
        return _page(404, "Unknown item", f"no stored item has id {claim.item_id}")
    context = {
        "item_title": truncate(clean_text(made.title), 300) or "(untitled)",
        "item_url": safe_url(made.url),
        "topic_name": topic_names[claim.topic],
    }
    if not new:
        return _page(200, "Already recorded", _used(made.verdict, made.created_at), **context)
    return _page(
        200,
        "Recorded",
        f"Recorded: {verdict_words(verdict)} to {topic_names[claim.topic]}. Thank you.",
        **context,
    )


def _used(verdict: str, when: datetime) -> str:
    return (
        f"This link was already used on {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC to record "
        f"'{verdict_words(verdict)}'; nothing was changed."
    )
