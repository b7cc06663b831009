"""The offline demo feeds shipped in ``monitor/demo/`` are valid feeds that say what they claim.

Reads the package data through ``importlib.resources`` (as the demo command will) and parses
every feed with feedparser from a byte stream.
"""

from __future__ import annotations

import calendar
import io
from datetime import UTC, datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import combinations
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import pytest

from monitor.yamlparse import parse_yaml

DEMO: Traversable = files("monitor").joinpath("demo")

# file -> (entries, feedparser format, declared language)
EXPECTED: dict[str, tuple[int, str, str]] = {
    "capital_report.xml": (8, "rss20", "en"),
    "northern_ledger.xml": (7, "atom10", "en"),
    "defence_desk.xml": (7, "rss20", "en"),
    "quotidien_du_nord.xml": (8, "atom10", "fr"),
    "prairie_evening.xml": (6, "rss20", "en"),
}

# The demo is offline and dated: every item falls in the last two weeks of November 2026.
WINDOW_START = datetime(2026, 11, 16, tzinfo=UTC)
WINDOW_END = datetime(2026, 12, 1, 12, tzinfo=UTC)

TRACKING_PREFIXES = ("utm_",)
TRACKING_KEYS = {"fbclid", "gclid", "mc_cid", "mc_eid"}


def _listing() -> list[dict[str, Any]]:
    text = DEMO.joinpath("demo.yaml").read_text(encoding="utf-8")
    doc, problems = parse_yaml(text, "monitor/demo/demo.yaml")
    assert not problems, problems
    assert doc is not None
    feeds = doc.data.get("feeds")
    assert isinstance(feeds, list), "demo.yaml must have a top-level 'feeds:' list"
    return feeds


def _parse(name: str) -> Any:
    return feedparser.parse(io.BytesIO(DEMO.joinpath(name).read_bytes()))


def _without_tracking(url: str) -> str:
    parts = urlsplit(url)
    kept = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(TRACKING_PREFIXES) and k.lower() not in TRACKING_KEYS
    ]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _all_entries() -> list[tuple[str, Any]]:
    return [(name, entry) for name in EXPECTED for entry in _parse(name).entries]


def test_demo_yaml_lists_every_feed_file_once() -> None:
    listed = [feed["file"] for feed in _listing()]
    on_disk = sorted(p.name for p in DEMO.iterdir() if p.name.endswith(".xml"))
    assert sorted(listed) == on_disk
    assert len(set(listed)) == len(listed)
    assert set(listed) == set(EXPECTED)


def test_demo_yaml_entries_have_name_and_known_language() -> None:
    names = []
    for feed in _listing():
        assert set(feed) == {"file", "name", "lang"}, feed
        assert isinstance(feed["name"], str) and feed["name"].strip(), feed
        assert feed["lang"] in {"en", "fr"}, feed
        assert feed["lang"] == EXPECTED[feed["file"]][2], feed
        names.append(feed["name"])
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_feed_parses_cleanly_with_expected_shape(name: str) -> None:
    count, version, lang = EXPECTED[name]
    parsed = _parse(name)
    assert not parsed.bozo, f"{name}: {parsed.get('bozo_exception')}"
    assert parsed.version == version
    assert len(parsed.entries) == count
    assert parsed.feed.get("title")
    assert str(parsed.feed.get("language", "")).lower().split("-")[0] == lang


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_entry_is_complete_and_dated_in_the_demo_window(name: str) -> None:
    for entry in _parse(name).entries:
        where = f"{name}: {entry.get('title')!r}"
        assert entry.get("title"), where
        assert entry.get("id"), where
        link = urlsplit(entry.get("link", ""))
        assert link.scheme == "https", where
        assert link.hostname is not None and link.hostname.split(".")[-2] == "example", where
        assert len(entry.get("summary", "")) >= 120, where
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        assert stamp is not None, where
        when = datetime.fromtimestamp(calendar.timegm(stamp), UTC)
        assert WINDOW_START <= when <= WINDOW_END, where


def test_entry_ids_are_unique_across_feeds() -> None:
    ids = [entry.id for _, entry in _all_entries()]
    assert len(ids) == len(set(ids))


def test_demo_covers_both_formats_and_languages_with_about_35_items() -> None:
    assert {version for _, version, _ in EXPECTED.values()} == {"rss20", "atom10"}
    assert {lang for _, _, lang in EXPECTED.values()} == {"en", "fr"}
    assert 30 <= len(_all_entries()) <= 40


def test_one_story_is_syndicated_with_only_tracking_parameters_differing() -> None:
    pairs = [
        (a, b)
        for a, b in combinations(_all_entries(), 2)
        if a[0] != b[0]
        and a[1].link != b[1].link
        and _without_tracking(a[1].link) == _without_tracking(b[1].link)
    ]
    assert len(pairs) == 1, pairs
    (_, first), (_, second) = pairs[0]
    assert first.title != second.title
    assert first.id != second.id


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/x?utm_source=s&utm_medium=rss", "https://a.example/x"),
        ("https://a.example/x?id=3&utm_campaign=c", "https://a.example/x?id=3"),
        ("https://a.example/x?fbclid=z", "https://a.example/x"),
        ("https://a.example/x?page=2", "https://a.example/x?page=2"),
    ],
)
def test_tracking_parameter_stripping_used_above(url: str, expected: str) -> None:
    assert _without_tracking(url) == expected
