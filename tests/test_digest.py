"""Tests for monitor.digest: grouping stories, keys, and the outbox JSON form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.digest import (
    alert_key,
    build_digest,
    by_topic,
    digest_from_json,
    digest_key,
    digest_to_json,
    group_stories,
)
from monitor.model import SEVERITY_RANK, Digest, DigestEntry, MatchRecord, Reason

T0 = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)
TORONTO_SUMMER = timezone(timedelta(hours=-4))


def rec(
    id: int,
    *,
    item_id: int | None = None,
    feed: str | None = "CBC",
    feed_url: str | None = None,
    topic: str = "norad",
    score: float = 5.0,
    severity: str = "digest",
    story: str | None = None,
    event: str | None = None,
    matched_at: datetime = T0,
    published: datetime | None = None,
    also_in: tuple[str, ...] = (),
    urgent: bool = False,
) -> MatchRecord:
    return MatchRecord(
        id=id,
        item_id=item_id if item_id is not None else 1000 + id,
        feed_url=feed_url or f"https://feeds.example/{(feed or 'x').lower()}.xml",
        feed_name=feed,
        url=f"https://news.example/{id}",
        title=f"Story {id}",
        summary=f"Summary of story {id}",
        published=published,
        topic=topic,
        score=score,
        severity=severity,
        reasons=(Reason(term="NORAD", field="title", position=0, weight=score, rule="norad"),),
        matched_at=matched_at,
        story=story,
        event=event,
        also_in=also_in,
        urgent=urgent,
    )


# --- group_stories -----------------------------------------------------------------------------


def test_copies_of_one_story_are_one_entry_led_by_the_best_score() -> None:
    copies = [
        rec(1, feed="CBC", score=5.0, story="s1"),
        rec(2, feed="Canadian Press", score=8.0, story="s1", matched_at=T0 + timedelta(minutes=1)),
        rec(3, feed="Globe", score=8.0, story="s1", matched_at=T0 + timedelta(minutes=5)),
    ]
    (entry,) = group_stories(copies)
    assert entry.lead.id == 2  # best score; of the two best, the earliest
    assert entry.match_ids == (1, 2, 3)
    assert entry.topics == ("norad",)
    assert sorted(entry.also_in) == ["CBC", "Globe"]


def test_lead_ties_broken_by_earliest_then_lowest_id() -> None:
    same = [rec(7, story="s", feed="A"), rec(3, story="s", feed="B"), rec(5, story="s", feed="C")]
    assert group_stories(same)[0].lead.id == 3
    later = [rec(1, story="s", matched_at=T0 + timedelta(hours=1)), rec(9, story="s", feed="D")]
    assert group_stories(later)[0].lead.id == 9


def test_also_in_is_merged_without_duplicates_or_the_leads_own_feed() -> None:
    copies = [
        rec(1, feed="CBC", score=9.0, story="s", also_in=("Toronto Star", "Canadian Press")),
        rec(2, feed="Canadian Press", score=4.0, story="s", also_in=("CBC", "Le Devoir")),
        rec(3, feed="Le Devoir", score=3.0, story="s", also_in=("Toronto Star",)),
    ]
    (entry,) = group_stories(copies)
    assert entry.lead.feed_name == "CBC"
    assert "CBC" not in entry.also_in
    assert len(entry.also_in) == len(set(entry.also_in))
    assert set(entry.also_in) == {"Toronto Star", "Canadian Press", "Le Devoir"}


def test_also_in_names_feeds_without_a_name_by_url() -> None:
    copies = [
        rec(1, feed=None, feed_url="https://a.example/rss", score=9.0, story="s"),
        rec(2, feed=None, feed_url="https://b.example/rss", score=1.0, story="s"),
    ]
    (entry,) = group_stories(copies)
    assert entry.also_in == ("https://b.example/rss",)


def test_a_higher_severity_copy_leads_and_also_in_follows_the_lead() -> None:
    # The digest-severity copy scores higher, but the alert copy must lead the entry; "also in"
    # then lists the other outlet, never the lead's own.
    copies = [
        rec(1, feed="CBC", score=9.0, severity="digest", story="s"),
        rec(2, feed="Canadian Press", score=5.0, severity="alert", story="s"),
    ]
    (entry,) = group_stories(copies)
    assert entry.lead.id == 2
    assert entry.lead.severity == "alert"
    assert entry.also_in == ("CBC",)


def test_matches_of_one_item_under_several_topics_are_one_entry() -> None:
    item_matches = [
        rec(1, item_id=50, topic="tariffs", score=3.0),
        rec(2, item_id=50, topic="norad", score=7.0),
        rec(3, item_id=50, topic="five_eyes", score=5.0),
    ]
    (entry,) = group_stories(item_matches)
    assert entry.lead.topic == "norad"
    assert entry.topics == ("norad", "five_eyes", "tariffs")  # best score first
    assert entry.also_in == ()  # one outlet only
    assert entry.match_ids == (1, 2, 3)


def test_different_items_without_a_story_stay_apart() -> None:
    entries = group_stories([rec(1, item_id=1), rec(2, item_id=2)])
    assert sorted(e.lead.id for e in entries) == [1, 2]


ORDER_CASES: list[tuple[str, list[MatchRecord], list[int]]] = [
    (
        "severity first",
        [rec(1, score=9.0), rec(2, score=1.0, severity="alert")],
        [2, 1],
    ),
    ("then score", [rec(1, score=3.0), rec(2, score=8.0), rec(3, score=5.0)], [2, 3, 1]),
    (
        "then time, newest first",
        [
            rec(1, matched_at=T0),
            rec(2, matched_at=T0 + timedelta(hours=2)),
            rec(3, matched_at=T0 + timedelta(hours=1)),
        ],
        [2, 3, 1],
    ),
    (
        "publication time before match time",
        [
            rec(1, matched_at=T0 + timedelta(hours=5), published=T0 - timedelta(days=1)),
            rec(2, matched_at=T0, published=T0),
        ],
        [2, 1],
    ),
    (
        "all three",
        [
            rec(1, score=9.0),
            rec(2, score=2.0, severity="alert", matched_at=T0 - timedelta(hours=1)),
            rec(3, score=2.0, severity="alert"),
            rec(4, score=9.5),
        ],
        [3, 2, 4, 1],
    ),
]


@pytest.mark.parametrize(
    ("why", "matches", "expected"), ORDER_CASES, ids=[c[0] for c in ORDER_CASES]
)
def test_entries_are_ordered(why: str, matches: list[MatchRecord], expected: list[int]) -> None:
    assert [e.lead.id for e in group_stories(matches)] == expected


def test_reports_of_one_event_are_one_entry_listing_every_outlet() -> None:
    """Two stories (no copies of each other) of one event: one entry, the other outlets listed;
    an item of another event, or without one, stays apart."""
    entries = group_stories(
        [
            rec(1, feed="CBC", story="s1", event="e1", score=6.0),
            rec(2, feed="Globe", story="s2", event="e1", also_in=("CTV",)),
            rec(3, feed="Le Devoir", story="s3", event="e2"),
            rec(4, feed="Radio Nord", story="s4"),
        ]
    )
    assert [(e.lead.id, e.also_in) for e in entries] == [
        (1, ("Globe", "CTV")),
        (3, ()),
        (4, ()),
    ]
    assert entries[0].match_ids == (1, 2)


def test_a_digest_groups_entries_by_topic_most_important_first() -> None:
    matches = [
        rec(1, topic="tariffs", score=3.0),
        rec(2, topic="norad", score=9.0),
        rec(3, topic="tariffs", score=8.0),
        rec(4, topic="norad", score=1.0),
        rec(5, topic="five_eyes", score=5.0),
    ]
    d = build_digest("c", matches, window_start=W0, window_end=W1)
    assert [e.lead.id for e in d.entries] == [2, 4, 3, 1, 5]
    # max_items keeps the most important whatever their topic, then groups them
    d = build_digest("c", matches, window_start=W0, window_end=W1, max_items=3)
    assert [e.lead.id for e in d.entries] == [2, 3, 5]
    assert by_topic([]) == []


def test_group_stories_of_nothing() -> None:
    assert group_stories([]) == []


_feeds = st.sampled_from(["CBC", "Canadian Press", "Globe", "Le Devoir", None])
_match_args = st.fixed_dictionaries(
    {
        "item_id": st.integers(min_value=1, max_value=6),
        "feed": _feeds,
        "topic": st.sampled_from(["norad", "tariffs", "five_eyes"]),
        "score": st.floats(min_value=0, max_value=20, allow_nan=False),
        "severity": st.sampled_from(sorted(SEVERITY_RANK)),
        "story": st.sampled_from([None, "s1", "s2"]),
        "matched_at": st.integers(min_value=0, max_value=10_000).map(
            lambda s: T0 + timedelta(seconds=s)
        ),
        "also_in": st.lists(_feeds.filter(bool), max_size=3).map(tuple),
    }
)


@settings(max_examples=200)
@given(st.lists(_match_args, max_size=12))
def test_group_stories_properties(args: list[dict[str, object]]) -> None:
    matches = [rec(i + 1, **kw) for i, kw in enumerate(args)]  # type: ignore[arg-type]
    entries = group_stories(matches)
    ids = [i for e in entries for i in e.match_ids]
    assert sorted(ids) == [m.id for m in matches]  # every match in exactly one entry
    by_id = {m.id: m for m in matches}
    groups = {m.story or f"item:{m.item_id}" for m in matches}
    assert len(entries) == len(groups)
    for e in entries:
        members = [by_id[i] for i in e.match_ids]
        assert e.lead in members
        assert len({m.story or f"item:{m.item_id}" for m in members}) == 1
        best = max(SEVERITY_RANK[m.severity] for m in members)
        assert SEVERITY_RANK[e.lead.severity] == best
        assert e.lead.score == max(m.score for m in members if SEVERITY_RANK[m.severity] == best)
        assert set(e.topics) == {m.topic for m in members}
        assert len(e.also_in) == len(set(e.also_in))
        assert (e.lead.feed_name or e.lead.feed_url) not in e.also_in
        outlets = {m.feed_name or m.feed_url for m in members} | {
            n for m in members for n in m.also_in
        }
        assert set(e.also_in) == outlets - {e.lead.feed_name or e.lead.feed_url}
    keys = [(-SEVERITY_RANK[e.lead.severity], -e.lead.score) for e in entries]
    assert keys == sorted(keys)


# --- keys --------------------------------------------------------------------------------------

W0 = datetime(2024, 6, 4, 8, 0, tzinfo=UTC)
W1 = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)


def test_digest_key_is_stable() -> None:
    assert digest_key("team-slack", "digest", W1) == digest_key("team-slack", "digest", W1)
    assert digest_key("team-slack", "digest", W1).startswith("digest-")


@pytest.mark.parametrize(
    "other",
    [
        ("analysts", "digest", W1),
        ("team-slack", "alert", W1),
        ("team-slack", "digest", W1 + timedelta(seconds=1)),
        ("team-slack", "digest", W1 + timedelta(hours=4)),  # the next window
    ],
    ids=["channel", "kind", "end", "next-window"],
)
def test_digest_key_is_distinct_per_channel_and_window(other: tuple[str, str, datetime]) -> None:
    assert digest_key("team-slack", "digest", W1) != digest_key(*other)


def test_digest_key_depends_on_the_instant_not_how_it_is_written() -> None:
    # One worker may hold the window in UTC, another in the channel's zone (a PostgreSQL
    # session's time zone does that): the same window must give the same key on both.
    local = W1.astimezone(TORONTO_SUMMER)
    assert digest_key("team-slack", "digest", local) == digest_key("team-slack", "digest", W1)


_KEY_SCRIPT = """
from datetime import datetime, timezone
from monitor.digest import alert_key, digest_key
w1 = datetime(2024, 6, 4, 12, 0, tzinfo=timezone.utc)
print(digest_key("team-slack", "digest", w1))
print(alert_key("ops-hook", [3, 1, 2]))
"""


def test_keys_are_the_same_in_every_process() -> None:
    root = Path(__file__).resolve().parent.parent
    here = [digest_key("team-slack", "digest", W1), alert_key("ops-hook", [3, 1, 2])]
    for seed in ("0", "987"):
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


@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=20, unique=True))
def test_alert_key_does_not_depend_on_order(ids: list[int]) -> None:
    assert alert_key("ops-hook", ids) == alert_key("ops-hook", list(reversed(ids)))
    assert alert_key("ops-hook", ids) == alert_key("ops-hook", sorted(ids))
    assert alert_key("ops-hook", ids).startswith("alert-")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("ops-hook", [1, 2]), ("team-slack", [1, 2])),
        (("ops-hook", [1, 2]), ("ops-hook", [1, 2, 3])),
        (("ops-hook", [1, 2]), ("ops-hook", [12])),
        (("ops-hook", [12, 3]), ("ops-hook", [1, 23])),
    ],
)
def test_alert_key_is_distinct(a: tuple[str, list[int]], b: tuple[str, list[int]]) -> None:
    assert alert_key(*a) != alert_key(*b)


# --- build_digest ------------------------------------------------------------------------------

MANY = [
    rec(1, score=3.0),
    rec(2, score=9.0, story="s", feed="CBC"),
    rec(3, score=7.0, story="s", feed="Globe"),
    rec(4, score=1.0, severity="alert"),
    rec(5, score=6.0),
    rec(6, score=5.0),
]


def test_build_digest() -> None:
    d = build_digest("team-slack", MANY, window_start=W0, window_end=W1, timezone="America/Toronto")
    assert isinstance(d, Digest)
    assert (d.channel, d.kind, d.window_start, d.window_end) == ("team-slack", "digest", W0, W1)
    assert d.timezone == "America/Toronto"
    assert d.key == digest_key("team-slack", "digest", W1)
    assert [e.lead.id for e in d.entries] == [4, 2, 5, 6, 1]
    assert d.match_count == 6


@pytest.mark.parametrize(
    ("max_items", "kept"), [(None, 5), (10, 5), (5, 5), (2, 2), (1, 1), (0, 0)]
)
def test_build_digest_max_items_keeps_the_most_important(max_items: int | None, kept: int) -> None:
    full = build_digest("c", MANY, window_start=W0, window_end=W1)
    cut = build_digest("c", MANY, window_start=W0, window_end=W1, max_items=max_items)
    assert len(cut.entries) == kept
    assert cut.entries == full.entries[:kept]
    assert cut.key == full.key  # a digest window has one key, whatever it holds


def test_build_alert_key_covers_the_matches_sent() -> None:
    d = build_digest("ops-hook", MANY, window_start=W0, window_end=W1, kind="alert", max_items=2)
    assert d.kind == "alert"
    sent = [i for e in d.entries for i in e.match_ids]
    assert sorted(sent) == [2, 3, 4]
    assert d.key == alert_key("ops-hook", sent)
    again = build_digest(
        "ops-hook", list(reversed(MANY)), window_start=W0, window_end=W1, kind="alert", max_items=2
    )
    assert again.key == d.key


def test_build_digest_of_nothing() -> None:
    d = build_digest("c", [], window_start=W0, window_end=W1)
    assert d.entries == ()
    assert d.match_count == 0


# --- the outbox JSON form ----------------------------------------------------------------------


def test_digest_json_round_trip_example() -> None:
    matches = [
        rec(1, story="s", feed="CBC", score=8.5, urgent=True, published=T0 - timedelta(hours=3)),
        rec(2, story="s", feed="Radio-Canada", topic="defence_spending", also_in=("Le Devoir",)),
        rec(3, feed=None, severity="alert", matched_at=T0.astimezone(TORONTO_SUMMER)),
    ]
    d = build_digest(
        "analysts", matches, window_start=W0, window_end=W1, timezone="America/Toronto"
    )
    text = digest_to_json(d)
    data = json.loads(text)
    assert data["key"] == d.key
    lead = data["entries"][1]["lead"]
    assert lead["summary"] == "Summary of story 1" and lead["urgent"] is True
    assert digest_from_json(text) == d


def test_digest_json_keeps_non_ascii_text_readable() -> None:
    m = replace(rec(1), title="Dépenses militaires « NORAD »")
    d = build_digest("c", [m], window_start=W0, window_end=W1)
    assert "Dépenses militaires « NORAD »" in digest_to_json(d)
    assert digest_from_json(digest_to_json(d)).entries[0].lead.title == m.title


def test_digest_from_json_fills_optional_fields() -> None:
    d = build_digest("c", [rec(1)], window_start=W0, window_end=W1)
    data = json.loads(digest_to_json(d))
    del data["timezone"]
    for key in ("summary", "urgent", "story", "also_in", "feed_name", "url", "severity"):
        del data["entries"][0]["lead"][key]
    back = digest_from_json(json.dumps(data))
    lead = back.entries[0].lead
    assert back.timezone == "UTC"
    assert (lead.summary, lead.urgent, lead.story, lead.also_in) == ("", False, None, ())
    assert (lead.feed_name, lead.url, lead.severity) == (None, None, "digest")


_zones = st.sampled_from(
    [UTC, TORONTO_SUMMER, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-10))]
)
_when = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=_zones
)
_finite = st.floats(allow_nan=False, allow_infinity=False)
_reasons = st.builds(
    Reason,
    term=st.text(max_size=20),
    field=st.sampled_from(["title", "summary"]),
    position=st.integers(min_value=0, max_value=10**6),
    weight=_finite,
    rule=st.text(max_size=20),
)
_records = st.builds(
    MatchRecord,
    id=st.integers(min_value=1, max_value=10**9),
    item_id=st.integers(min_value=1, max_value=10**9),
    feed_url=st.text(max_size=40),
    feed_name=st.one_of(st.none(), st.text(max_size=20)),
    url=st.one_of(st.none(), st.text(max_size=40)),
    title=st.text(max_size=60),
    summary=st.text(max_size=120),
    published=st.one_of(st.none(), _when),
    topic=st.sampled_from(["norad", "five_eyes", "tariffs", "arctic_security"]),
    score=_finite,
    severity=st.sampled_from(sorted(SEVERITY_RANK)),
    reasons=st.lists(_reasons, max_size=3).map(tuple),
    matched_at=_when,
    story=st.one_of(st.none(), st.text(max_size=16)),
    also_in=st.lists(st.text(max_size=15), max_size=3).map(tuple),
    urgent=st.booleans(),
)
_entries = st.builds(
    DigestEntry,
    lead=_records,
    topics=st.lists(st.text(max_size=12), max_size=3).map(tuple),
    also_in=st.lists(st.text(max_size=15), max_size=3).map(tuple),
    match_ids=st.lists(st.integers(min_value=1, max_value=10**9), max_size=4).map(tuple),
)
_digests = st.builds(
    Digest,
    key=st.text(max_size=30),
    channel=st.text(max_size=20),
    kind=st.sampled_from(["digest", "alert"]),
    window_start=_when,
    window_end=_when,
    entries=st.lists(_entries, max_size=4).map(tuple),
    timezone=st.sampled_from(["UTC", "America/Toronto", "America/St_Johns"]),
)


@settings(max_examples=150)
@given(_digests)
def test_digest_json_round_trip(d: Digest) -> None:
    text = digest_to_json(d)
    assert isinstance(json.loads(text), dict)
    assert digest_from_json(text) == d


@settings(max_examples=100)
@given(st.lists(_records, max_size=8))
def test_built_digests_round_trip(records: list[MatchRecord]) -> None:
    d = build_digest("c", records, window_start=W0, window_end=W1)
    assert digest_from_json(digest_to_json(d)) == d
