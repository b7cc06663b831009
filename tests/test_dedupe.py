"""Tests for monitor.dedupe: new / changed / seen items, and how matches changed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.dedupe import MatchChanges, Triage, match_changes, triage
from monitor.model import SEVERITY_RANK, Item, Reason, TopicMatch


def item(key: str, content: str = "h", title: str = "") -> Item:
    return Item(
        key=key,
        feed_url="https://feeds.example/rss.xml",
        title=title or f"Title {key}",
        summary="",
        content_hash=content,
    )


def tm(topic: str, severity: str = "digest", score: float = 5.0) -> TopicMatch:
    reason = Reason(term=topic, field="title", position=0, weight=score, rule="any")
    return TopicMatch(topic=topic, score=score, severity=severity, reasons=(reason,))  # type: ignore[arg-type]


# --- triage ------------------------------------------------------------------------------------

TRIAGE_CASES: list[tuple[str, list[Item], dict[str, str], list[str], list[str], int]] = [
    # (why, items, stored key->hash, new keys, changed keys, seen)
    ("nothing", [], {}, [], [], 0),
    ("nothing stored", [item("a"), item("b")], {}, ["a", "b"], [], 0),
    ("all seen", [item("a", "1"), item("b", "2")], {"a": "1", "b": "2"}, [], [], 2),
    ("one changed", [item("a", "1"), item("b", "new")], {"a": "1", "b": "2"}, [], ["b"], 1),
    (
        "new, changed and seen",
        [item("n", "x"), item("c", "2b"), item("s", "3")],
        {"c": "2a", "s": "3", "other": "9"},
        ["n"],
        ["c"],
        1,
    ),
    ("stored items not in the feed are ignored", [item("a")], {"z": "h", "y": "h"}, ["a"], [], 0),
    ("a key repeated in one feed counts once", [item("a"), item("a"), item("a")], {}, ["a"], [], 0),
    (
        "a repeated seen key counts once",
        [item("a", "1"), item("a", "1")],
        {"a": "1"},
        [],
        [],
        1,
    ),
    (
        "the first of repeated keys wins (seen, then a changed copy)",
        [item("a", "1"), item("a", "2")],
        {"a": "1"},
        [],
        [],
        1,
    ),
    (
        "the first of repeated keys wins (changed, then a seen copy)",
        [item("a", "2"), item("a", "1")],
        {"a": "1"},
        [],
        ["a"],
        0,
    ),
    ("an empty stored hash still counts as stored", [item("a", "h")], {"a": ""}, [], ["a"], 0),
]


@pytest.mark.parametrize(
    ("why", "items", "stored", "new", "changed", "seen"),
    TRIAGE_CASES,
    ids=[c[0] for c in TRIAGE_CASES],
)
def test_triage(
    why: str,
    items: list[Item],
    stored: dict[str, str],
    new: list[str],
    changed: list[str],
    seen: int,
) -> None:
    result = triage(items, stored)
    assert isinstance(result, Triage)
    assert [i.key for i in result.new] == new
    assert [i.key for i in result.changed] == changed
    assert result.seen == seen


def test_triage_keeps_feed_order_and_the_first_copy() -> None:
    first = item("a", "1", title="first copy")
    items = [item("c"), first, item("b"), item("a", "1", title="second copy")]
    result = triage(items, {})
    assert [i.key for i in result.new] == ["c", "a", "b"]
    assert result.new[1] is first


def test_triage_accepts_a_generator() -> None:
    result = triage((item(k) for k in "abc"), {"b": "h"})
    assert ([i.key for i in result.new], result.seen) == (["a", "c"], 1)


_keys = st.sampled_from("abcdefgh")
_hashes = st.sampled_from(["h1", "h2", "h3"])


@given(
    st.lists(st.tuples(_keys, _hashes), max_size=20),
    st.dictionaries(_keys, _hashes, max_size=8),
)
def test_triage_partitions_the_distinct_keys(
    pairs: list[tuple[str, str]], stored: dict[str, str]
) -> None:
    result = triage([item(k, h) for k, h in pairs], stored)
    first: dict[str, str] = {}
    for k, h in pairs:
        first.setdefault(k, h)
    new = [i.key for i in result.new]
    changed = [i.key for i in result.changed]
    assert len(new) == len(set(new)) and len(changed) == len(set(changed))
    assert not set(new) & set(changed)
    assert len(new) + len(changed) + result.seen == len(first)
    assert set(new) == {k for k in first if k not in stored}
    assert set(changed) == {k for k, h in first.items() if k in stored and stored[k] != h}
    assert all(i.content_hash == first[i.key] for i in (*result.new, *result.changed))


# --- match_changes -----------------------------------------------------------------------------

CHANGE_CASES: list[
    tuple[str, dict[str, str], list[TopicMatch], list[str], list[str], list[str]]
] = [
    # (why, previous topic->severity, current, new, raised, refreshed)
    ("nothing before, nothing now", {}, [], [], [], []),
    ("first match", {}, [tm("norad")], ["norad"], [], []),
    ("first alert", {}, [tm("norad", "alert")], ["norad"], [], []),
    ("same severity again", {"norad": "digest"}, [tm("norad", "digest")], [], [], ["norad"]),
    ("alert again", {"norad": "alert"}, [tm("norad", "alert")], [], [], ["norad"]),
    ("digest raised to alert", {"norad": "digest"}, [tm("norad", "alert")], [], ["norad"], []),
    ("alert lowered to digest", {"norad": "alert"}, [tm("norad", "digest")], [], [], ["norad"]),
    (
        "a new topic next to a stored one",
        {"norad": "digest"},
        [tm("norad"), tm("five_eyes")],
        ["five_eyes"],
        [],
        ["norad"],
    ),
    # a topic that no longer matches keeps its stored match: it appears in no list
    (
        "topic dropped",
        {"norad": "alert", "tariffs": "digest"},
        [tm("tariffs")],
        [],
        [],
        ["tariffs"],
    ),
    ("every topic dropped", {"norad": "alert"}, [], [], [], []),
    (
        "all three at once, order kept",
        {"tariffs": "digest", "arctic_security": "digest"},
        [tm("border_security"), tm("arctic_security", "alert"), tm("tariffs")],
        ["border_security"],
        ["arctic_security"],
        ["tariffs"],
    ),
]


@pytest.mark.parametrize(
    ("why", "previous", "current", "new", "raised", "refreshed"),
    CHANGE_CASES,
    ids=[c[0] for c in CHANGE_CASES],
)
def test_match_changes(
    why: str,
    previous: dict[str, str],
    current: list[TopicMatch],
    new: list[str],
    raised: list[str],
    refreshed: list[str],
) -> None:
    result = match_changes(previous, current)
    assert isinstance(result, MatchChanges)
    assert [m.topic for m in result.new] == new
    assert [m.topic for m in result.raised] == raised
    assert [m.topic for m in result.refreshed] == refreshed


def test_match_changes_returns_the_current_matches_themselves() -> None:
    current = [tm("norad", "alert", 9.5), tm("tariffs", "digest", 3.0)]
    result = match_changes({"norad": "digest"}, current)
    assert result.raised == (current[0],)
    assert result.new == (current[1],)


_topics = st.sampled_from(["norad", "five_eyes", "tariffs", "defence_spending", "arctic_security"])
_severities = st.sampled_from(sorted(SEVERITY_RANK))


@given(
    st.dictionaries(_topics, _severities, max_size=5),
    st.dictionaries(_topics, _severities, max_size=5),
)
def test_match_changes_puts_each_current_match_in_exactly_one_place(
    previous: dict[str, str], now: dict[str, str]
) -> None:
    current = [tm(t, s) for t, s in now.items()]
    result = match_changes(previous, current)
    placed = [*result.new, *result.raised, *result.refreshed]
    assert sorted(m.topic for m in placed) == sorted(now)
    for m in result.new:
        assert m.topic not in previous
    for m in result.raised:
        assert SEVERITY_RANK[m.severity] > SEVERITY_RANK[previous[m.topic]]
    for m in result.refreshed:
        assert SEVERITY_RANK[m.severity] <= SEVERITY_RANK[previous[m.topic]]


def linked(key: str, url: str, content: str = "h") -> Item:
    return Item(
        key=key,
        feed_url="https://feeds.example/rss.xml",
        title=f"Title {key}",
        summary="",
        url=url,
        content_hash=content,
    )


def test_an_item_republished_under_a_new_guid_stays_the_stored_one() -> None:
    """A feed that changes an item's guid (its old guid gone from the document) but keeps its
    link republishes that item: seen when its text is the same, changed when amended, under
    the key it was first stored with; never a second item."""
    by_url = {"https://n.example/a": ("old-a", "h1"), "https://n.example/b": ("old-b", "h2")}
    result = triage(
        [
            linked("new-a", "https://n.example/a", "h1"),
            linked("new-b", "https://n.example/b", "h9"),
        ],
        {},
        by_url,
    )
    assert result.new == () and result.seen == 1
    assert [(i.key, i.content_hash) for i in result.changed] == [("old-b", "h9")]


def test_two_entries_sharing_a_link_are_not_taken_for_a_changed_guid() -> None:
    """While the stored key is still in the document, a new key with the same link is another
    entry (feeds whose items all link to their home page)."""
    home = "https://n.example/"
    result = triage(
        [linked("one", home, "h1"), linked("two", home, "h2")], {"one": "h1"}, {home: ("one", "h1")}
    )
    assert [i.key for i in result.new] == ["two"] and result.seen == 1
