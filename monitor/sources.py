"""Reading sources that are not feeds into items: listing pages, watched pages, documents.

Owns: turning a fetched web page or PDF into the same :class:`~monitor.model.Item` values a
feed gives, so triage, scoring and storage treat them alike. A listing page gives one item
per link of its list (title the link's text, summary the text around it, published a date
found there). A watched page gives at most one item, its change: the lines it added since its
stored text. A document gives one item: its title and text. Pure: each function runs in a
parse worker (the daemon only names them, so the HTML parser, lxml, and the normaliser are
imported by the functions that use them, not by this module). Must not import fetch, store,
deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from monitor.model import MAX_ENTRIES, Entry, Item
from monitor.pagediff import page_change, text_hash, text_of
from monitor.pdf import is_pdf, read_pdf
from monitor.stories import StorySignature

#: most characters of a document's text kept as its summary (the rest is its body)
TEASER = 300
#: most characters of a change's added lines shown in its title
_TITLE_LINE = 160


@dataclass(frozen=True, slots=True)
class SourceRead:
    """What one body of a source gave: items, their story signatures, entries past the cap,
    and for a watched page its text to keep (None: keep the stored one)."""

    items: list[Item]
    signatures: dict[str, StorySignature]
    cut: int = 0
    text: str | None = None
    text_hash: str | None = None


def _items(
    entries: list[Entry], url: str, lang: str | None, now: datetime, *, link: str | None = None
) -> tuple[list[Item], dict[str, StorySignature]]:
    from monitor.normalize import normalize_with_signature

    items: list[Item] = []
    signatures: dict[str, StorySignature] = {}
    for entry in entries:
        item, sig = normalize_with_signature(
            entry, feed_url=url, feed_link=link, lang=lang, now=now
        )
        items.append(item)
        signatures[item.key] = sig
    return items, signatures


def read_listing(
    body: bytes,
    url: str,
    content_type: str | None,
    lang: str | None,
    now: datetime,
    selector: str | None = None,
    max_entries: int = MAX_ENTRIES,
) -> SourceRead:
    """A listing page's links as items (see :func:`monitor.pages.find_links`)."""
    from monitor.pages import find_links, read_page

    doc = read_page(body, url, content_type)
    links = find_links(doc, selector)
    entries = [
        Entry(guid=None, link=lk.url, title=lk.title, summary=lk.context, published=lk.published)
        for lk in links[:max_entries]
    ]
    items, signatures = _items(entries, url, lang, now)
    return SourceRead(items, signatures, cut=max(0, len(links) - max_entries))


def read_watched(
    body: bytes,
    url: str,
    content_type: str | None,
    lang: str | None,
    now: datetime,
    selector: str | None,
    previous: str | None,
    name: str | None = None,
) -> SourceRead:
    """A watched page's change since ``previous`` (its stored text) as one item, and its text
    to keep. The first poll keeps the text and gives no item: there is nothing to compare."""
    from monitor.normalize import MAX_SUMMARY
    from monitor.pages import page_text, read_page

    doc = read_page(body, url, content_type)
    lines = page_text(doc, selector)
    text = text_of(lines)
    change = page_change(previous, lines)
    if previous is not None and text_hash(previous) == text_hash(text):
        return SourceRead([], {})  # the same text (up to digits): keep the stored one
    if change is None:
        return SourceRead([], {}, text=text, text_hash=text_hash(text))
    added = "\n".join(change.added)
    first = change.added[0]
    label = name or doc.title or url
    entry = Entry(
        guid=f"page-change:{url}:{change.text_hash}",
        link=url,
        title=f"{label}: {first[:_TITLE_LINE]}" + ("…" if len(first) > _TITLE_LINE else ""),
        summary=added[: MAX_SUMMARY * 2],
        published=now,
    )
    items, signatures = _items([entry], url, lang, now)
    # a change is its own item, not a new version of the page's last change: without a
    # canonical URL, triage never takes it for that change under a new guid
    items = [replace(item, url=None) for item in items]
    return SourceRead(items, signatures, text=text, text_hash=change.text_hash)


def read_document(
    body: bytes, url: str, content_type: str | None, lang: str | None, now: datetime
) -> SourceRead:
    """A PDF as one item: its title, and the start of its text as the summary. The whole
    text is scored as the item's body once the article fetcher has read it (a document's
    article is its own address, fetched always unless the source says otherwise)."""
    del content_type  # a PDF is known by its first bytes, whatever the server calls it
    pdf = read_pdf(body)
    text = " ".join(pdf.text.split("\n"))
    teaser = text if len(text) <= TEASER else text[: text.rfind(" ", 0, TEASER) + 1] + "…"
    entry = Entry(guid=None, link=url, title=pdf.title, summary=teaser)
    items, signatures = _items([entry], url, lang, now)
    return SourceRead(items, signatures)


def read_any(body: bytes, url: str, content_type: str | None) -> tuple[str, str]:
    """The title and text of a PDF or a web page, whichever ``body`` is (for ``explain``)."""
    from monitor.pages import page_text, read_page

    if is_pdf(body):
        pdf = read_pdf(body)
        return pdf.title, pdf.text
    doc = read_page(body, url, content_type)
    return doc.title or url, "\n".join(page_text(doc))
