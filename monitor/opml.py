"""OPML subscription lists: reading feeds out of one, writing one, planning an import.

Owns: OPML 1.0/2.0 documents to and from feed values, and the decision of which imported feeds
are new, duplicates or invalid. XML is read with ``defusedxml`` (the standard library's parser
with entity expansion and external references refused: an OPML file is user-supplied, and a
"billion laughs" document must not take the process down) and written with the standard
library's ``ElementTree``. Pure: bytes and values in, values out. Must not import fetch, store,
deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

_HTTP = re.compile(r"^https?://[^\s/]+\S*$")


class OpmlError(ValueError):
    """The document is not a readable OPML subscription list; the message says why."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One ``<outline>`` with an ``xmlUrl``: a feed to subscribe to."""

    url: str
    name: str | None = None
    lang: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What importing a list into the configured feeds would do."""

    add: tuple[OpmlFeed, ...]
    duplicates: tuple[OpmlFeed, ...]  # configured already, or listed twice in the document
    invalid: tuple[tuple[OpmlFeed, str], ...]  # with what is wrong


def read_opml(body: bytes) -> list[OpmlFeed]:
    """The feeds an OPML document lists, in document order, nested outlines included (an
    outline's category is the text of the outline holding it)."""
    try:
        root = fromstring(body, forbid_dtd=False)
    except DefusedXmlException as exc:
        raise OpmlError(
            f"refused: the document declares entities or external references ({exc})"
        ) from None
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML ({exc})") from None
    if _local(root.tag) != "opml":
        raise OpmlError(f"the root element is <{_local(root.tag)}>; an OPML document's is <opml>")
    body_el = next((el for el in root if _local(el.tag) == "body"), None)
    if body_el is None:
        raise OpmlError("the <opml> element has no <body>")
    feeds: list[OpmlFeed] = []

    def walk(parent: ET.Element, category: str | None) -> None:
        for el in parent:
            if _local(el.tag) != "outline":
                continue
            text = _attr(el, "title") or _attr(el, "text")
            url = _attr(el, "xmlUrl") or _attr(el, "xmlurl")
            if url is not None:
                feeds.append(OpmlFeed(url, text, _attr(el, "language"), category))
            walk(el, text if url is None else category)

    walk(body_el, None)
    return feeds


def write_opml(feeds: Iterable[OpmlFeed], *, title: str = "Policy Monitor feeds") -> bytes:
    """An OPML 2.0 document listing ``feeds`` (grouped under their category, if any)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    groups: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            if feed.category not in groups:
                groups[feed.category] = ET.SubElement(
                    body, "outline", text=feed.category, title=feed.category
                )
            parent = groups[feed.category]
        attrs = {"type": "rss", "text": feed.name or feed.url, "xmlUrl": feed.url}
        if feed.name:
            attrs["title"] = feed.name
        if feed.lang:
            attrs["language"] = feed.lang
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def plan_import(feeds: Sequence[OpmlFeed], configured: Iterable[str]) -> ImportPlan:
    """Sort listed feeds into the ones to add, duplicates (a URL configured already or met
    earlier in the list) and invalid ones (a URL that is not http(s))."""
    known = set(configured)
    add: list[OpmlFeed] = []
    duplicates: list[OpmlFeed] = []
    invalid: list[tuple[OpmlFeed, str]] = []
    for feed in feeds:
        if not _HTTP.match(feed.url):
            invalid.append((feed, f"xmlUrl '{feed.url}' is not an http(s) URL"))
        elif feed.url in known:
            duplicates.append(feed)
        else:
            known.add(feed.url)
            add.append(feed)
    return ImportPlan(tuple(add), tuple(duplicates), tuple(invalid))


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _attr(el: ET.Element, name: str) -> str | None:
    value = el.get(name)
    return value.strip() or None if value is not None else None
