"""Decisions about article text: which items to fetch, how much to keep, what to show.

Owns: the ``fulltext`` modes (``auto``, ``always``, ``never``) and what ``auto`` means (the
feed's summary is short), the per-item cap on stored text, when a failed article fetch is
tried again, and the snippet ``monitor explain`` shows around a hit in the body. Pure: values
in, values out; no clock (``now`` is passed), no network, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from monitor.model import ArticleCandidate

FulltextMode = Literal["auto", "always", "never"]
FULLTEXT_MODES: tuple[str, ...] = ("auto", "always", "never")

#: ``auto`` fetches the article when the summary is shorter than this many characters
SHORT_SUMMARY = 400
#: most bytes of extracted text kept per item (UTF-8); the rest is cut at a character boundary
MAX_TEXT_BYTES = 100_000
#: failed fetches are tried again this many times, after waits growing from RETRY_S
MAX_ATTEMPTS = 3
RETRY_S = 600.0
#: errors a later attempt can mend; the others (404, robots, not HTML) are final
TRANSIENT = frozenset(
    {
        "timeout",
        "network",
        "unavailable",
        "rate_limited",
        "http",
        "robots_unreachable",
        "parse_timeout",
        "parse_crashed",
    }
)


_EAGERNESS = {"never": 0, "auto": 1, "always": 2}


@dataclass(frozen=True, slots=True)
class FulltextSettings:
    """The ``fulltext`` and ``robots`` settings: the defaults (``polling``) and each feed's
    own, by feed URL (``None`` where a feed leaves it to the default)."""

    mode: str = "auto"
    short_below: int = SHORT_SUMMARY
    robots: bool = True
    feeds: Mapping[str, tuple[str | None, bool | None]] = field(default_factory=dict)

    def mode_for(self, feed_urls: Iterable[str]) -> str:
        """The mode for an item carried by these feeds: the most eager of theirs (an item
        one feed says to fetch is fetched once, for all)."""
        modes = [self.feeds.get(u, (None, None))[0] or self.mode for u in feed_urls]
        return max(modes, key=_EAGERNESS.__getitem__) if modes else self.mode

    def robots_for(self, feed_urls: Iterable[str]) -> bool:
        """Whether robots.txt is honoured for an item carried by these feeds: yes unless
        every one of them says ``robots: false``."""
        flags = [self.feeds.get(u, (None, None))[1] for u in feed_urls]
        flags = [self.robots if f is None else f for f in flags]
        return any(flags) if flags else self.robots


def plan(
    candidates: Sequence[ArticleCandidate], settings: FulltextSettings
) -> list[tuple[int, str, str, str | None]]:
    """For each candidate, ``(item_id, url, status, reason)``: ``pending`` when its article
    is to be fetched (and why), ``skipped`` when not (and why not)."""
    out: list[tuple[int, str, str, str | None]] = []
    for c in candidates:
        mode = settings.mode_for(c.feed_urls)
        why = wants_article(mode, c.summary, c.url, short_below=settings.short_below)
        if why is not None:
            out.append((c.item_id, c.url, "pending", why))
        elif mode == "never":
            out.append((c.item_id, c.url, "skipped", "fulltext: never"))
        else:
            out.append(
                (
                    c.item_id,
                    c.url,
                    "skipped",
                    f"summary of {len(c.summary.strip())} characters (>= {settings.short_below})",
                )
            )
    return out


def wants_article(
    mode: str, summary: str, url: str | None, *, short_below: int = SHORT_SUMMARY
) -> str | None:
    """Why the item's article should be fetched (a few words for the record), or ``None``."""
    if not url or mode == "never":
        return None
    if mode == "always":
        return "always"
    length = len(summary.strip())
    if length < short_below:
        return f"summary of {length} characters (< {short_below})"
    return None


def cap_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> tuple[str, bool]:
    """``text`` cut to at most ``max_bytes`` of UTF-8 (never inside a character), and
    whether it was cut."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text, False
    return data[:max_bytes].decode("utf-8", errors="ignore"), True


def next_attempt(kind: str, attempts: int, now: datetime) -> datetime | None:
    """When a fetch that failed with ``kind`` after ``attempts`` tries is tried again, or
    ``None`` when it is not (a final error, or tries used up)."""
    if kind not in TRANSIENT or attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=RETRY_S * 2 ** (attempts - 1))


def snippet(text: str, position: int, length: int, *, width: int = 60) -> str:
    """The words around ``text[position:position + length]``: up to ``width`` characters each
    side, on one line, with ``…`` where it was cut."""
    start = max(0, position - width)
    end = min(len(text), position + length + width)
    if start > 0:
        space = text.find(" ", start, position)
        start = space + 1 if space >= 0 else start
    if end < len(text):
        space = text.rfind(" ", position + length, end)
        end = space if space >= 0 else end
    shown = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + shown + ("…" if end < len(text) else "")
