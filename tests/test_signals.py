"""The signal decisions, by themselves: tables of outlets, daily counts, feed states and
amendments, with the clock passed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.channels import ChannelSpec
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.signalling import SignalRules
from monitor.signals.amended import Amendment, decide_updated, match_changes
from monitor.signals.health import FeedHealth, HealthRule, Noticed, assess, decide_health
from monitor.signals.route import in_digest, own_message, release_at
from monitor.signals.spike import SpikeRule, TopicActivity, baseline, counts_by_day, decide_spike
from monitor.signals.surge import Fired, Outlet, StoryOutlets, SurgeRule, decide_surge
from tests.support import write_config

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


# --------------------------------------------------------------------------- surge


def story(*hours_ago: float, published_days_ago: float | None = None) -> StoryOutlets:
    outlets = tuple(
        Outlet(
            name=f"Outlet {i}",
            feed_url=f"https://o{i}.example.org/feed",
            first_seen=NOW - h * H,
            title="Ottawa answers tariffs",
            url=f"https://o{i}.example.org/a",
            published=None if published_days_ago is None else NOW - published_days_ago * D,
        )
        for i, h in enumerate(hours_ago)
    )
    return StoryOutlets("s1", ("tariffs",), outlets)


@pytest.mark.parametrize(
    ("hours_ago", "fires"),
    [
        ((0, 1, 2), False),  # three outlets: not yet
        ((0, 1, 2, 3), True),  # four within 6 h
        ((0, 1, 2, 7), False),  # four, but not within 6 h
        ((0.5, 5.5, 12, 30), False),
        ((0, 1, 2, 3, 4, 5), True),
    ],
)
def test_a_story_surges_at_four_outlets_within_six_hours(
    hours_ago: tuple[float, ...], fires: bool
) -> None:
    signal = decide_surge(story(*hours_ago), SurgeRule(), [], NOW)
    assert (signal is not None) == fires
    if signal is not None:
        assert signal.kind == "story.surge"
        assert signal.details["level"] == 1
        assert signal.details["count"] == len(hours_ago)
        names = [o["name"] for o in signal.details["outlets"]]
        assert names == [f"Outlet {i}" for i in reversed(range(len(hours_ago)))]


def test_one_outlet_counts_once_at_its_first_copy() -> None:
    s = story(0, 1, 2)
    twice = StoryOutlets(s.story, s.topics, (*s.outlets, s.outlets[0]))
    assert decide_surge(twice, SurgeRule(), [], NOW) is None


def test_old_news_found_by_a_first_poll_is_not_a_surge() -> None:
    # five outlets first seen just now, but each published the story three days ago
    old = story(0, 0, 0, 0, 0, published_days_ago=3)
    assert decide_surge(old, SurgeRule(), [], NOW) is None


def test_one_follow_up_when_it_doubles_then_never_more() -> None:
    rule = SurgeRule()
    first = decide_surge(story(0, 1, 2, 3, 4), rule, [], NOW)
    assert first is not None and first.details["count"] == 5
    fired = [Fired(1, NOW, 5)]
    assert decide_surge(story(0, 1, 2, 3, 4, 4.5, 4.6, 4.7, 4.8), rule, fired, NOW + H) is None
    ten = story(*[i * 0.5 for i in range(10)])
    follow = decide_surge(ten, rule, fired, NOW + H)
    assert follow is not None and follow.details["level"] == 2
    assert follow.details["previous_count"] == 5 and follow.key != first.key
    fired.append(Fired(2, NOW + H, 10))
    twenty = story(*[i * 0.25 for i in range(20)])
    assert decide_surge(twenty, rule, fired, NOW + 2 * H) is None


def test_the_same_decision_has_the_same_key() -> None:
    a = decide_surge(story(0, 1, 2, 3), SurgeRule(), [], NOW)
    b = decide_surge(story(0, 1, 2, 3), SurgeRule(), [], NOW + H)
    assert a is not None and b is not None and a.key == b.key


def test_a_topic_may_ask_for_fewer_outlets() -> None:
    assert decide_surge(story(0, 1), SurgeRule(outlets=2), [], NOW) is not None
    with pytest.raises(ValueError, match="at least 2 outlets"):
        SurgeRule(outlets=1)


# --------------------------------------------------------------------------- spike


def activity(daily: list[int], recent: int, history_days: float | None = 30) -> TopicActivity:
    first = None if history_days is None else NOW - history_days * D
    return TopicActivity("norad", recent, tuple(daily), first)


@pytest.mark.parametrize(
    ("name", "daily", "recent", "fires"),
    [
        ("flat, ordinary day", [10] * 14, 12, False),
        ("flat, within noise", [10] * 14, 19, False),  # 10 + 3 x sqrt(10) = 19.5
        ("flat, tripled", [10] * 14, 30, True),
        ("growing steadily", list(range(2, 30, 2)), 30, False),
        ("growing, then a jump", list(range(2, 30, 2)), 60, True),
        ("sparse, a few more", [0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0], 3, False),  # min 5
        ("sparse, a real burst", [0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0], 9, True),
        ("quiet topic, five", [0] * 14, 5, True),
        ("quiet topic, four", [0] * 14, 4, False),
    ],
)
def test_spike_against_the_topics_own_baseline(
    name: str, daily: list[int], recent: int, fires: bool
) -> None:
    signal = decide_spike(activity(daily, recent), SpikeRule(), None, NOW)
    assert (signal is not None) == fires, name
    if signal is not None:
        assert signal.details["count"] == recent
        assert signal.details["daily"] == daily
        assert signal.details["threshold"] < recent


def test_a_new_topic_has_no_baseline_and_never_spikes() -> None:
    assert decide_spike(activity([0] * 14, 50, history_days=None), SpikeRule(), None, NOW) is None
    # three days of history: not enough for a baseline (seven by default)
    young = activity([0] * 11 + [1, 2, 1], 50, history_days=4)
    assert baseline(young, SpikeRule(), NOW) is None
    assert decide_spike(young, SpikeRule(), None, NOW) is None
    # ten days: the baseline has ten days, not fourteen (no zeros before its first match)
    ten = activity([0] * 4 + [3] * 10, 50, history_days=11)
    base = baseline(ten, SpikeRule(), NOW)
    assert base is not None and base.days == 10 and base.mean == 3.0


def test_at_most_one_spike_a_day() -> None:
    busy = activity([2] * 14, 40)
    assert decide_spike(busy, SpikeRule(), NOW - 23 * H, NOW) is None
    assert decide_spike(busy, SpikeRule(), NOW - 25 * H, NOW) is not None


def test_counts_fall_in_their_days() -> None:
    times = [NOW - 1.5 * D, NOW - 2.5 * D, NOW - 2.6 * D, NOW - 15.5 * D, NOW - 0.5 * D]
    counts = counts_by_day(times, NOW, 14)
    assert counts[-1] == 1 and counts[-2] == 2 and sum(counts) == 3


# --------------------------------------------------------------------------- health


def feed(
    failures: int = 0,
    failing_hours: float | None = None,
    gaps_h: float | None = None,
    quiet_h: float = 0,
) -> FeedHealth:
    times: tuple[datetime, ...] = ()
    if gaps_h is not None:
        last = NOW - quiet_h * H
        times = tuple(last - i * gaps_h * H for i in range(8))
    return FeedHealth(
        url="https://ministry.example.org/news.xml",
        name="Ministry",
        consecutive_failures=failures,
        last_error="HTTP 503" if failures else None,
        failing_since=None if failing_hours is None else NOW - failing_hours * H,
        item_times=times,
    )


@pytest.mark.parametrize(
    ("f", "state"),
    [
        (feed(), "ok"),
        (feed(failures=3, failing_hours=2), "ok"),  # not long enough
        (feed(failures=30, failing_hours=6), "failing"),
        (feed(gaps_h=6, quiet_h=40), "ok"),  # 4 x 6 h = 24 h, but at least 2 days
        (feed(gaps_h=6, quiet_h=49), "silent"),
        (feed(gaps_h=24, quiet_h=95), "ok"),
        (feed(gaps_h=24, quiet_h=97), "silent"),
        (feed(failures=30, failing_hours=7, gaps_h=6, quiet_h=60), "failing"),
    ],
)
def test_feed_states(f: FeedHealth, state: str) -> None:
    assert assess(f, HealthRule(), NOW).state == state


def test_one_notice_per_change_of_state() -> None:
    rule = HealthRule()
    # failing for two hours: nothing; past six: one notice; still failing: nothing more
    assert decide_health(feed(3, 2), rule, None, NOW) is None
    notice = decide_health(feed(30, 6.5), rule, None, NOW)
    assert notice is not None and notice.details["state"] == "failing"
    assert notice.details["error"] == "HTTP 503"
    known = Noticed("failing", NOW)
    assert decide_health(feed(31, 7), rule, known, NOW + H) is None
    # a success: back; and back is noticed once
    back = decide_health(feed(), rule, known, NOW + 2 * H)
    assert back is not None and back.details["state"] == "ok"
    assert back.details["previous_state"] == "failing"
    assert decide_health(feed(), rule, Noticed("ok", NOW + 2 * H), NOW + 3 * H) is None


def test_a_short_outage_after_a_failing_notice_is_not_a_recovery() -> None:
    again = decide_health(feed(1, 0.5), HealthRule(), Noticed("failing", NOW - D), NOW)
    assert again is None


def test_a_silent_feed_is_noticed_once_and_when_it_speaks_again() -> None:
    rule = HealthRule()
    silent = decide_health(feed(gaps_h=6, quiet_h=50), rule, None, NOW)
    assert silent is not None and silent.details["state"] == "silent"
    assert silent.details["median_gap_s"] == 6 * 3600
    assert decide_health(feed(gaps_h=6, quiet_h=60), rule, Noticed("silent", NOW), NOW) is None
    spoke = decide_health(feed(gaps_h=6, quiet_h=1), rule, Noticed("silent", NOW), NOW)
    assert spoke is not None and spoke.details["state"] == "ok"


# --------------------------------------------------------------------------- amended


@pytest.mark.parametrize(
    ("before", "after", "changes"),
    [
        ({"norad": "digest"}, {"norad": "digest"}, []),
        ({"norad": "alert"}, {"norad": "digest"}, []),  # a lower severity is not news
        ({"norad": "digest"}, {"norad": "alert"}, ["raised"]),
        ({"norad": "digest"}, {"norad": "digest", "tariffs": "digest"}, ["new"]),
        ({"norad": "digest", "tariffs": "digest"}, {"tariffs": "digest"}, ["lost"]),
        ({}, {"tariffs": "alert"}, ["new"]),
    ],
)
def test_an_amendment_is_a_signal_when_its_matches_change(
    before: dict[str, str], after: dict[str, str], changes: list[str]
) -> None:
    assert [c["change"] for c in match_changes(before, after)] == changes
    a = Amendment(7, 42, NOW, "New title", "Old title", None, "https://f", "F", before, after)
    signal = decide_updated(a)
    assert (signal is not None) == bool(changes)
    if signal is not None:
        assert signal.kind == "item.updated" and signal.subject == "42"
        assert signal.details["previous_title"] == "Old title"


# --------------------------------------------------------------------------- settings


def test_signal_settings_are_checked_where_they_are_written(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, "signals: {topics: {tariffs: {surge_outlets: 3}}}"))
    rules = SignalRules.from_settings(cfg.signals)
    assert rules.surge_rule(["tariffs"]).outlets == 3
    assert rules.surge_rule(["norad"]) == SurgeRule()
    assert rules.surge_rule(["norad", "tariffs"]).outlets == 3  # the most sensitive
    with pytest.raises(ConfigError) as bad:
        load_config(write_config(tmp_path, "signals: {topics: {tarifs: {surge_outlets: 3}}}"))
    assert "signals.topics: unknown topic 'tarifs'; known topics: norad, tariffs" in str(bad.value)
    with pytest.raises(ConfigError) as short:
        load_config(write_config(tmp_path, "signals: {spike_days: 5, spike_min_history: 7}"))
    assert "spike_min_history (7) must be at most spike_days (5)" in str(short.value)
    with pytest.raises(ConfigError) as one:
        load_config(write_config(tmp_path, "signals: {surge_outlets: 1}"))
    assert "surge_outlets" in str(one.value)


# --------------------------------------------------------------------------- routing


def channels(body: str, tmp_path: Path) -> dict[str, ChannelSpec]:
    return {c.name: c for c in load_config(write_config(tmp_path, body)).channels}


def test_who_hears_of_which_signal_and_when(tmp_path: Path) -> None:
    chans = channels(
        """
        timezone: America/Toronto
        channels:
          - {name: all, type: console, digest: "0 8 * * *"}
          - {name: norad, type: console, topics: [norad], quiet_hours: "22:00-07:00"}
          - {name: ops, type: console, notices: true}
          - {name: hook, type: webhook, url: "https://h.example.org/x",
             secret: routing-test-secret-0123456789, topics: [tariffs]}
        """,
        tmp_path,
    )
    surge = decide_surge(story(0, 1, 2, 3), SurgeRule(), [], NOW)
    assert surge is not None  # a tariffs story
    told = {n for n, c in chans.items() if own_message(surge, c)}
    assert told == {"all", "ops", "hook"}  # every channel routing tariffs (ops: all topics)
    notice = decide_health(feed(30, 7), HealthRule(), None, NOW)
    assert notice is not None
    assert {n for n, c in chans.items() if own_message(notice, c)} == {"ops"}
    assert not any(in_digest(notice, c) for c in chans.values())  # ops has no digest
    update = decide_updated(
        Amendment(1, 2, NOW, "t", None, None, "f", None, {}, {"norad": "digest"})
    )
    assert update is not None
    assert {n for n, c in chans.items() if own_message(update, c)} == set()  # webhooks only
    assert {n for n, c in chans.items() if in_digest(update, c)} == {"all"}

    # quiet hours hold a signal as they hold alerts; an urgent one goes at once
    night = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)  # 23:00 in Toronto
    late = replace(surge, topics=("norad",), fired_at=night)
    assert release_at(late, chans["norad"], "America/Toronto") == datetime(
        2026, 3, 3, 12, 0, tzinfo=UTC
    )  # 07:00 in Toronto
    urgent = replace(late, urgent=True)
    assert release_at(urgent, chans["norad"], "America/Toronto") == night
    assert release_at(late, chans["all"], "America/Toronto") == night
