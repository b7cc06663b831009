"""Tests for monitor.normalize: plain text from HTML, item keys, content hashes, items."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.model import Entry, Item
from monitor.normalize import (
    MAX_SUMMARY,
    MAX_TITLE,
    content_hash,
    html_to_text,
    item_key,
    normalize_entry,
)
from monitor.stories import fingerprint

NOW = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example/defence/rss.xml"
FEED_LINK = "https://site.example/defence/"


def entry(**kw: object) -> Entry:
    values: dict[str, object] = {
        "guid": "guid-1",
        "link": "https://site.example/defence/norad-review",
        "title": "NORAD review enters second phase",
        "summary": "<p>Officials met in <b>Ottawa</b> on Tuesday.</p>",
        "published": NOW - timedelta(hours=2),
    }
    values.update(kw)
    return Entry(**values)  # type: ignore[arg-type]


# --- html_to_text: a table of cases ------------------------------------------------------------

HTML_CASES: list[tuple[str, str]] = [
    # tags
    ("", ""),
    ("plain text", "plain text"),
    ("<p>Hello <b>world</b></p>", "Hello world"),
    ('<a href="https://x.example/">Five Eyes</a> meet', "Five Eyes meet"),
    ("<img src='a.png' alt='radar'>Radar", "Radar"),
    ("<p>one</p><p>two</p>", "one\ntwo"),
    ("line<br>break<br/>again<BR />end", "line\nbreak\nagain\nend"),
    ("<ul><li>a</li><li>b</li></ul>", "a\nb"),
    ("<h2>Head</h2>Body", "Head\nBody"),
    # inline tags inside a word must not split it (scoring looks for whole words)
    ("<b>NOR</b>AD", "NORAD"),
    ('<a href="/c">Canada</a>\'s plan', "Canada's plan"),
    # dropped with their content
    ("<script>alert('x')</script>Text", "Text"),
    ('<SCRIPT type="text/javascript">var a = "<p>";</SCRIPT>ok', "ok"),
    ("<style>p { color: red }</style>Styled", "Styled"),
    ("<noscript>Enable JS</noscript>Shown", "Shown"),
    ("before<!-- a comment <b>x</b> -->after", "before after"),
    # entities
    ("Canada &amp; US", "Canada & US"),
    ("3 &lt; 5", "3 < 5"),
    ("&#233;t&eacute; &#x2014; &quot;q&quot;", 'été — "q"'),
    ("l&#8217;Arctique", "l\u2019Arctique"),
    ("x&nbsp;y", "x y"),
    ("AT&T and R&D", "AT&T and R&D"),
    ("5 > 3", "5 > 3"),
    # double escaping (the feed escaped its HTML twice) stays readable
    ("Canada &amp;amp; US", "Canada & US"),
    ("l&amp;#8217;Arctique", "l\u2019Arctique"),
    ("Tom &amp;amp;amp; Jerry", "Tom & Jerry"),
    # white space
    ("  a \t b  ", "a b"),
    ("a\n\n\n   b", "a\nb"),
    ("<p>a</p>\n\n<p>b</p>", "a\nb"),
    ("a\r\nb", "a\nb"),
    ("zero\u200bwidth", "zero width"),
    ("<p>   </p>", ""),
    # control characters
    ("a\x00b\x07c\x1fd\x7fe", "abcde"),
    ("tab\tkept as space", "tab kept as space"),
]


@pytest.mark.parametrize(("html", "expected"), HTML_CASES)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


LIMIT_CASES: list[tuple[str, int, str]] = [
    ("one two three four five six", 12, "one two…"),  # cut at a word boundary
    ("one two three", 13, "one two three"),  # exactly the limit: untouched
    ("one two three", 100, "one two three"),
    ("onetwothreefourfive", 5, "onetw…"),  # no space to cut at: cut hard
    ("a bcdefghijklmnop", 10, "a bcdefghi…"),  # the only space is too early: cut hard
    ("<p>one two</p><p>three four</p>", 9, "one two…"),
    ("word   word   word   word", 10, "word word…"),  # counted after white space is folded
]


@pytest.mark.parametrize(("html", "limit", "expected"), LIMIT_CASES)
def test_html_to_text_limit(html: str, limit: int, expected: str) -> None:
    assert html_to_text(html, limit=limit) == expected


# --- html_to_text: properties ------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<b>",
        "</b>",
        "<br>",
        "<script>x()</script>",
        "<!-- c -->",
        "&amp;",
        "&lt;",
        "&gt;",
        "&#38;",
        "&#233;",
        "&nbsp;",
        "&eacute",
        "amp;",
        "lt;",
        "<",
        ">",
        "&",
        " ",
        "\n",
        "\t",
        "\x00",
        "NORAD",
        "Arctique",
        "…",
    ]
)
_HTMLISH = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(_FRAGMENTS, st.text(max_size=4)), max_size=25).map("".join),
)


@settings(max_examples=300)
@given(_HTMLISH, st.one_of(st.none(), st.integers(min_value=1, max_value=60)))
def test_html_to_text_never_raises_and_is_clean(value: str, limit: int | None) -> None:
    out = html_to_text(value, limit=limit)
    assert isinstance(out, str)
    assert out == out.strip()
    assert "  " not in out
    assert not any(c in out for c in "\x00\x07\x1f\x7f\t\r")
    if limit is not None:
        assert len(out) <= limit + 1


@settings(max_examples=300)
@given(
    _HTMLISH.filter(lambda s: "<" not in s),
    st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
)
def test_html_to_text_of_tag_free_input_is_never_longer(value: str, limit: int | None) -> None:
    assert len(html_to_text(value, limit=limit)) <= len(value) + 1


@settings(max_examples=300)
@given(_HTMLISH)
@example("Canada &amp;amp; US")
@example("&lt;b&gt;bold&lt;/b&gt;")
def test_html_to_text_is_idempotent_on_its_output(value: str) -> None:
    once = html_to_text(value)
    assert html_to_text(once) == once


# --- item_key ----------------------------------------------------------------------------------

SAME_KEY: list[tuple[str, Entry, Entry]] = [
    (
        "guid wins over everything else",
        entry(guid="g1"),
        entry(guid="g1", link="https://other.example/", title="Edited", published=None),
    ),
    (
        "link when there is no guid",
        entry(guid=None, link="https://site.example/a"),
        entry(guid=None, link="https://site.example/a", title="Edited title"),
    ),
    (
        "title and date when there is neither",
        entry(guid=None, link=None, summary="first"),
        entry(guid=None, link=None, summary="second"),
    ),
]

DIFFERENT_KEY: list[tuple[str, Entry, Entry]] = [
    ("different guids", entry(guid="g1"), entry(guid="g2")),
    (
        "different links without guid",
        entry(guid=None, link="https://site.example/a"),
        entry(guid=None, link="https://site.example/b"),
    ),
    (
        "different titles without guid or link",
        entry(guid=None, link=None, title="One"),
        entry(guid=None, link=None, title="Two"),
    ),
    (
        "different dates without guid or link",
        entry(guid=None, link=None),
        entry(guid=None, link=None, published=NOW - timedelta(days=1)),
    ),
    (
        "a date and no date",
        entry(guid=None, link=None),
        entry(guid=None, link=None, published=None),
    ),
    (
        "a guid equal to another entry's link",
        entry(guid="https://site.example/a", link=None),
        entry(guid=None, link="https://site.example/a"),
    ),
    (
        "a guid equal to another entry's title",
        entry(guid="Same words", link=None),
        entry(guid=None, link=None, title="Same words", published=None),
    ),
    (
        "different texts with no guid, link or title (RSS 0.92 items may be only text)",
        entry(guid=None, link=None, title="", summary="First note", published=None),
        entry(guid=None, link=None, title="", summary="Second note", published=None),
    ),
]


@pytest.mark.parametrize(("why", "a", "b"), SAME_KEY, ids=[c[0] for c in SAME_KEY])
def test_item_key_same(why: str, a: Entry, b: Entry) -> None:
    assert item_key(a) == item_key(b)


@pytest.mark.parametrize(("why", "a", "b"), DIFFERENT_KEY, ids=[c[0] for c in DIFFERENT_KEY])
def test_item_key_different(why: str, a: Entry, b: Entry) -> None:
    assert item_key(a) != item_key(b)


def test_item_key_handles_lone_surrogates_and_long_text() -> None:
    odd = entry(guid="\ud800broken", title="x" * 100_000)
    assert item_key(odd) == item_key(odd)
    assert item_key(odd) != item_key(entry(guid="broken"))


_KEY_SCRIPT = """
from datetime import datetime, timezone
from monitor.model import Entry
from monitor.normalize import item_key, content_hash
when = datetime(2024, 6, 4, 10, 0, tzinfo=timezone.utc)
print(item_key(Entry(guid="g-\\u00e9", link=None, title="t", summary="")))
print(item_key(Entry(guid=None, link="https://site.example/a", title="t", summary="")))
print(item_key(Entry(guid=None, link=None, title="Tarifs", summary="", published=when)))
print(content_hash("Titre", "R\\u00e9sum\\u00e9", "https://site.example/a"))
"""


def test_item_key_and_content_hash_are_stable_across_runs() -> None:
    when = datetime(2024, 6, 4, 10, 0, tzinfo=UTC)
    here = [
        item_key(Entry(guid="g-é", link=None, title="t", summary="")),
        item_key(Entry(guid=None, link="https://site.example/a", title="t", summary="")),
        item_key(Entry(guid=None, link=None, title="Tarifs", summary="", published=when)),
        content_hash("Titre", "Résumé", "https://site.example/a"),
    ]
    root = Path(__file__).resolve().parent.parent
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        out = subprocess.run(
            [sys.executable, "-c", _KEY_SCRIPT],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert out == here


# --- content_hash ------------------------------------------------------------------------------

_field_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x1f"), max_size=30
)


@given(_field_text, _field_text, st.one_of(st.none(), _field_text))
def test_content_hash_is_a_function_of_its_inputs(
    title: str, summary: str, url: str | None
) -> None:
    assert content_hash(title, summary, url) == content_hash(title, summary, url)


@given(
    st.tuples(_field_text, _field_text, st.one_of(st.none(), _field_text.filter(bool))),
    st.tuples(_field_text, _field_text, st.one_of(st.none(), _field_text.filter(bool))),
)
def test_content_hash_changes_with_any_field(
    a: tuple[str, str, str | None], b: tuple[str, str, str | None]
) -> None:
    if a == b:
        assert content_hash(*a) == content_hash(*b)
    else:
        assert content_hash(*a) != content_hash(*b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Title", "Summary", "https://x.example/a"), ("Title", "Summary", "https://x.example/b")),
        (("Title", "Summary", None), ("Title", "Summary", "https://x.example/a")),
        (("Title", "Summary", None), ("Title", "Summary.", None)),
        (("Title", "Summary", None), ("title", "Summary", None)),
        # the separator between fields cannot be shifted from one field to the next
        (("ab", "c", None), ("a", "bc", None)),
        (("a", "", "b"), ("a", "b", None)),
    ],
)
def test_content_hash_distinguishes(
    a: tuple[str, str, str | None], b: tuple[str, str, str | None]
) -> None:
    assert content_hash(*a) != content_hash(*b)


UNCHANGED_CONTENT: list[tuple[str, dict[str, object]]] = [
    ("another publication date", {"published": NOW - timedelta(days=3)}),
    ("another guid", {"guid": "guid-2"}),
    ("an author added", {"author": "Jane Roe"}),
    (
        "a tracking parameter on the link",
        {"link": "https://site.example/defence/norad-review?utm_source=rss"},
    ),
    ("a fragment on the link", {"link": "https://site.example/defence/norad-review#comments"}),
    ("markup only", {"title": "<b>NORAD review</b> enters second phase"}),
    ("white space only", {"summary": "<p>Officials met in  <b>Ottawa</b>\n on Tuesday.</p>"}),
]

CHANGED_CONTENT: list[tuple[str, dict[str, object]]] = [
    ("title edited", {"title": "NORAD review enters third phase"}),
    ("summary edited", {"summary": "<p>Officials met in Washington on Tuesday.</p>"}),
    ("link moved", {"link": "https://site.example/defence/norad-review-2"}),
    ("link removed", {"link": None, "guid": "not-a-url"}),
]


@pytest.mark.parametrize(
    ("why", "change"), UNCHANGED_CONTENT, ids=[c[0] for c in UNCHANGED_CONTENT]
)
def test_content_hash_of_items_ignores(why: str, change: dict[str, object]) -> None:
    before = normalize_entry(entry(), feed_url=FEED_URL, now=NOW)
    after = normalize_entry(entry(**change), feed_url=FEED_URL, now=NOW)
    assert before.content_hash == after.content_hash


@pytest.mark.parametrize(("why", "change"), CHANGED_CONTENT, ids=[c[0] for c in CHANGED_CONTENT])
def test_content_hash_of_items_notices(why: str, change: dict[str, object]) -> None:
    before = normalize_entry(entry(), feed_url=FEED_URL, now=NOW)
    after = normalize_entry(entry(**change), feed_url=FEED_URL, now=NOW)
    assert before.content_hash != after.content_hash


# --- normalize_entry ---------------------------------------------------------------------------


def test_normalize_entry_fields() -> None:
    raw = entry(author=" <i>Jane Roe</i> ", source="Example &amp; Press")
    item = normalize_entry(raw, feed_url=FEED_URL, feed_link=FEED_LINK, lang="fr", now=NOW)
    assert isinstance(item, Item)
    assert item.key == item_key(raw)
    assert item.feed_url == FEED_URL
    assert item.title == "NORAD review enters second phase"
    assert item.summary == "Officials met in Ottawa on Tuesday."
    assert item.url == "https://site.example/defence/norad-review"
    assert item.link == raw.link
    assert item.published == raw.published
    assert item.author == "Jane Roe"
    assert item.source == "Example & Press"
    assert item.lang == "fr"
    assert item.content_hash == content_hash(item.title, item.summary, item.url)
    assert item.fingerprint == fingerprint(item.title, item.summary)


URL_CASES: list[tuple[str | None, str | None, str | None, str | None]] = [
    # (link, guid, feed_link, expected url)
    (
        "https://other.example/x?utm_source=rss&id=1&fbclid=abc#top",
        None,
        FEED_LINK,
        "https://other.example/x?id=1",
    ),
    ("/news/1?utm_medium=feed", None, FEED_LINK, "https://site.example/news/1"),
    ("story.html", None, FEED_LINK, "https://site.example/defence/story.html"),
    ("../world/a", None, FEED_LINK, "https://site.example/world/a"),
    ("//cdn.example/y", None, FEED_LINK, "https://cdn.example/y"),
    # without a feed link, relative links resolve against the feed's own URL
    ("story.html", None, None, "https://feeds.example/defence/story.html"),
    ("HTTPS://Site.Example:443/A", None, FEED_LINK, "https://site.example/A"),
    # links that are not web pages
    ("mailto:desk@site.example", None, FEED_LINK, None),
    ("javascript:alert(1)", None, FEED_LINK, None),
    # no link: an http(s) guid stands in for it, an opaque one does not
    (None, "https://site.example/p/7?gclid=zz", FEED_LINK, "https://site.example/p/7"),
    (None, "tag:site.example,2024:7", FEED_LINK, None),
    (None, "12345", FEED_LINK, None),
    (None, None, FEED_LINK, None),
]


@pytest.mark.parametrize(("link", "guid", "feed_link", "expected"), URL_CASES)
def test_normalize_entry_url(
    link: str | None, guid: str | None, feed_link: str | None, expected: str | None
) -> None:
    item = normalize_entry(entry(link=link, guid=guid), feed_url=FEED_URL, feed_link=feed_link)
    assert item.url == expected
    assert item.link == link  # the link as the feed gave it is kept


DATE_CASES: list[tuple[str, datetime | None, datetime | None, datetime | None]] = [
    ("past date kept", NOW - timedelta(days=1), NOW, NOW - timedelta(days=1)),
    ("now kept", NOW, NOW, NOW),
    ("a second ahead clamped", NOW + timedelta(seconds=1), NOW, NOW),
    ("a year ahead clamped", NOW + timedelta(days=365), NOW, NOW),
    ("no date stays none", None, NOW, None),
    ("no clock: not clamped", NOW + timedelta(days=1), None, NOW + timedelta(days=1)),
]


@pytest.mark.parametrize(
    ("why", "published", "now", "expected"), DATE_CASES, ids=[c[0] for c in DATE_CASES]
)
def test_normalize_entry_future_dates_are_clamped(
    why: str, published: datetime | None, now: datetime | None, expected: datetime | None
) -> None:
    item = normalize_entry(entry(published=published), feed_url=FEED_URL, now=now)
    assert item.published == expected


TITLE_CASES: list[tuple[str, dict[str, object], str]] = [
    ("title kept", {}, "NORAD review enters second phase"),
    ("markup stripped", {"title": "<b>Five</b> Eyes"}, "Five Eyes"),
    ("empty title: the summary", {"title": ""}, "Officials met in Ottawa on Tuesday."),
    ("markup-only title: the summary", {"title": "<br/> "}, "Officials met in Ottawa on Tuesday."),
    (
        "empty title and summary: the URL",
        {"title": "", "summary": ""},
        "https://site.example/defence/norad-review",
    ),
    ("nothing at all", {"title": "", "summary": "", "link": None, "guid": "x"}, "(untitled)"),
]


@pytest.mark.parametrize(
    ("why", "change", "expected"), TITLE_CASES, ids=[c[0] for c in TITLE_CASES]
)
def test_normalize_entry_title_fallback(why: str, change: dict[str, object], expected: str) -> None:
    assert normalize_entry(entry(**change), feed_url=FEED_URL).title == expected


def test_title_from_a_long_summary_is_short() -> None:
    summary = " ".join(["tariff"] * 200)
    item = normalize_entry(entry(title="", summary=summary), feed_url=FEED_URL)
    assert 0 < len(item.title) <= 121
    assert summary.startswith(item.title.rstrip("…"))


def test_title_and_summary_are_limited() -> None:
    long_words = " ".join(["defence"] * 2000)
    item = normalize_entry(entry(title=long_words, summary=long_words), feed_url=FEED_URL)
    assert len(item.title) <= MAX_TITLE + 1
    assert len(item.summary) <= MAX_SUMMARY + 1
    assert item.title.endswith("…") and item.summary.endswith("…")


def test_normalize_entry_is_deterministic() -> None:
    raw = entry(author="A", source="S")
    assert normalize_entry(raw, feed_url=FEED_URL, now=NOW) == normalize_entry(
        replace(raw), feed_url=FEED_URL, now=NOW
    )


def test_items_and_signatures_survive_pickling_whole() -> None:
    """Items and signatures cross from the parse workers by pickle, through a hand-written
    ``__reduce__``: every field must come back (a field added to the class and not to the
    reduction would be lost here)."""
    import dataclasses
    import pickle

    from monitor.stories import StorySignature, signature

    values: dict[str, object] = {}
    for n, f in enumerate(dataclasses.fields(Item)):
        if f.name == "published":
            values[f.name] = datetime(2024, 6, 4, 13, 30, tzinfo=UTC)
        elif f.name == "fingerprint":
            values[f.name] = 2**62 + 7
        else:
            values[f.name] = f"{f.name}-{n}"
    item = Item(**values)  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(item)) == item
    assert all(getattr(item, name) == value for name, value in values.items())

    sig = signature("NORAD review", "Officials from both countries met in Ottawa on Tuesday.")
    copy = pickle.loads(pickle.dumps(sig))
    assert isinstance(copy, StorySignature)
    assert (copy.hashes, copy.size) == (sig.hashes, sig.size) and copy.size > 0
