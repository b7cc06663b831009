"""Tests for monitor.opml: reading, writing and planning the import of OPML subscription lists.
The documents were written for these tests."""

from __future__ import annotations

import pytest

from monitor.opml import OpmlError, OpmlFeed, plan_import, read_opml, write_opml

LIST = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Reader export</title></head>
  <body>
    <outline text="Defence" title="Defence">
      <outline type="rss" text="Desk" title="Defence Desk" xmlUrl="https://desk.example/rss"
               htmlUrl="https://desk.example/" language="en"/>
      <outline text="Nested group">
        <outline type="rss" text="Deep" xmlUrl="https://deep.example/atom"/>
      </outline>
    </outline>
    <outline type="rss" text="Top level" xmlUrl=" https://top.example/feed "/>
    <outline text="A folder with no feeds"/>
  </body>
</opml>
"""


def test_read_lists_every_feed_in_order_with_its_category() -> None:
    assert read_opml(LIST) == [
        OpmlFeed("https://desk.example/rss", "Defence Desk", "en", "Defence"),
        OpmlFeed("https://deep.example/atom", "Deep", None, "Nested group"),
        OpmlFeed("https://top.example/feed", "Top level", None, None),
    ]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<opml><body><outline", "not well-formed"),
        (b"<rss version='2.0'><channel/></rss>", "root element is <rss>"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
            b"<opml><body><outline text='&lol2;' xmlUrl='https://x.example/'/></body></opml>",
            "refused",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<opml><body><outline text='&x;' xmlUrl='https://x.example/'/></body></opml>",
            "refused",
        ),
    ],
    ids=["truncated", "not-opml", "no-body", "entity-expansion", "external-entity"],
)
def test_unreadable_lists_say_why(body: bytes, says: str) -> None:
    with pytest.raises(OpmlError, match=says):
        read_opml(body)


def test_plan_import_sorts_new_duplicate_and_invalid() -> None:
    listed = [
        OpmlFeed("https://a.example/rss", "A"),
        OpmlFeed("https://configured.example/rss", "Known"),
        OpmlFeed("feed://b.example/rss", "Odd scheme"),
        OpmlFeed("https://a.example/rss", "A again"),
        OpmlFeed("not a url", "Nonsense"),
    ]
    plan = plan_import(listed, ["https://configured.example/rss"])
    assert [f.url for f in plan.add] == ["https://a.example/rss"]
    assert [f.name for f in plan.duplicates] == ["Known", "A again"]
    assert [(f.name, "not an http(s) URL" in why) for f, why in plan.invalid] == [
        ("Odd scheme", True),
        ("Nonsense", True),
    ]


def test_write_then_read_gives_the_same_feeds() -> None:
    feeds = [
        OpmlFeed("https://a.example/rss?x=1&y=2", "A & B <news>", "en", "Wire"),
        OpmlFeed("https://c.example/atom", None, "fr", None),
        OpmlFeed("https://d.example/feed", "Désormais", None, "Wire"),
    ]
    body = write_opml(feeds)
    assert body.startswith(b"<?xml") and b'<opml version="2.0">' in body
    back = read_opml(body)
    assert sorted(back, key=lambda f: f.url) == sorted(
        [OpmlFeed(f.url, f.name or f.url, f.lang, f.category) for f in feeds],
        key=lambda f: f.url,
    )
