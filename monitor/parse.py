"""Parsing feed documents.

Owns: turning a fetched body into a :class:`monitor.model.ParsedFeed`. feedparser is always
given a byte stream (``io.BytesIO``), never a ``str`` or ``bytes`` it might take for a path or a
URL to open. Pure: no network, no files, no database. Must not import fetch, store, deliver,
pipeline, scheduler or cli.
"""

from __future__ import annotations

import calendar
import io
import json
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.errors import ParseError
from monitor.jsonfeed import json_feed_version
from monitor.model import MAX_ENTRIES, Entry, ParsedFeed, plausible_date

# feedparser reports these when the document is usable anyway (a wrong or missing charset
# declaration, a text/plain content type); anything else with no entries means "not a feed".
_SURVIVABLE = ("CharacterEncodingOverride", "NonXMLContentType", "CharacterEncodingUnknown")


def parse_feed(
    body: bytes,
    *,
    url: str = "",
    content_type: str | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ParsedFeed:
    """Parse a feed body; raise :class:`ParseError` when it is not a usable feed.

    At most ``max_entries`` entries are read, the first ones of the document; how many more
    it had is :attr:`ParsedFeed.cut`.
    """
    if is_json(body):
        return _json_feed(body, max_entries)
    try:
        result = read_xml(body, content_type)
    except Exception as exc:  # feedparser should not raise; if it does, the body is at fault
        raise ParseError(f"not a feed: the parser failed ({type(exc).__name__}: {exc})") from exc

    feed = result.get("feed", {}) or {}
    raw_entries = result.get("entries", []) or []
    version = result.get("version", "") or ""
    warning = None
    if result.get("bozo"):
        problem = result.get("bozo_exception")
        warning = (
            f"{type(problem).__name__}: {problem}" if problem is not None else "malformed feed"
        )
    if not version and not raw_entries:
        raise ParseError(f"not a feed: no RSS, Atom or JSON feed found ({warning or 'empty'})")

    entries = []
    for raw in raw_entries[:max_entries]:
        entry = _entry(raw)
        if entry is not None:
            entries.append(entry)
    link = _text(feed.get("link"))
    if link and url:
        try:
            link = urljoin(url, link)
        except ValueError:  # a link urllib cannot read (a bad IPv6 literal): leave it as given
            pass
    return ParsedFeed(
        title=_text(feed.get("title")),
        link=link,
        entries=tuple(entries),
        version=version,
        warning=warning,
        cut=max(0, len(raw_entries) - max_entries),
    )


def is_json(body: bytes) -> bool:
    """Whether a body is JSON (a JSON Feed, read here), not XML (read by feedparser)."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def read_xml(body: bytes, content_type: str | None = None) -> Any:
    """feedparser's reading of an XML body, as :func:`parse_feed` takes it (feedparser's
    result; it may raise on a body it cannot read)."""
    # No "content-location": with a base URL feedparser resolves every link it reads, which
    # costs a third of its time; monitor.normalize resolves links itself (the feed's link
    # against its URL, item links against that), and xml:base is still honoured.
    headers = {"content-type": content_type} if content_type else {}
    return feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,  # we keep text only; HTML never reaches a reader unescaped
        resolve_relative_uris=False,  # links are resolved by monitor.urls
    )


def _entry(raw: Any) -> Entry | None:
    title = _text(raw.get("title")) or ""
    summary = _text(raw.get("summary")) or ""
    if not summary:
        for content in raw.get("content") or ():
            value = _text(content.get("value")) if hasattr(content, "get") else None
            if value:
                summary = value
                break
    guid = _text(raw.get("id"))
    link = _link(raw, guid)
    if not (title or summary or link or guid):
        return None
    source = raw.get("source")
    return Entry(
        guid=guid,
        link=link,
        title=title,
        summary=summary,
        published=_when(raw.get("published_parsed")) or _when(raw.get("updated_parsed")),
        updated=_when(raw.get("updated_parsed")),
        author=_text(raw.get("author")),
        source=_text(source.get("title")) if hasattr(source, "get") else None,
    )


def _link(raw: Any, guid: str | None) -> str | None:
    """The address of an entry's article, as written (relative ones are resolved later).

    Feedburner's ``origLink`` (the article itself, not the tracking redirect) first; then the
    entry's link; then, for an entry with nothing else, its enclosure (a podcast episode's
    file). feedparser copies an RSS permalink guid into ``link`` and flags every entry whose id
    it read before its link; a link taken from the guid is kept only when it is a web address,
    and a real ``<link>`` is never dropped for that flag.
    """
    original = _text(raw.get("feedburner_origlink"))
    if original and original.startswith(("http://", "https://")):
        return original
    links = [x for x in raw.get("links") or () if hasattr(x, "get") and _text(x.get("href"))]
    link = _text(raw.get("link"))
    if link:
        written = any(_text(x.get("href")) == link for x in links)
        if written or not (raw.get("guidislink") and link == guid):
            return link
        if link.startswith(("http://", "https://")):
            return link  # an RSS guid that is a permalink
    for x in links:
        if x.get("rel", "alternate") == "alternate":
            return _text(x.get("href"))
    for x in links:
        if x.get("rel") == "enclosure":
            return _text(x.get("href"))
    return None


def _json_feed(body: bytes, max_entries: int) -> ParsedFeed:
    """A JSON Feed (https://jsonfeed.org, versions 1 and 1.1); feedparser reads XML only.

    Values of the wrong type (a number for a title, an object for a URL) count as absent.
    """
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(
            f"not a feed: the body starts like JSON but is not (expected RSS, Atom or JSON Feed; "
            f"{exc})"
        ) from exc
    except RecursionError:
        raise ParseError("not a feed: JSON nested too deeply to be a feed") from None
    version = json_feed_version(data.get("version")) if isinstance(data, dict) else None
    items = data.get("items") if isinstance(data, dict) else None
    if version is None or not isinstance(items, list):
        raise ParseError(
            "not a feed: JSON, but not a JSON Feed (expected RSS, Atom, or JSON with 'version': "
            "'https://jsonfeed.org/version/1.1' and 'items')"
        )
    entries = []
    for raw in items[:max_entries]:
        if not isinstance(raw, dict):
            continue
        authors = raw.get("authors")
        if not isinstance(authors, list):
            authors = [raw["author"]] if raw.get("author") else []
        names = [_str(a.get("name")) for a in authors if isinstance(a, dict)]
        author = next((n for n in names if n), None)
        summary = next(
            (
                text
                for text in map(
                    _str, (raw.get(k) for k in ("summary", "content_html", "content_text"))
                )
                if text
            ),
            None,
        )
        title, link = _str(raw.get("title")), _str(raw.get("url"))
        number = raw.get("id")
        plain = isinstance(number, (str, int, float)) and not isinstance(number, bool)
        guid = _text(number) if plain else None
        if not (title or summary or link or guid):
            continue
        published = _iso_date(raw.get("date_published"))
        entries.append(
            Entry(
                guid=guid,
                link=link,
                title=title or "",
                summary=summary or "",
                published=published or _iso_date(raw.get("date_modified")),
                updated=_iso_date(raw.get("date_modified")) or published,
                author=author,
            )
        )
    return ParsedFeed(
        title=_str(data.get("title")),
        link=_str(data.get("home_page_url")),
        entries=tuple(entries),
        version=f"json{version.replace('.', '')}",
        cut=max(0, len(items) - max_entries),
    )


def _str(value: Any) -> str | None:
    """A JSON string value, stripped; anything else is absent."""
    return value.strip() or None if isinstance(value, str) else None


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return plausible_date(when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC))
    except (ValueError, OverflowError):  # "0001-01-01T00:00:00+05:00" is before year 1 in UTC
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return str(value).strip() or None


def _when(value: Any) -> datetime | None:
    """feedparser gives dates as UTC ``time.struct_time``; impossible ones (out of datetime's
    range, or outside ``model.EARLIEST_DATE`` … ``LATEST_DATE``) are unknown."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return plausible_date(datetime.fromtimestamp(calendar.timegm(value), tz=UTC))
    except (OverflowError, ValueError, OSError):
        return None
