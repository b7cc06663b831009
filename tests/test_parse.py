"""Tests for monitor.parse: feed bodies of every kind into ParsedFeed values.

The feed documents below were written for these tests; they describe no real event.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import MonitorError, ParseError
from monitor.model import Entry, ParsedFeed
from monitor.parse import parse_feed

# --- documents -----------------------------------------------------------------------------------

RSS20 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Defence Wire</title>
  <link>https://wire.example/</link>
  <description>Test channel</description>
  <item>
    <title>NORAD review enters second phase</title>
    <link>https://wire.example/norad-review?utm_source=rss</link>
    <guid isPermaLink="false">wire-0001</guid>
    <description>&lt;p&gt;Officials met in &lt;b&gt;Ottawa&lt;/b&gt;.&lt;/p&gt;</description>
    <content:encoded><![CDATA[<p>The long version of the story.</p>]]></content:encoded>
    <pubDate>Tue, 04 Jun 2024 09:30:00 -0400</pubDate>
    <dc:creator>Jane Roe</dc:creator>
    <source url="https://press.example/rss">Example Press</source>
  </item>
  <item>
    <title>Only a content body</title>
    <guid isPermaLink="false">wire-0002</guid>
    <content:encoded><![CDATA[<p>Body from content:encoded.</p>]]></content:encoded>
  </item>
  <item>
    <title>Permalink guid</title>
    <guid>https://wire.example/p/3</guid>
  </item>
</channel>
</rss>
"""

RSS10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/">
    <title>RDF Defence Notes</title>
    <link>https://rdf.example/</link>
    <description>Test channel</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://rdf.example/arctic"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://rdf.example/arctic">
    <title>Arctic patrol season opens</title>
    <link>https://rdf.example/arctic</link>
    <description>Ships leave Halifax.</description>
    <dc:date>2024-06-04T10:00:00+02:00</dc:date>
    <dc:creator>R. Writer</dc:creator>
  </item>
</rdf:RDF>
"""

ATOM10 = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">
  <title>Nouvelles de la d&#233;fense</title>
  <link rel="alternate" href="https://atom.example/"/>
  <link rel="self" href="https://atom.example/feed.atom"/>
  <id>urn:example:atom</id>
  <updated>2024-06-04T12:00:00Z</updated>
  <entry>
    <title type="html">D&#233;penses &lt;b&gt;militaires&lt;/b&gt;</title>
    <id>tag:atom.example,2024:1</id>
    <link rel="alternate" href="https://atom.example/depenses"/>
    <published>2024-06-04T23:00:00-05:00</published>
    <updated>2024-06-05T08:00:00+05:30</updated>
    <summary>R&#233;sum&#233; court</summary>
    <content type="html">&lt;p&gt;Contenu long&lt;/p&gt;</content>
    <author><name>Marie Exemple</name></author>
    <source><id>urn:example:source</id><title>La Presse Exemple</title></source>
  </entry>
  <entry>
    <title>Content only</title>
    <id>tag:atom.example,2024:2</id>
    <link href="https://atom.example/content-only"/>
    <updated>2024-06-04T12:00:00Z</updated>
    <content type="html">&lt;p&gt;Only the content&lt;/p&gt;</content>
  </entry>
</feed>
"""

JSONFEED11 = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON Defence Feed",
        "home_page_url": "https://json.example/",
        "feed_url": "https://json.example/feed.json",
        "items": [
            {
                "id": "json-1",
                "url": "https://json.example/tariffs",
                "title": "Tariff talks resume",
                "summary": "Negotiators meet again.",
                "content_html": "<p>The longer text.</p>",
                "date_published": "2024-06-04T09:30:00-04:00",
                "authors": [{"name": "Sam Example"}],
            },
            {
                "id": "json-2",
                "url": "https://json.example/border",
                "title": "Border wait times",
                "content_html": "<p>Only HTML content.</p>",
                "date_published": "2024-06-03T08:00:00Z",
            },
        ],
    }
).encode()

JSONFEED10 = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1",
        "title": "Old JSON Feed",
        "home_page_url": "https://json10.example/",
        "items": [
            {
                "id": "https://json10.example/1",
                "url": "https://json10.example/1",
                "title": "Five Eyes meeting",
                "content_text": "Plain text content.",
                "date_published": "2024-06-04T00:00:00+00:00",
                "author": {"name": "Old Author"},
            }
        ],
    }
).encode()


def rss_with(items: str, *, encoding: str = "utf-8", channel_title: str = "Test") -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?>'
    return (
        f'{head}<rss version="2.0"><channel><title>{channel_title}</title>'
        f"<link>https://test.example/</link>{items}</channel></rss>"
    ).encode()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- the four formats ----------------------------------------------------------------------------


def test_rss20_feed_and_entry_fields() -> None:
    feed = parse_feed(RSS20)
    assert isinstance(feed, ParsedFeed)
    assert (feed.title, feed.link, feed.version) == (
        "Defence Wire",
        "https://wire.example/",
        "rss20",
    )
    assert feed.warning is None
    first = feed.entries[0]
    assert first == Entry(
        guid="wire-0001",
        link="https://wire.example/norad-review?utm_source=rss",  # raw: normalize cleans it
        title="NORAD review enters second phase",
        summary="<p>Officials met in <b>Ottawa</b>.</p>",  # HTML kept: normalize strips it
        published=utc(2024, 6, 4, 13, 30),
        updated=utc(2024, 6, 4, 13, 30),
        author="Jane Roe",
        source="Example Press",
    )


def test_relative_links_resolve_against_the_feed() -> None:
    """Relative channel and item links become absolute: the channel link against the feed's
    URL, item links against the channel link, and Atom's xml:base where a feed sets it."""
    from monitor.normalize import normalize_entry

    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>/news/</link>'
        b"<item><title>A</title><link>a.html?utm_source=rss</link></item>"
        b"<item><title>B</title><link>/b</link></item></channel></rss>"
    )
    feed = parse_feed(rss, url="https://site.example/feeds/all.xml")
    assert feed.link == "https://site.example/news/"
    urls = [
        normalize_entry(e, feed_url="https://site.example/feeds/all.xml", feed_link=feed.link).url
        for e in feed.entries
    ]
    assert urls == ["https://site.example/news/a.html", "https://site.example/b"]

    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        b'xml:base="https://cdn.example/en/"><title>T</title><id>urn:x</id>'
        b'<entry><title>C</title><id>urn:c</id><link href="c/1"/></entry></feed>'
    )
    (entry,) = parse_feed(atom, url="https://site.example/atom.xml").entries
    item = normalize_entry(entry, feed_url="https://site.example/atom.xml")
    assert item.url == "https://cdn.example/en/c/1"


def test_rss10_rdf() -> None:
    feed = parse_feed(RSS10)
    assert feed.version == "rss10"
    assert (feed.title, feed.link) == ("RDF Defence Notes", "https://rdf.example/")
    (entry,) = feed.entries
    assert entry.title == "Arctic patrol season opens"
    assert entry.link == "https://rdf.example/arctic"
    assert entry.summary == "Ships leave Halifax."
    assert entry.published == utc(2024, 6, 4, 8, 0)
    assert entry.author == "R. Writer"


def test_atom10() -> None:
    feed = parse_feed(ATOM10)
    assert feed.version == "atom10"
    assert feed.title == "Nouvelles de la défense"
    assert feed.link == "https://atom.example/"  # the alternate link, not rel=self
    first, second = feed.entries
    assert first.guid == "tag:atom.example,2024:1"
    assert first.link == "https://atom.example/depenses"
    assert first.title == "Dépenses <b>militaires</b>"
    assert first.summary == "Résumé court"  # the summary wins over the content
    assert first.published == utc(2024, 6, 5, 4, 0)
    assert first.updated == utc(2024, 6, 5, 2, 30)
    assert first.author == "Marie Exemple"
    assert first.source == "La Presse Exemple"
    # no <published>: the update date stands in for it
    assert second.published == second.updated == utc(2024, 6, 4, 12, 0)


@pytest.mark.parametrize(
    ("body", "expected_title", "expected_link", "first"),
    [
        (
            JSONFEED11,
            "JSON Defence Feed",
            "https://json.example/",
            Entry(
                guid="json-1",
                link="https://json.example/tariffs",
                title="Tariff talks resume",
                summary="Negotiators meet again.",
                published=utc(2024, 6, 4, 13, 30),
                updated=utc(2024, 6, 4, 13, 30),
                author="Sam Example",
            ),
        ),
        (
            JSONFEED10,
            "Old JSON Feed",
            "https://json10.example/",
            Entry(
                guid="https://json10.example/1",
                link="https://json10.example/1",
                title="Five Eyes meeting",
                summary="Plain text content.",
                published=utc(2024, 6, 4, 0, 0),
                updated=utc(2024, 6, 4, 0, 0),
                author="Old Author",
            ),
        ),
    ],
    ids=["jsonfeed-1.1", "jsonfeed-1.0"],
)
def test_json_feed(body: bytes, expected_title: str, expected_link: str, first: Entry) -> None:
    feed = parse_feed(body, content_type="application/feed+json")
    assert "json" in feed.version
    assert (feed.title, feed.link) == (expected_title, expected_link)
    entry = feed.entries[0]
    assert (entry.guid, entry.link, entry.title, entry.summary) == (
        first.guid,
        first.link,
        first.title,
        first.summary,
    )
    assert entry.published == first.published
    assert entry.author == first.author


def test_json_feed_without_content_type_header() -> None:
    # Servers often say application/json or text/plain; the body alone must be enough.
    feed = parse_feed(JSONFEED11)
    assert [e.guid for e in feed.entries] == ["json-1", "json-2"]
    assert feed.entries[1].summary == "<p>Only HTML content.</p>"


def test_empty_but_valid_feed_is_not_an_error() -> None:
    feed = parse_feed(rss_with(""))
    assert feed.version == "rss20"
    assert feed.entries == ()


# --- content and summary, guid and link ----------------------------------------------------------


def test_content_is_the_fallback_when_there_is_no_summary() -> None:
    rss = parse_feed(RSS20).entries
    assert rss[0].summary == "<p>Officials met in <b>Ottawa</b>.</p>"  # description preferred
    assert rss[1].summary == "<p>Body from content:encoded.</p>"
    atom = parse_feed(ATOM10).entries
    assert atom[1].summary == "<p>Only the content</p>"


@pytest.mark.parametrize(
    ("item", "guid", "link"),
    [
        (
            "<guid>https://test.example/a</guid>",
            "https://test.example/a",
            "https://test.example/a",  # a permalink guid is the link
        ),
        ('<guid isPermaLink="false">abc-1</guid>', "abc-1", None),
        (
            '<guid isPermaLink="false">abc-2</guid><link>https://test.example/b</link>',
            "abc-2",
            "https://test.example/b",
        ),
        ("<link>https://test.example/c</link>", None, "https://test.example/c"),
        (
            "<guid>https://test.example/guid</guid><link>https://test.example/link</link>",
            "https://test.example/guid",
            "https://test.example/link",  # an explicit link wins over a permalink guid
        ),
        (
            "<guid>  padded-guid  </guid><link> https://test.example/d </link>",
            "padded-guid",
            "https://test.example/d",
        ),
        # A guid that is not a URL is an identifier, whatever isPermaLink says by default: taking
        # it for the link would make normalize resolve "12345" into a made-up article address.
        ("<guid>12345</guid>", "12345", None),
    ],
    ids=["permalink", "not-permalink", "guid-and-link", "link-only", "both", "padded", "bare-id"],
)
def test_guid_and_link(item: str, guid: str | None, link: str | None) -> None:
    (entry,) = parse_feed(rss_with(f"<item><title>t</title>{item}</item>")).entries
    assert (entry.guid, entry.link) == (guid, link)


def test_entry_with_nothing_usable_is_dropped_and_one_with_an_id_is_kept() -> None:
    body = rss_with(
        "<item><pubDate>Tue, 04 Jun 2024 09:30:00 GMT</pubDate></item>"
        '<item><guid isPermaLink="false">only-id</guid></item>'
        "<item><title>kept</title></item>"
    )
    entries = parse_feed(body).entries
    assert [(e.guid, e.title) for e in entries] == [("only-id", ""), (None, "kept")]


def test_max_entries_keeps_the_first_ones() -> None:
    items = "".join(
        f'<item><title>n{i}</title><guid isPermaLink="false">{i}</guid></item>' for i in range(12)
    )
    feed = parse_feed(rss_with(items), max_entries=5)
    assert [e.guid for e in feed.entries] == ["0", "1", "2", "3", "4"]
    assert len(parse_feed(rss_with(items)).entries) == 12


def test_source_title_rss_and_atom() -> None:
    assert parse_feed(RSS20).entries[0].source == "Example Press"
    assert parse_feed(ATOM10).entries[0].source == "La Presse Exemple"
    assert parse_feed(RSS20).entries[1].source is None


# --- dates ---------------------------------------------------------------------------------------

DATE_CASES: list[tuple[str, datetime | None]] = [
    ("Tue, 04 Jun 2024 09:30:00 GMT", utc(2024, 6, 4, 9, 30)),
    ("Tue, 04 Jun 2024 09:30:00 +0000", utc(2024, 6, 4, 9, 30)),
    ("Tue, 04 Jun 2024 09:30:00 -0400", utc(2024, 6, 4, 13, 30)),
    ("Tue, 04 Jun 2024 09:30:00 EDT", utc(2024, 6, 4, 13, 30)),
    ("Tue, 04 Jun 2024 09:30:00 EST", utc(2024, 6, 4, 14, 30)),
    ("Tue, 4 Jun 24 09:30:00 PDT", utc(2024, 6, 4, 16, 30)),  # two-digit year
    ("04 Jun 2024 09:30 +0530", utc(2024, 6, 4, 4, 0)),  # no weekday, no seconds
    ("Wed, 05 Jun 2024 01:15:00 +1400", utc(2024, 6, 4, 11, 15)),  # the day before in UTC
    ("Mon, 31 Dec 2029 23:30:00 -0100", utc(2030, 1, 1, 0, 30)),  # the year after in UTC
    ("2024-06-04T09:30:00Z", utc(2024, 6, 4, 9, 30)),  # ISO 8601 in an RSS feed
    ("2024-06-04T09:30:00+02:00", utc(2024, 6, 4, 7, 30)),
    ("2024-06-04", utc(2024, 6, 4)),
    ("", None),
    ("yesterday afternoon", None),
    ("Sat, 01 Jan 10000 00:00:00 GMT", None),  # out of range: dropped, not an error
]


@pytest.mark.parametrize(
    ("text", "expected"), DATE_CASES, ids=[c[0] or "empty" for c in DATE_CASES]
)
def test_dates_become_utc(text: str, expected: datetime | None) -> None:
    body = rss_with(
        f'<item><title>t</title><guid isPermaLink="false">1</guid><pubDate>{text}</pubDate></item>'
    )
    (entry,) = parse_feed(body).entries
    assert entry.published == expected
    if expected is not None:
        assert entry.published is not None
        assert entry.published.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("tags", "published", "updated"),
    [
        (
            "<published>2024-06-01T00:00:00Z</published><updated>2024-06-02T00:00:00Z</updated>",
            utc(2024, 6, 1),
            utc(2024, 6, 2),
        ),
        ("<updated>2024-06-02T00:00:00+01:00</updated>", utc(2024, 6, 1, 23), utc(2024, 6, 1, 23)),
        ("", None, None),
    ],
    ids=["both", "updated-only", "neither"],
)
def test_atom_published_falls_back_to_updated(
    tags: str, published: datetime | None, updated: datetime | None
) -> None:
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>'
        f"<entry><title>t</title><id>urn:e</id>{tags}</entry></feed>"
    ).encode()
    (entry,) = parse_feed(body).entries
    assert (entry.published, entry.updated) == (published, updated)


# --- bozo but usable -----------------------------------------------------------------------------


@pytest.mark.parametrize("declared", ["us-ascii", "bogus-charset"])
def test_wrong_charset_declaration_is_usable_with_a_warning(declared: str) -> None:
    item = '<item><title>Dépenses « militaires »</title><guid isPermaLink="false">1</guid></item>'
    body = (
        f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel>'
        f"<title>Défense</title>{item}</channel></rss>"
    ).encode()
    feed = parse_feed(body)
    assert feed.title == "Défense"
    assert feed.entries[0].title == "Dépenses « militaires »"
    assert feed.warning is not None
    assert declared in feed.warning


def test_latin1_bytes_declared_as_utf8_are_usable() -> None:
    body = rss_with('<item><title>Dépenses</title><guid isPermaLink="false">1</guid></item>')
    body = body.decode("utf-8").encode("latin-1")
    feed = parse_feed(body)
    assert feed.entries[0].title == "Dépenses"
    assert feed.warning is not None


def test_charset_from_content_type_header() -> None:
    body = rss_with(
        '<item><title>Arctique</title><guid isPermaLink="false">1</guid></item>', encoding="utf-8"
    )
    feed = parse_feed(body, content_type="application/rss+xml; charset=us-ascii")
    assert feed.entries[0].title == "Arctique"


@pytest.mark.parametrize(
    ("prefix", "encoding"),
    [(b"\xef\xbb\xbf", "utf-8"), (b"", "utf-16")],
    ids=["utf8-bom", "utf16"],
)
def test_byte_order_marks_and_utf16(prefix: bytes, encoding: str) -> None:
    text = rss_with(
        '<item><title>Frontière</title><guid isPermaLink="false">1</guid></item>', encoding=encoding
    ).decode("utf-8")
    feed = parse_feed(prefix + text.encode(encoding))
    assert feed.entries[0].title == "Frontière"


def test_undefined_entity_is_usable_with_a_warning() -> None:
    body = rss_with(
        "<item><title>Caf&eacute; talks &nbsp;on tariffs</title>"
        '<guid isPermaLink="false">1</guid></item>'
        '<item><title>Second</title><guid isPermaLink="false">2</guid></item>'
    )
    feed = parse_feed(body)
    assert [e.guid for e in feed.entries] == ["1", "2"]
    assert feed.entries[0].title.startswith("Café talks")
    assert feed.warning is not None
    assert "entity" in feed.warning


def test_unclosed_tag_after_entries_is_usable() -> None:
    body = rss_with('<item><title>Whole</title><guid isPermaLink="false">1</guid></item>')
    body = body.replace(b"</channel></rss>", b"<item><title>Cut off")
    feed = parse_feed(body)
    assert feed.entries[0].title == "Whole"
    assert feed.warning is not None


# --- not a feed ----------------------------------------------------------------------------------

NOT_FEEDS: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("blank", b"  \n\t "),
    (
        "html-404",
        b"<!doctype html><html><head><title>Page not found</title></head>"
        b"<body><h1>404</h1><p>Sorry.</p></body></html>",
    ),
    ("html-with-rss-word", b"<html><body><rss>subscribe</rss></body></html>"),
    ("other-xml", b'<?xml version="1.0"?><note><to>Ottawa</to><body>hi</body></note>'),
    ("random-bytes", bytes(range(256)) * 4),
    ("plain-text", b"Service temporarily unavailable"),
    ("json-object", b'{"status": "ok", "items": [1, 2, 3]}'),
    ("json-wrong-version", b'{"version": "2.0", "items": []}'),
    ("json-array", b'[{"title": "a"}]'),
    ("json-null", b"null"),
    ("url", b"http://example.org/feed"),
    ("path", b"/etc/passwd"),
]


@pytest.mark.parametrize("body", [b for _, b in NOT_FEEDS], ids=[n for n, _ in NOT_FEEDS])
def test_not_a_feed_is_a_parse_error_with_a_clear_message(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, url="https://test.example/feed")
    message = str(info.value)
    assert message.startswith("not a feed")
    assert "RSS" in message and "Atom" in message  # says what was expected
    assert info.value.kind == "not_a_feed"
    assert isinstance(info.value, MonitorError)


@pytest.mark.parametrize("content_type", ["application/json", "application/feed+json"])
def test_json_that_is_not_a_feed_with_a_json_content_type(content_type: str) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(b'{"data": {"title": "x"}}', content_type=content_type)


# --- bodies that look like URLs or paths are never fetched or opened -----------------------------


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = rss_with('<item><title>Served</title><guid isPermaLink="false">s</guid></item>')
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_body_that_is_a_url_is_not_fetched(feed_server: tuple[str, list[str]]) -> None:
    url, hits = feed_server
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(url.encode())
    assert hits == []
    # The URL does serve a feed: had the parser fetched it, the call above would have succeeded.
    with urllib.request.urlopen(url, timeout=10) as response:
        served = response.read()
    assert hits == ["/feed.xml"]
    assert parse_feed(served).entries[0].title == "Served"


def test_body_that_is_a_path_is_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(
        rss_with('<item><title>On disk</title><guid isPermaLink="false">d</guid></item>')
    )
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(str(path).encode())
    assert parse_feed(path.read_bytes()).entries[0].title == "On disk"  # the file is a feed


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_feed_or_a_parse_error(body: bytes) -> None:
    try:
        feed = parse_feed(body)
    except ParseError as exc:
        assert str(exc).startswith("not a feed")
    else:
        assert isinstance(feed, ParsedFeed)


def _reads_as_double_encoded(text: str) -> bool:
    """Whether ``text`` is UTF-8 that was read as Latin-1 (``Âµ`` for ``µ``): feedparser
    decodes such text again, as the next test shows, so it does not come back as written."""
    try:
        return text.encode("iso-8859-1").decode("utf-8") != text
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False


_plain = st.text(
    alphabet=st.characters(
        categories=("Lu", "Ll", "Nd", "Zs"), max_codepoint=0x24F, exclude_characters="\u00a0"
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "" and not _reads_as_double_encoded(s))


def test_a_title_double_encoded_comes_back_repaired() -> None:
    """A feed in UTF-8 whose title was UTF-8 read as Latin-1 and encoded again (``Ã©tÃ©``):
    the title comes back as it was meant (feedparser's repair), and plain Latin-1 text does not
    change."""
    body = rss_with(
        "<item><title>Ã©tÃ© Âµ</title><guid>a</guid></item>"
        "<item><title>été µ</title><guid>b</guid></item>"
    )
    assert [e.title for e in parse_feed(body).entries] == ["été µ", "été µ"]
    assert _reads_as_double_encoded("Âµ") and not _reads_as_double_encoded("été µ")


@settings(max_examples=80, deadline=None)
@given(title=_plain, guid=st.text(alphabet="abcdefghij0123456789-", min_size=1, max_size=20))
def test_plain_titles_and_guids_come_back_as_written(title: str, guid: str) -> None:
    item = f'<title>{escape(title)}</title><guid isPermaLink="false">{escape(guid)}</guid>'
    body = rss_with(f"<item>{item}</item>")
    (entry,) = parse_feed(body).entries
    assert entry.title == title.strip()
    assert entry.guid == guid


# --- links, keys, caps and versions as real feeds write them -----------------------------------


def atom_with(entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Releases</title><id>tag:code.example,2008:releases</id>"
        f'<link rel="alternate" href="https://code.example/"/>{entries}</feed>'
    ).encode()


def test_atom_link_after_the_id_is_kept_even_when_relative() -> None:
    """An Atom entry's ``<id>`` before its ``<link>`` (as code hosts and many blogs write it)
    must not cost the entry its link, relative or absolute."""
    from monitor.normalize import normalize_entry

    body = atom_with(
        "<entry><id>tag:code.example,2008:Repository/7/v2.1.0</id>"
        '<updated>2024-06-01T10:00:00Z</updated><link rel="alternate" type="text/html" '
        'href="/owner/tool/releases/tag/v2.1.0"/><title>v2.1.0</title></entry>'
        "<entry><id>tag:code.example,2008:Repository/7/v2.0.0</id>"
        '<link rel="alternate" href="https://code.example/owner/tool/releases/tag/v2.0.0"/>'
        "<title>v2.0.0</title></entry>"
    )
    feed = parse_feed(body, url="https://code.example/owner/tool/releases.atom")
    assert [e.link for e in feed.entries] == [
        "/owner/tool/releases/tag/v2.1.0",
        "https://code.example/owner/tool/releases/tag/v2.0.0",
    ]
    urls = [
        normalize_entry(e, feed_url="https://code.example/x.atom", feed_link=feed.link).url
        for e in feed.entries
    ]
    assert urls == [
        "https://code.example/owner/tool/releases/tag/v2.1.0",
        "https://code.example/owner/tool/releases/tag/v2.0.0",
    ]


def test_atom_id_that_is_not_a_url_does_not_become_the_link() -> None:
    (entry,) = parse_feed(atom_with("<entry><id>urn:uuid:1</id><title>t</title></entry>")).entries
    assert (entry.guid, entry.link) == ("urn:uuid:1", None)


def test_feedburner_original_link_and_enclosure_fallback() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0" '
        b'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel><title>T</title>'
        b"<item><title>A</title><link>https://proxy.example/~r/x/1</link>"
        b"<feedburner:origLink>https://news.example/a</feedburner:origLink></item>"
        b'<item><enclosure url="https://cdn.example/ep1.mp3" type="audio/mpeg" length="1"/>'
        b"</item></channel></rss>"
    )
    assert [e.link for e in parse_feed(body).entries] == [
        "https://news.example/a",
        "https://cdn.example/ep1.mp3",
    ]


def test_entries_past_the_cap_are_counted() -> None:
    items = "".join(
        f'<item><title>n{i}</title><guid isPermaLink="false">{i}</guid></item>' for i in range(7)
    )
    capped = parse_feed(rss_with(items), max_entries=5)
    assert (len(capped.entries), capped.cut) == (5, 2)
    whole = parse_feed(rss_with(items))
    assert (len(whole.entries), whole.cut) == (7, 0)


def test_default_cap_is_generous() -> None:
    items = "".join(
        f'<item><title>n{i}</title><guid isPermaLink="false">{i}</guid></item>' for i in range(730)
    )
    feed = parse_feed(rss_with(items))
    assert (len(feed.entries), feed.cut) == (730, 0)


@pytest.mark.parametrize(
    "version",
    ["1", "1.0", "1.1", "https://jsonfeed.org/version/1", "https://jsonfeed.org/version/9"],
)
def test_json_feed_with_a_bare_version_number(version: str) -> None:
    body = json.dumps(
        {"version": version, "title": "Bare", "items": [{"id": "a", "url": "https://j.example/a"}]}
    ).encode()
    feed = parse_feed(body)
    assert [e.link for e in feed.entries] == ["https://j.example/a"]


@pytest.mark.parametrize("version", ["2.0", "", "jsonfeed", "https://jsonfeed.org/version/"])
def test_json_with_an_unknown_version_is_not_a_feed(version: str) -> None:
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(json.dumps({"version": version, "items": []}).encode())


def test_json_feed_values_of_the_wrong_type_count_as_absent() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": ["not a string"],
            "items": [
                {"id": 3.5, "title": 1000, "url": 1.2, "summary": True, "authors": "x"},
                {"id": "b", "title": "Fine", "authors": [{"name": 5}, {"name": "Ann"}]},
            ],
        }
    ).encode()
    feed = parse_feed(body)
    assert feed.title is None
    assert [(e.guid, e.title, e.link, e.summary, e.author) for e in feed.entries] == [
        ("3.5", "", None, "", None),
        ("b", "Fine", None, "", "Ann"),
    ]


def test_text_only_items_without_guid_link_or_title_stay_apart() -> None:
    """RSS 0.92 makes every item element optional: items that are only a description must be
    three items, not one key shared by all three."""
    from monitor.parse_pool import parse_for_store

    body = (
        b'<?xml version="1.0"?><rss version="0.92"><channel><title>Notes</title>'
        b"<link>https://notes.example/</link><description>d</description>"
        b"<item><description>First note about the review.</description></item>"
        b"<item><description>Second note, another topic.</description></item>"
        b"<item><description>Third note.</description></item></channel></rss>"
    )
    items, _, _ = parse_for_store(body, "https://notes.example/rss", None, None, utc(2024, 6, 4))
    assert len({i.key for i in items}) == 3


def test_atom_entry_document_is_a_feed_of_one_entry() -> None:
    body = (
        b'<?xml version="1.0"?><entry xmlns="http://www.w3.org/2005/Atom"><id>urn:spec:1</id>'
        b'<title>Specifications</title><link href="https://spec.example/1"/>'
        b"<updated>2024-06-04T00:00:00Z</updated></entry>"
    )
    (entry,) = parse_feed(body).entries
    assert (entry.title, entry.link) == ("Specifications", "https://spec.example/1")


@pytest.mark.parametrize(
    "date",
    [
        "Mon, 01 Jan 0001 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 -1200",
        "Sun, 01 Jan 1899 00:00:00 GMT",
        "Wed, 01 Jan 2200 00:00:00 GMT",
    ],
)
def test_an_impossible_publication_date_is_unknown(date: str) -> None:
    body = rss_with(f"<item><title>T</title><guid>g</guid><pubDate>{date}</pubDate></item>")
    [only] = parse_feed(body).entries
    assert only.published is None and only.updated is None


@pytest.mark.parametrize(
    "date", ["0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00"]
)
def test_an_impossible_json_feed_date_is_unknown(date: str) -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "items": [{"id": "1", "title": "T", "date_published": date}],
        }
    ).encode()
    [only] = parse_feed(body).entries
    assert only.published is None


def test_json_nested_too_deeply_is_not_a_feed() -> None:
    depth = 100_000
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_feed(b'{"a":' * depth + b"1" + b"}" * depth, content_type="application/json")
