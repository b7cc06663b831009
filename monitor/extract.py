"""An article's main text from its HTML page.

Owns: turning the bytes of an article page into the plain text of its main content, with
trafilatura (the reference extractor of the field: it keeps paragraphs, drops navigation,
comments and boilerplate, and falls back on its own heuristics when a page has no clear
article). ``bench/bench_extract.py`` compares it with readability-lxml and jusText.

Pure: bytes in, text out; no network, no files, no clock. Runs in a parse worker (a page
built to be slow costs its worker, which is stopped at the parse deadline, not the daemon).
May import ``monitor.errors``; must not import fetch, store, pipeline or cli.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from monitor.errors import ExtractError
from monitor.pdf import is_pdf, read_pdf

#: bytes of a page handed to the extractor at most; an article's text is far shorter
MAX_PAGE_BYTES = 5_000_000

# trafilatura logs every page it finds nothing in at WARNING: a recorded outcome here
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class Extracted:
    """The main text of a page (paragraphs separated by blank lines) and its title."""

    text: str
    title: str | None = None


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    if kind and kind not in ("text/plain", "application/octet-stream", "application/xml"):
        return False
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<!--"))


def extract_article(body: bytes, url: str | None, content_type: str | None) -> Extracted:
    """The main text of an article page; raise :class:`ExtractError` when there is none.

    A PDF (known by its first bytes, whatever the server calls it) is read by
    :func:`monitor.pdf.read_pdf`: its text, and its title; one that cannot be read raises the
    :class:`~monitor.errors.DocumentError` saying why. Otherwise ``content_type`` is the
    response's ``Content-Type``: a page that says it is not HTML (an image) is refused without
    being parsed. Only the first :data:`MAX_PAGE_BYTES` are read.
    """
    if is_pdf(body) or (content_type or "").lower().startswith("application/pdf"):
        pdf = read_pdf(body)
        return Extracted(text=pdf.text, title=pdf.title)

    import trafilatura  # imported in the worker: it costs a quarter of a second

    if not body.strip():
        raise ExtractError("the page is empty")
    if not _looks_like_html(body, content_type):
        shown = (content_type or "no Content-Type").split(";", 1)[0]
        raise ExtractError(f"the page is not HTML ({shown})")
    try:
        doc = trafilatura.bare_extraction(
            body[:MAX_PAGE_BYTES],
            url=url,
            include_comments=False,
            include_tables=True,
            with_metadata=True,
            deduplicate=False,
        )
    except Exception as exc:  # the extractor's own failure, whatever its kind, is this page's
        detail = f"{type(exc).__name__}: {exc}"[:300]
        raise ExtractError(f"the extractor failed on the page ({detail})") from None
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        raise ExtractError("the extractor found no main text on the page")
    title = getattr(doc, "title", None) or None
    return Extracted(text=text, title=title)
