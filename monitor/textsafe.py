"""Feed text made safe to show: cleaned of control characters and bidirectional overrides,
cut to a length, escaped for Slack mrkdwn; links kept only when they are http(s).

Owns: the rules every outgoing message applies to untrusted text (``monitor.render`` and
``monitor.render_signals`` both use them). Pure: values in, values out. Imports the standard
library only.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

URL_MAX = 2000

_REMOVED = {
    # bidirectional embeddings, overrides and isolates: they can make text read differently
    # from what it is (a "trojan source" link); RTL letters themselves are kept
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
}
_SPACE_LIKE = {"\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"}


def clean_text(text: str | None, *, one_line: bool = True) -> str:
    """Feed text made safe to show anywhere.

    Removes control characters (so terminal escape sequences are inert), lone surrogates and
    bidirectional overrides; keeps letters of every script, emoji and joiners. With
    ``one_line`` all whitespace runs become one space; otherwise line breaks are kept.
    """
    if not text:
        return ""
    out: list[str] = []
    for ch in text:
        if ch in _SPACE_LIKE:
            out.append("\n" if not one_line and ch in "\n\u2028\u2029" else " ")
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs") or ch in _REMOVED:
            continue
        out.append(ch)
    joined = "".join(out)
    if one_line:
        return " ".join(joined.split())
    lines = (" ".join(line.split()) for line in joined.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL that is safe to link to, else ``None``."""
    if not url:
        return None
    url = url.strip()
    if len(url) > URL_MAX or any(unicodedata.category(c)[0] in "CZ" for c in url):
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


_SLACK_TABLE = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        # mrkdwn has no backslash escape: formatting characters become look-alikes
        "*": "\u2217",  # ASTERISK OPERATOR
        "_": "\u02cd",  # MODIFIER LETTER LOW MACRON
        "~": "\u223c",  # TILDE OPERATOR
        "`": "\u02cb",  # MODIFIER LETTER GRAVE ACCENT
    }
)
_WORD_JOINER = "\u2060"
_MENTION_LIKE = re.compile(r"([@#!])(?=\w)")


def slack_escape(text: str) -> str:
    """Make feed text inert in Slack mrkdwn while keeping it readable.

    ``&``, ``<`` and ``>`` become entities (so ``<!channel>``, ``<@U123>`` and ``<url|label>``
    show as text), formatting characters ``* _ ~ ` `` become look-alike characters, and an
    invisible word joiner follows ``@``, ``#`` and ``!`` so ``@here`` cannot mention anyone even
    if Slack auto-parses. Control characters are removed; line breaks are kept.
    """
    text = clean_text(text, one_line=False)
    return _MENTION_LIKE.sub(r"\1" + _WORD_JOINER, text.translate(_SLACK_TABLE))


def slack_link_target(url: str) -> str:
    # inside <url|label>, '|' and '>' would end the URL; '&' is escaped as everywhere else
    return (
        url.replace("&", "&amp;")
        .replace("<", "%3C")
        .replace(">", "%3E")
        .replace("|", "%7C")
        .replace(" ", "%20")
    )


def slack_length(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units; an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2
