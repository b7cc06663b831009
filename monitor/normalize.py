"""Normalising entries into items.

Owns: plain text from HTML, UTC dates, canonical links, the stable item key and the content
hash. Pure: takes values, returns values. Must not import fetch, store, deliver, pipeline,
scheduler or cli.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from datetime import datetime

from lxml import etree

from monitor.model import Entry, Item
from monitor.stories import StorySignature, features, fingerprint, signature
from monitor.urls import canonical_url

MAX_TITLE = 500
MAX_SUMMARY = 4000

# elements dropped with their content, as a browser shows nothing of them
_DROP = frozenset({"script", "style", "noscript", "template"})
# elements that end a line in a browser; every other one (b, i, a, span, img…) joins its
# neighbours
_BLOCK = frozenset(
    "br p div li ul ol dl dt dd h1 h2 h3 h4 h5 h6 tr td th table blockquote pre hr section "
    "article header footer figure figcaption aside nav main".split()
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_ALL_SPACE = re.compile(r"\s+")
_LINES = re.compile(r" *\n[\s]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


class _VisibleText:
    """An lxml parser target that keeps what a browser would show of a fragment: text runs,
    split into lines where block elements start and end.

    A parser target gets the tokenizer's events and builds no tree, so nothing here depends
    on how deep the markup nests, and every event costs the same: the whole parse is linear
    in the length of the input whatever its shape (unclosed tags, runs of ``<``, deep
    nesting). Comments and dropped elements count as a space between their neighbours.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.lines: list[list[str]] = [[]]
        self.hidden = 0  # depth inside dropped elements

    def start(self, tag: str, attrib: object) -> None:
        if tag in _DROP:
            if not self.hidden:
                self.lines[-1].append(" ")
            self.hidden += 1
        elif tag in _BLOCK and not self.hidden:
            self.lines.append([])

    def end(self, tag: str) -> None:
        if tag in _DROP:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK and not self.hidden:
            self.lines.append([])

    def data(self, text: str) -> None:
        if not self.hidden:
            self.lines[-1].append(text)

    def comment(self, text: str) -> None:
        if not self.hidden:
            self.lines[-1].append(" ")

    def close(self) -> str:
        # line breaks in HTML source are only spaces: the elements say where lines end
        text = "\n".join(_ALL_SPACE.sub(" ", "".join(line)) for line in self.lines if line)
        self.reset()
        return text


_parsers = threading.local()


def _visible_text(markup: str) -> str:
    """The visible text of an HTML fragment, by libxml2's HTML parser (through lxml)."""
    parser = getattr(_parsers, "parser", None)
    if parser is None:  # one per thread: a parser is not thread-safe, and costs more than a
        # short summary to make
        parser = etree.HTMLParser(
            target=_VisibleText(), encoding="utf-8", no_network=True, huge_tree=True
        )
        _parsers.parser = parser
    parser.target.reset()
    # encoded here, with the encoding fixed, so that a <meta charset> in the fragment cannot
    # change how it is read; a lone surrogate becomes "?"
    text: str = etree.fromstring(markup.encode("utf-8", "replace"), parser)
    return text


def _strip_once(text: str) -> str:
    text = _visible_text(text) if "<" in text else html.unescape(text)
    return _CONTROL.sub("", text)  # decoded entities may have been control characters


def html_to_text(value: str, *, limit: int | None = None) -> str:
    """Visible text of an HTML fragment: tags dropped, entities decoded, white space folded.

    Feeds that escape their HTML twice (``&amp;amp;``, ``&lt;b&gt;``) are decoded until no
    markup is left, so the result is the same when applied to its own output.
    """
    if not value:
        return ""
    if value.isprintable() and "  " not in value and "<" not in value and "&" not in value:
        # plain text on one line, single-spaced (most titles): nothing to strip or fold
        text = value.strip()
        if limit is None or len(text) <= limit:
            return text
    text = _CONTROL.sub("", value)
    for _ in range(4):
        if not _MARKUP.search(text):
            break
        text = _strip_once(text)
    text = _SPACES.sub(" ", text)
    text = _LINES.sub("\n", text).strip()
    if limit is not None and len(text) > limit:
        cut = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit))
        text = text[: cut if cut > limit // 2 else limit].rstrip() + "…"
    return text


def item_key(entry: Entry) -> str:
    """The identity of an entry within its feed: guid, else link, else title and date, else
    (an entry that is only text, as RSS 0.92 allows) its text and date."""
    when = entry.published.isoformat() if entry.published else ""
    if entry.guid:
        basis = "guid:" + entry.guid
    elif entry.link:
        basis = "link:" + entry.link
    elif entry.title:
        basis = "title:" + entry.title + "|" + when
    else:
        basis = "text:" + entry.summary + "|" + when
    return hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content_hash(title: str, summary: str, url: str | None) -> str:
    """Decides whether an item changed: a hash of its normalised title, summary and link."""
    data = "\x1f".join((title, summary, url or ""))
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def normalize_entry(
    entry: Entry,
    *,
    feed_url: str,
    feed_link: str | None = None,
    lang: str | None = None,
    now: datetime | None = None,
) -> Item:
    """Turn one parsed entry into an item.

    A publication date in the future (beyond ``now``) is clamped to ``now``: some feeds date
    items ahead, and a future date must not pin an item to the top of every digest.
    """
    item, _ = _normalize(entry, feed_url, feed_link, lang, now, with_signature=False)
    return item


def normalize_with_signature(
    entry: Entry,
    *,
    feed_url: str,
    feed_link: str | None = None,
    lang: str | None = None,
    now: datetime | None = None,
) -> tuple[Item, StorySignature]:
    """:func:`normalize_entry`, and the item's story signature
    (:func:`monitor.stories.signature`) from the same pass over its words."""
    item, sig = _normalize(entry, feed_url, feed_link, lang, now, with_signature=True)
    assert sig is not None
    return item, sig


def _normalize(
    entry: Entry,
    feed_url: str,
    feed_link: str | None,
    lang: str | None,
    now: datetime | None,
    *,
    with_signature: bool,
) -> tuple[Item, StorySignature | None]:
    title = html_to_text(entry.title, limit=MAX_TITLE)
    summary = html_to_text(entry.summary, limit=MAX_SUMMARY)
    url = canonical_url(entry.link, base=feed_link or feed_url) if entry.link else None
    if url is None and entry.guid and entry.guid.startswith(("http://", "https://")):
        url = canonical_url(entry.guid)
    published = entry.published
    if published is not None and now is not None and published > now:
        published = now
    shown_title = title or (summary[:120] if summary else (url or "(untitled)"))
    sig: StorySignature | None = None
    if with_signature and shown_title == title:
        fp, sig = features(title, summary)
    else:
        fp = fingerprint(title, summary)
        if with_signature:  # the signature is of the title as stored, as the store computes it
            sig = signature(shown_title, summary)
    item = Item(
        key=item_key(entry),
        feed_url=feed_url,
        title=shown_title,
        summary=summary,
        url=url,
        link=entry.link,
        published=published,
        author=html_to_text(entry.author or "", limit=200) or None,
        source=html_to_text(entry.source or "", limit=200) or None,
        lang=lang,
        content_hash=content_hash(title, summary, url),
        fingerprint=fp,
    )
    return item, sig
