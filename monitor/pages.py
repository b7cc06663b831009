"""Web pages as sources: the links a listing page lists, and the text a page holds.

Owns: reading an HTML page into entries. A listing page (a ministry's news releases, a
committee's reports) gives one entry per link of its main list: the block found by
:func:`find_links` (the page's largest repeated block of links, navigation set aside), or the
elements an explicit CSS selector picks. A watched page gives its visible text
(:func:`page_text`), which :mod:`monitor.pagediff` compares with the text seen before. Pure:
takes bytes and URLs, returns values. Must not import fetch, store, deliver, pipeline,
scheduler or cli.

The page is read by libxml2's HTML parser (through lxml) without its "huge" option, so
nesting stops at 256 levels: a page built of a million nested tags is read up to that depth
in a few milliseconds and the rest is left, which :attr:`PageDoc.truncated` says.
"""

from __future__ import annotations

import codecs
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urljoin

from cssselect import GenericTranslator, SelectorError
from lxml import etree

from monitor.dates import find_date, machine_date
from monitor.errors import PageError

#: most links one listing page gives (a page is not an archive)
MAX_LINKS = 500
#: most characters of the text around a link kept as its entry's summary
MAX_CONTEXT = 600

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
# blocks whose links are the site's furniture, not its content
_FURNITURE = frozenset({"nav", "header", "footer", "aside", "menu"})
_FURNITURE_WORDS = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|breadcrumbs?|footer|header|sidebar|skip|"
    r"pagination|pager|share|social|lang|language|toolbar)(?:$|[\s_-])",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset", re.IGNORECASE)
_NOT_LINKS = ("#", "javascript:", "mailto:", "tel:", "data:")
_BLOCK_TAGS = frozenset(
    "p div li ul ol dl dt dd h1 h2 h3 h4 h5 h6 tr td th table blockquote pre section article "
    "header footer figure figcaption aside nav main br hr form fieldset details summary".split()
)


@dataclass(frozen=True, slots=True)
class PageLink:
    """One link of a listing page: its text, absolute URL, the text around it, a date."""

    title: str
    url: str
    context: str = ""
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class PageDoc:
    """A parsed HTML page: its tree, title, the URL its links resolve against."""

    root: etree._Element
    title: str
    base_url: str
    #: the page nests deeper than the parser reads: what lies deeper was left out
    truncated: bool = False


def page_encoding(body: bytes, content_type: str | None = None) -> str | None:
    """The encoding to read a page in: the HTTP header's charset, else None when the page
    declares its own (``<meta charset>``, which the parser honours), else UTF-8 when the bytes
    are UTF-8, else Windows-1252 (what browsers assume of an undeclared Western page)."""
    if content_type:
        m = _CHARSET.search(content_type)
        if m:
            try:
                return codecs.lookup(m.group(1)).name
            except LookupError:
                pass
    if _META_CHARSET.search(body[:4096]):
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def read_page(body: bytes, url: str, content_type: str | None = None) -> PageDoc:
    """Parse an HTML page. Raises :class:`PageError` when there is no document at all."""
    parser = etree.HTMLParser(
        encoding=page_encoding(body, content_type),
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(body, parser)
    except (etree.ParserError, ValueError) as exc:
        raise PageError(f"not an HTML page: {exc}") from None
    if root is None:
        raise PageError("not an HTML page: the body holds no markup")
    truncated = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
    base = url
    for href in root.xpath("//head/base/@href")[:1]:
        base = urljoin(url, str(href).strip())
    title = " ".join(_text(t) for t in root.xpath("//head/title")[:1]).strip()
    return PageDoc(root, title, base, truncated)


def _text(el: etree._Element) -> str:
    """The visible text of an element, white space folded."""
    parts: list[str] = []
    _collect(el, parts)
    return _SPACE.sub(" ", "".join(parts)).strip()


def _collect(el: etree._Element, parts: list[str]) -> None:
    # iterative over the element's subtree: nesting is bounded by the parser, but recursion
    # in Python would cost a frame per level
    hidden = 0  # depth inside elements that show nothing
    for event, node in etree.iterwalk(el, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _SKIP:
                hidden += 1
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if node.text and not hidden:
                parts.append(node.text)
        else:
            if tag in _SKIP:
                hidden -= 1
            if tag in _BLOCK_TAGS:
                parts.append("\n")
            if node is not el and node.tail and not hidden:
                parts.append(node.tail)


def _hidden(node: etree._Element | None) -> bool:
    while node is not None:
        if isinstance(node.tag, str) and node.tag in _SKIP:
            return True
        node = node.getparent()
    return False


def _lines(el: etree._Element) -> list[str]:
    """The visible text of an element as lines, one per block, white space folded."""
    parts: list[str] = []
    _collect(el, parts)
    out = []
    for line in "".join(parts).split("\n"):
        folded = _SPACE.sub(" ", line).strip()
        if folded:
            out.append(folded)
    return out


# -- links -------------------------------------------------------------------------------------


def check_selector(selector: str) -> str:
    """``selector`` if it is a CSS selector this module can use; else ValueError saying why."""
    try:
        _xpath(selector)
    except SelectorError as exc:
        raise ValueError(
            f"'{selector}' is not a CSS selector ({exc}); write one such as 'ul.news li a'"
        ) from None
    return selector


@lru_cache(maxsize=256)
def _xpath(selector: str) -> etree.XPath:
    return etree.XPath(GenericTranslator().css_to_xpath(selector))


def find_links(doc: PageDoc, selector: str | None = None) -> list[PageLink]:
    """The links a listing page lists, in page order, each URL once.

    With ``selector``, the elements it picks: a link itself, or the first link inside each
    (so ``div.card`` works as well as ``div.card a``). Without, the page's main block of
    links (:func:`main_link_block`). Raises :class:`PageError` when there is none.
    """
    if selector is not None:
        anchors = []
        for el in _xpath(selector)(doc.root):
            if not isinstance(el, etree._Element):
                continue
            anchor = el if el.tag == "a" and el.get("href") else _first_anchor(el)
            if anchor is not None:
                anchors.append(anchor)
        if not anchors:
            raise PageError(
                f"the selector '{selector}' picks no link on this page"
                + _truncation_note(doc)
                + "; check it against the page as served (view its source)"
            )
        units = {a: _unit(a, set(anchors)) for a in anchors}
    else:
        anchors = main_link_block(doc.root)
        if not anchors:
            raise PageError(
                "no list of links found on this page" + _truncation_note(doc) + "; give "
                "the list's CSS selector as `items:` (for example 'ul.news li a')"
            )
        units = {a: _unit(a, set(anchors)) for a in anchors}
    links: list[PageLink] = []
    seen: set[str] = set()
    for a in anchors:
        link = _page_link(a, units[a], doc.base_url)
        if link is None or link.url in seen:
            continue
        seen.add(link.url)
        links.append(link)
        if len(links) >= MAX_LINKS:
            break
    return links


def _truncation_note(doc: PageDoc) -> str:
    if not doc.truncated:
        return ""
    return " (the page nests elements more than 256 deep; what lies deeper was not read)"


def _first_anchor(el: etree._Element) -> etree._Element | None:
    for a in el.iter("a"):
        if a.get("href"):
            return a
    return None


def _usable_href(href: str | None) -> bool:
    return bool(href and href.strip() and not href.strip().lower().startswith(_NOT_LINKS))


def _shape(el: etree._Element) -> tuple[str, ...]:
    """Where an element sits: the tags and classes of its ancestors, without positions, so
    the links of one list share a shape and a menu's links have another."""
    shape = []
    node: etree._Element | None = el.getparent()
    while node is not None:
        classes = " ".join(sorted((node.get("class") or "").split()[:3]))
        shape.append(f"{node.tag}.{classes}" if classes else str(node.tag))
        node = node.getparent()
    return tuple(reversed(shape))


def _furniture(el: etree._Element) -> bool:
    """Whether the element lies in the site's navigation, header, footer or sidebar."""
    node: etree._Element | None = el
    while node is not None:
        if node.tag in _FURNITURE or node.get("role") in ("navigation", "banner", "contentinfo"):
            return True
        marks = f"{node.get('class') or ''} {node.get('id') or ''}"
        if marks.strip() and _FURNITURE_WORDS.search(marks):
            return True
        node = node.getparent()
    return False


def main_link_block(root: etree._Element) -> list[etree._Element]:
    """The anchors of the page's main list of links, in page order.

    Links are grouped by their shape (:func:`_shape`: the same list items, cards or table
    rows); each group scores the length of its links' texts (a headline is long, a menu
    entry short; each text counts up to 120 characters), half of that for a group of one link,
    a fifth when it lies in the navigation, header, footer or sidebar. The best group wins.
    """
    groups: dict[tuple[str, ...], list[etree._Element]] = defaultdict(list)
    for a in root.iter("a"):
        if _usable_href(a.get("href")) and not _hidden(a):
            groups[_shape(a)].append(a)
    best: tuple[float, list[etree._Element]] | None = None
    for anchors in groups.values():
        score = float(sum(min(len(_text(a)), 120) for a in anchors))
        if len({a.get("href", "").strip() for a in anchors}) < 2:
            score /= 2  # a list of one: a new listing, or a lone link in the text
        if _furniture(anchors[0]):
            score /= 5
        if best is None or score > best[0]:
            best = (score, anchors)
    return best[1] if best else []


def _unit(anchor: etree._Element, block: set[etree._Element]) -> etree._Element:
    """The repeated element a link belongs to (its list item, card or table row): the
    highest ancestor that holds no other link of the block."""
    unit = anchor
    node = anchor.getparent()
    for _ in range(8):
        if node is None or node.tag in ("body", "html"):
            break
        if any(other is not anchor and other in block for other in node.iter("a")):
            break
        unit = node
        node = node.getparent()
    return unit


def _page_link(a: etree._Element, unit: etree._Element, base: str) -> PageLink | None:
    href = (a.get("href") or "").strip()
    if not _usable_href(href):
        return None
    try:
        url = urljoin(base, href)
    except ValueError:
        return None
    if not url.startswith(("http://", "https://")):
        return None
    title = _text(a) or (a.get("title") or "").strip()
    if not title:
        for img in a.iter("img"):
            title = (img.get("alt") or "").strip()
            if title:
                break
    context = _text(unit) if unit is not a else ""
    if context.startswith(title):
        context = context[len(title) :].strip(" -–—|:·")
    context = context[:MAX_CONTEXT]
    published = None
    for t in unit.iter("time"):
        published = machine_date(t.get("datetime") or "") or find_date(_text(t))
        if published:
            break
    if published is None:
        published = find_date(context) or find_date(title)
    return PageLink(title=title or url, url=url, context=context, published=published)


# -- text --------------------------------------------------------------------------------------


def page_text(doc: PageDoc, selector: str | None = None) -> list[str]:
    """The lines of text a watched page shows: of the elements ``selector`` picks, else of
    its ``<main>`` (or ``role="main"``, or its single ``<article>``), else of its body less
    the navigation, header, footer and sidebar. Raises :class:`PageError` when empty."""
    if selector is not None:
        parts = [el for el in _xpath(selector)(doc.root) if isinstance(el, etree._Element)]
        if not parts:
            raise PageError(f"the selector '{selector}' picks nothing on this page")
    else:
        parts = list(doc.root.xpath("//main|//*[@role='main']"))[:1]
        if not parts:
            articles = doc.root.xpath("//article")
            parts = articles if len(articles) == 1 else []
        if not parts:
            parts = _without_furniture(doc.root)
    lines = [line for el in parts for line in _lines(el)]
    if not lines:
        raise PageError("the page shows no text" + _truncation_note(doc))
    return lines


def _without_furniture(root: etree._Element) -> list[etree._Element]:
    bodies = root.xpath("//body") or [root]
    body = bodies[0]
    for el in list(body.iter(*_FURNITURE)):
        el.clear(keep_tail=True)
    return [body]
