"""The polling decision: tables of cases, and properties over every kind of state and result."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.cadence import (
    ADAPTIVE_MAX_FACTOR,
    CadenceDecision,
    CadencePolicy,
    backoff_s,
    claim_size,
    delay_bounds,
    describe_reason,
    hint_ceiling_s,
    plan_next_poll,
    replan,
    success_interval_s,
    update_rate,
)
from monitor.model import FeedState, FetchResult

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
URL = "https://news.example.org/feed.xml"
POLICY = CadencePolicy()  # 15 min, up to 10 % shorter, not adaptive, backoff 2 min … 1 h
ADAPTIVE = CadencePolicy(adaptive=True)  # 5 min … 1 h (4 intervals, under max_interval 2 h)


class Fixed(random.Random):
    """A random source that always draws the same value (0.0 = no jitter at all)."""

    def __init__(self, value: float = 0.0) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def state(**kw: Any) -> FeedState:
    return FeedState(id=1, url=URL, **kw)


def ok(**kw: Any) -> FetchResult:
    return FetchResult(url=URL, outcome="ok", status=200, **kw)


def err(kind: str, status: int | None = None, **kw: Any) -> FetchResult:
    return FetchResult(
        url=URL, outcome="error", error_kind=kind, status=status, error=f"{kind}!", **kw
    )


def plan(
    st_: FeedState,
    result: FetchResult,
    *,
    policy: CadencePolicy = POLICY,
    new_items: int = 0,
    draw: float = 0.0,
) -> CadenceDecision:
    return plan_next_poll(st_, result, NOW, policy, new_items=new_items, rng=Fixed(draw))


def delay(d: CadenceDecision) -> float:
    return (d.next_poll_at - NOW).total_seconds()


# --------------------------------------------------------------------------------------------
# Success


@pytest.mark.parametrize(
    ("feed", "result", "policy", "expected_s"),
    [
        # No rate known yet: the configured interval, the feed's own or the policy's.
        (state(), ok(), POLICY, 900),
        (state(interval_s=600), ok(), POLICY, 600),
        (state(interval_s=600), FetchResult(url=URL, outcome="not_modified"), POLICY, 600),
        # Adaptive (opted into): half an item per poll at the feed's rate, within 5 min and
        # the ceiling: max_interval (2 h), but at most 4 intervals (1 h).
        (state(items_per_day=96), FetchResult(url=URL, outcome="unchanged"), ADAPTIVE, 450),
        (state(items_per_day=0.1), FetchResult(url=URL, outcome="unchanged"), ADAPTIVE, 3600),
        (state(items_per_day=5000), FetchResult(url=URL, outcome="unchanged"), ADAPTIVE, 300),
        (state(items_per_day=0.0), FetchResult(url=URL, outcome="unchanged"), ADAPTIVE, 3600),
        (state(interval_s=60, items_per_day=0.0), ok(), ADAPTIVE, 240),
        # A configured interval outside the adaptive range widens the range.
        (state(interval_s=8 * 3600, items_per_day=0.1), ok(), ADAPTIVE, 8 * 3600),
        (state(interval_s=60, items_per_day=5000), ok(), ADAPTIVE, 60),
        # Not adaptive (the default): the interval, whatever the rate.
        (state(items_per_day=0.1), ok(), POLICY, 900),
        (state(items_per_day=0.0), FetchResult(url=URL, outcome="not_modified"), POLICY, 900),
        (state(interval_s=60, items_per_day=0.0), ok(), POLICY, 60),
        # Cache-Control max-age: longer is honoured up to 2 intervals (or the adaptive
        # ceiling), shorter is ignored.
        (state(), ok(max_age_s=1200.0), POLICY, 1200),
        (state(), ok(max_age_s=3600.0), POLICY, 1800),
        (state(), ok(max_age_s=30 * 86400.0), POLICY, 1800),
        (state(interval_s=60), ok(max_age_s=86400.0), POLICY, 120),
        (state(), ok(max_age_s=30 * 86400.0), ADAPTIVE, 3600),
        (state(), ok(max_age_s=60.0), POLICY, 900),
    ],
)
def test_success_interval(
    feed: FeedState, result: FetchResult, policy: CadencePolicy, expected_s: float
) -> None:
    d = plan(feed, result, policy=policy)
    assert delay(d) == pytest.approx(expected_s)
    assert (d.consecutive_failures, d.unhealthy, d.last_error_kind, d.last_error) == (
        0,
        False,
        None,
        None,
    )


def test_success_clears_failures_and_a_disabled_reason() -> None:
    before = state(
        consecutive_failures=7,
        last_error_kind="timeout",
        last_error="timed out",
        disabled_reason="gone",
    )
    d = plan(before, ok())
    assert (d.consecutive_failures, d.disabled_reason, d.last_error_kind) == (0, None, None)


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 1.0), (0.5, 0.95), (1.0, 0.9), (0.75, 0.925)])
def test_jitter_spreads_the_interval_and_only_ever_shortens_it(draw: float, factor: float) -> None:
    assert delay(plan(state(), ok(), draw=draw)) == pytest.approx(900 * factor)


def test_jitter_draws_from_the_given_random_source() -> None:
    delays = {
        delay(plan_next_poll(state(), ok(), NOW, POLICY, rng=random.Random(n))) for n in range(20)
    }
    assert len(delays) > 10
    assert all(810 <= d <= 900 for d in delays)


def test_permanent_redirect_moves_the_feed_only_on_success() -> None:
    new = "https://www.example.org/rss"
    assert plan(state(), ok(permanent_redirect=new)).url == new
    assert (
        plan(state(), FetchResult(url=URL, outcome="not_modified", permanent_redirect=new)).url
        == new
    )
    assert plan(state(), err("not_a_feed", 200, permanent_redirect=new)).url == URL
    assert plan(state(), ok()).url == URL


# --------------------------------------------------------------------------------------------
# Publishing rate


def test_rate_is_learned_from_new_items() -> None:
    first = plan(state(), ok(), new_items=20)  # the first poll's items are a backlog
    assert first.items_per_day is None
    after_a_day = plan(state(last_success_at=NOW - timedelta(days=1)), ok(), new_items=24)
    assert after_a_day.items_per_day == pytest.approx(24)


def test_rate_converges_to_the_real_rate_whatever_the_poll_interval() -> None:
    for interval_s, items_per_poll in ((900, 1), (3600, 4), (4 * 3600, 16)):
        rate: float | None = 0.0
        for _ in range(int(20 * 86400 / interval_s)):
            rate = update_rate(rate, items_per_poll, interval_s, 86400)
        assert rate == pytest.approx(96, rel=1e-3)


def test_not_modified_and_unchanged_count_as_no_new_items() -> None:
    busy = state(items_per_day=100.0, last_success_at=NOW - timedelta(hours=12))
    for outcome in ("not_modified", "unchanged"):
        d = plan(busy, FetchResult(url=URL, outcome=outcome), new_items=5)
        assert d.items_per_day is not None and d.items_per_day < 100


def test_failures_keep_the_rate() -> None:
    assert plan(state(items_per_day=12.5), err("timeout")).items_per_day == 12.5


@given(
    previous=st.none() | st.floats(0, 1e5),
    new_items=st.integers(0, 10_000),
    since_s=st.floats(1, 1e8),
)
def test_rate_moves_towards_the_observation(
    previous: float | None, new_items: int, since_s: float
) -> None:
    got = update_rate(previous, new_items, since_s, 86400)
    observed = new_items * 86400 / since_s
    assert got is not None
    lo, hi = sorted((observed, observed if previous is None else previous))
    assert lo - 1e-6 * (1 + hi) <= got <= hi + 1e-6 * (1 + hi)


# --------------------------------------------------------------------------------------------
# Failure


@pytest.mark.parametrize(
    ("failures_before", "expected_s"),
    [(0, 120), (1, 240), (2, 480), (3, 960), (4, 1920), (5, 3600), (8, 3600), (50, 3600)],
)
def test_backoff_doubles_up_to_the_cap(failures_before: int, expected_s: float) -> None:
    d = plan(state(consecutive_failures=failures_before), err("timeout"))
    assert delay(d) == pytest.approx(expected_s)
    assert d.consecutive_failures == failures_before + 1
    assert (d.last_error_kind, d.last_error) == ("timeout", "timeout!")


@pytest.mark.parametrize(
    ("result", "expected_s"),
    [
        (err("network"), 120),
        (err("http", 500), 120),
        (err("unavailable", 503), 120),
        (err("not_found", 404), 3600),
        (err("not_a_feed", 200), 3600),
        (err("http", 403), 3600),
        (err("redirect_loop", 302), 3600),
        (err("too_large", 200), 3600),
        (err("invalid_url"), 3600),
    ],
)
def test_errors_that_look_permanent_are_retried_slowly(
    result: FetchResult, expected_s: float
) -> None:
    assert delay(plan(state(), result)) == pytest.approx(expected_s)


@pytest.mark.parametrize(
    ("kind", "status", "retry_after", "expected_s", "reason"),
    [
        ("unavailable", 503, 1800.0, 1800, "retry-after"),  # longer than the backoff
        ("rate_limited", 429, 30.0, 108, "backoff"),  # shorter: the backoff stands
        ("rate_limited", 429, 115.0, 115, "retry-after"),  # never before the server asked
        ("rate_limited", 429, 1e9, 3600, "retry-after"),  # absurd: capped
        ("unavailable", 503, 0.0, 108, "backoff"),
    ],
)
def test_retry_after_is_honoured_within_bounds(
    kind: str, status: int, retry_after: float, expected_s: float, reason: str
) -> None:
    # the highest draw takes the most jitter off the backoff (120 s → 108 s), none off a
    # Retry-After
    d = plan(state(), err(kind, status, retry_after_s=retry_after), draw=1.0)
    assert delay(d) == pytest.approx(expected_s)
    assert d.reason == reason


def test_gone_disables_the_feed_and_says_why_but_keeps_a_next_poll() -> None:
    d = plan(state(), err("gone", 410))
    assert d.disabled_reason is not None and "410 Gone" in d.disabled_reason
    assert "configuration" in d.disabled_reason
    assert d.unhealthy
    assert delay(d) >= POLICY.max_backoff_s


def test_other_failures_keep_an_existing_disabled_reason() -> None:
    assert plan(state(disabled_reason="x"), err("timeout")).disabled_reason == "x"
    assert plan(state(), err("timeout")).disabled_reason is None


@pytest.mark.parametrize(
    ("before", "result", "unhealthy"),
    [
        (state(), err("not_found", 404), False),
        (state(consecutive_failures=1, last_error_kind="not_found"), err("not_found", 404), True),
        (state(consecutive_failures=1, last_error_kind="timeout"), err("not_found", 404), False),
        (state(), err("invalid_url"), True),
        (state(consecutive_failures=3), err("timeout"), False),
        (state(consecutive_failures=4), err("timeout"), True),
        (state(consecutive_failures=40), err("http", 500), True),
    ],
)
def test_unhealthy(before: FeedState, result: FetchResult, unhealthy: bool) -> None:
    assert plan(before, result).unhealthy is unhealthy


def test_repeated_404_is_still_retried() -> None:
    d = plan(state(consecutive_failures=30, last_error_kind="not_found"), err("not_found", 404))
    assert d.unhealthy and d.disabled_reason is None
    assert NOW < d.next_poll_at <= NOW + timedelta(seconds=POLICY.max_backoff_s * 1.1)


# --------------------------------------------------------------------------------------------
# Arguments


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_next_poll(state(), ok(), datetime(2025, 1, 1), POLICY, rng=Fixed())


def test_other_time_zones_are_fine() -> None:
    toronto = timezone(timedelta(hours=-5))
    d = plan_next_poll(state(), ok(), NOW.astimezone(toronto), POLICY, rng=Fixed(0.0))
    assert d.next_poll_at - NOW == timedelta(seconds=900)


def test_new_items_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="new_items"):
        plan(state(), ok(), new_items=-1)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"interval_s": 0}, "interval_s must be a number above 0"),
        ({"jitter": 1.5}, "jitter must be a fraction"),
        ({"jitter": -0.1}, "jitter"),
        ({"min_interval_s": 600, "max_interval_s": 300}, "must not exceed"),
        ({"max_backoff_s": float("inf")}, "max_backoff_s"),
        ({"unhealthy_after": 0}, "unhealthy_after"),
    ],
)
def test_bad_policy_is_explained(kwargs: dict[str, float], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        CadencePolicy(**kwargs)  # type: ignore[arg-type]


def test_backoff_needs_a_failure() -> None:
    with pytest.raises(ValueError, match="1 or more"):
        backoff_s(0, POLICY)


# --------------------------------------------------------------------------------------------
# Properties

KINDS = [
    "timeout",
    "network",
    "http",
    "too_large",
    "not_a_feed",
    "redirect_loop",
    "too_many_redirects",
    "gone",
    "not_found",
    "rate_limited",
    "unavailable",
    "invalid_url",
]

policies = st.builds(
    CadencePolicy,
    interval_s=st.floats(1, 86400),
    jitter=st.floats(0, 0.5),
    adaptive=st.booleans(),
    min_interval_s=st.floats(1, 600),
    max_interval_s=st.floats(600, 86400),
    backoff_base_s=st.floats(1, 3600),
    slow_backoff_base_s=st.floats(1, 7200),
    max_backoff_s=st.floats(1, 86400),
    max_retry_after_s=st.floats(1, 86400),
)

states = st.builds(
    FeedState,
    id=st.just(1),
    url=st.just(URL),
    interval_s=st.none() | st.floats(1, 7 * 86400),
    consecutive_failures=st.integers(0, 10_000),
    items_per_day=st.none() | st.floats(0, 1e6),
    last_error_kind=st.none() | st.sampled_from(KINDS),
    last_success_at=st.none() | st.floats(-1e7, 1e4).map(lambda s: NOW + timedelta(seconds=s)),
)

results = st.one_of(
    st.builds(
        FetchResult,
        url=st.just(URL),
        outcome=st.sampled_from(["ok", "not_modified", "unchanged"]),
        max_age_s=st.none() | st.floats(0, 1e9),
        permanent_redirect=st.none() | st.just("https://new.example.org/feed"),
    ),
    st.builds(
        FetchResult,
        url=st.just(URL),
        outcome=st.just("error"),
        error_kind=st.sampled_from(KINDS),
        status=st.none() | st.integers(100, 599),
        retry_after_s=st.none() | st.floats(0, 1e10),
    ),
)


@given(
    feed=states,
    result=results,
    policy=policies,
    new_items=st.integers(0, 5000),
    seed=st.integers(0, 2**32),
)
def test_next_poll_is_always_in_the_future_and_within_bounds(
    feed: FeedState, result: FetchResult, policy: CadencePolicy, new_items: int, seed: int
) -> None:
    d = plan_next_poll(feed, result, NOW, policy, new_items=new_items, rng=random.Random(seed))
    lo, hi = delay_bounds(feed, policy)
    assert d.next_poll_at > NOW
    assert lo <= delay(d) <= hi + 1e-6
    assert d.delay_s == pytest.approx(delay(d), abs=1e-5)
    if result.outcome == "error":
        assert d.consecutive_failures == feed.consecutive_failures + 1
        assert d.last_error_kind == result.error_kind
    else:
        assert d.consecutive_failures == 0 and d.last_error_kind is None


@given(
    policy=policies,
    kind=st.sampled_from([k for k in KINDS if k != "gone"]),
    failures=st.integers(0, 200),
    more=st.integers(1, 50),
    draw=st.floats(0, 1),
)
def test_backoff_never_shrinks_as_failures_grow(
    policy: CadencePolicy, kind: str, failures: int, more: int, draw: float
) -> None:
    result = err(kind, 500)
    fewer = plan(state(consecutive_failures=failures), result, policy=policy, draw=draw)
    later = plan(state(consecutive_failures=failures + more), result, policy=policy, draw=draw)
    assert delay(fewer) <= delay(later) + 1e-9


@given(policy=policies, failures=st.integers(1, 500), slow=st.booleans())
def test_backoff_is_monotone_and_capped(policy: CadencePolicy, failures: int, slow: bool) -> None:
    now_s = backoff_s(failures, policy, slow=slow)
    assert now_s <= backoff_s(failures + 1, policy, slow=slow)
    assert now_s <= policy.max_backoff_s
    base = policy.slow_backoff_base_s if slow else policy.backoff_base_s
    assert backoff_s(1, policy, slow=slow) == min(base, policy.max_backoff_s)


@given(feed=states, policy=policies, rate=st.none() | st.floats(0, 1e7))
def test_success_interval_stays_within_floor_and_ceiling(
    feed: FeedState, policy: CadencePolicy, rate: float | None
) -> None:
    base = feed.interval_s or policy.interval_s
    got = success_interval_s(feed, rate, policy)
    assert min(policy.min_interval_s, base) <= got <= max(policy.max_interval_s, base)


@given(feed=states, policy=policies, seed=st.integers(0, 2**16))
def test_a_feed_is_never_given_up(feed: FeedState, policy: CadencePolicy, seed: int) -> None:
    # However many failures, of whatever kind, there is always a next poll within the bounds.
    current = feed
    rng = random.Random(seed)
    for kind in KINDS:
        d = plan_next_poll(current, err(kind, 500), NOW, policy, rng=rng)
        assert NOW < d.next_poll_at <= NOW + timedelta(seconds=delay_bounds(current, policy)[1] + 1)
        current = replace(
            current, consecutive_failures=d.consecutive_failures, last_error_kind=kind
        )


# --------------------------------------------------------------------------------------------
# The configured interval is the longest gap; why each next poll is when it is


@pytest.mark.parametrize(
    ("feed", "result", "policy", "reason"),
    [
        (state(), ok(), POLICY, "interval"),
        (
            state(items_per_day=0.0),
            FetchResult(url=URL, outcome="not_modified"),
            POLICY,
            "interval",
        ),
        (state(items_per_day=3.0), ok(), ADAPTIVE, "adaptive"),
        (state(), ok(max_age_s=1200.0), POLICY, "max-age"),
        (state(), err("timeout"), POLICY, "backoff"),
        (state(consecutive_failures=3), err("network"), POLICY, "backoff"),
        (state(), err("not_found", 404), POLICY, "slow-backoff"),
        (state(), err("http", 403), POLICY, "slow-backoff"),
        (state(), err("rate_limited", 429, retry_after_s=600.0), POLICY, "retry-after"),
        (state(), err("gone", 410), POLICY, "gone"),
    ],
)
def test_each_decision_says_why(
    feed: FeedState, result: FetchResult, policy: CadencePolicy, reason: str
) -> None:
    assert plan(feed, result, policy=policy).reason == reason


@given(
    feed=states,
    policy=policies,
    outcome=st.sampled_from(["ok", "not_modified", "unchanged"]),
    new_items=st.integers(0, 5000),
    seed=st.integers(0, 2**32),
)
def test_after_a_success_the_interval_is_the_longest_gap_unless_adaptive(
    feed: FeedState, policy: CadencePolicy, outcome: str, new_items: int, seed: int
) -> None:
    result = FetchResult(url=URL, outcome=outcome)  # type: ignore[arg-type]
    d = plan_next_poll(feed, result, NOW, policy, new_items=new_items, rng=random.Random(seed))
    interval = feed.interval_s or policy.interval_s
    ceiling = interval * (ADAPTIVE_MAX_FACTOR if policy.adaptive else 1.0)
    assert delay(d) <= max(ceiling, policy.min_delay_s) + 1e-6


@given(feed=states, policy=policies, max_age=st.floats(0, 1e9), seed=st.integers(0, 2**32))
def test_max_age_lengthens_a_gap_only_up_to_its_ceiling(
    feed: FeedState, policy: CadencePolicy, max_age: float, seed: int
) -> None:
    d = plan_next_poll(feed, ok(max_age_s=max_age), NOW, policy, rng=random.Random(seed))
    interval = feed.interval_s or policy.interval_s
    assert hint_ceiling_s(feed, policy) <= interval * max(2.0, ADAPTIVE_MAX_FACTOR) + 1e-6
    assert delay(d) <= max(hint_ceiling_s(feed, policy), policy.min_delay_s) + 1e-6


# --------------------------------------------------------------------------------------------
# Re-planning stored next polls when the settings change

LAST = NOW - timedelta(minutes=2)


def stored(next_in_s: float, reason: str | None, **kw: Any) -> FeedState:
    return state(
        last_polled_at=LAST,
        next_poll_at=LAST + timedelta(seconds=next_in_s),
        next_poll_reason=reason,
        **kw,
    )


@pytest.mark.parametrize(
    ("feed", "policy", "expected_after_last_s"),
    [
        # a next poll six hours out, planned by an adaptive policy: the interval now rules
        (stored(6 * 3600, "adaptive", items_per_day=0.0), POLICY, 900),
        (stored(6 * 3600, "adaptive", items_per_day=0.0, interval_s=60), POLICY, 60),
        # planned before reasons were stored: the most its last outcome allows
        (stored(6 * 3600, None), POLICY, 1800),
        (stored(6 * 3600, None, interval_s=60), POLICY, 120),
        (stored(6 * 3600, "max-age", interval_s=60), POLICY, 120),
        # the interval shrank from 1 h to 15 min
        (stored(3600, "interval"), POLICY, 900),
        # backoff: the current cap and base rule
        (stored(6 * 3600, "backoff", consecutive_failures=9), POLICY, 3600),
        (stored(6 * 3600, "backoff", consecutive_failures=2), POLICY, 240),
        (stored(6 * 3600, "slow-backoff", consecutive_failures=1), POLICY, 3600),
        (stored(6 * 3600, "retry-after", consecutive_failures=1), POLICY, 3600),
        (stored(6 * 3600, None, consecutive_failures=1), POLICY, 3600),
        # within the current settings already: kept
        (stored(600, "interval"), POLICY, None),
        (stored(60, "interval"), CadencePolicy(interval_s=3600.0), None),
        (stored(1800, "adaptive", items_per_day=0.0), ADAPTIVE, None),
        (stored(7200, "adaptive", items_per_day=0.0), ADAPTIVE, 3600),
    ],
)
def test_replan_brings_a_stored_next_poll_within_the_current_settings(
    feed: FeedState, policy: CadencePolicy, expected_after_last_s: float | None
) -> None:
    moved = replan(feed, policy)
    if expected_after_last_s is None:
        assert moved is None
    else:
        assert moved == LAST + timedelta(seconds=expected_after_last_s)


def test_replan_leaves_feeds_never_polled_alone() -> None:
    assert replan(state(), POLICY) is None
    assert replan(state(next_poll_at=NOW + timedelta(hours=6)), POLICY) is None


@given(feed=states, result=results, policy=policies, seed=st.integers(0, 2**32))
def test_a_fresh_plan_needs_no_replanning_under_the_same_settings(
    feed: FeedState, result: FetchResult, policy: CadencePolicy, seed: int
) -> None:
    d = plan_next_poll(feed, result, NOW, policy, rng=random.Random(seed))
    after = replace(
        feed,
        last_polled_at=NOW,
        next_poll_at=d.next_poll_at,
        next_poll_reason=d.reason,
        consecutive_failures=d.consecutive_failures,
        items_per_day=d.items_per_day,
        last_error_kind=d.last_error_kind,
    )
    moved = replan(after, policy)
    assert moved is None or moved >= d.next_poll_at - timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("reason", "failures", "text"),
    [
        ("interval", 0, "interval"),
        ("backoff", 3, "backoff after 3 failures"),
        ("backoff", 1, "backoff after 1 failure"),
        ("slow-backoff", 2, "backoff after 2 failures (slow: the error looks permanent)"),
        ("retry-after", 1, "server's Retry-After"),
        ("max-age", 0, "server's max-age"),
        (None, 0, ""),
    ],
)
def test_reasons_in_words(reason: str | None, failures: int, text: str) -> None:
    assert describe_reason(reason, failures) == text


# --------------------------------------------------------------------------------------------
# Sharing due feeds between workers


@pytest.mark.parametrize(
    ("free", "due", "busy", "mine", "workers", "claim"),
    [
        (50, 30, 0, 0, 1, 30),  # alone: everything due, up to the free slots
        (10, 30, 0, 0, 1, 10),
        (50, 30, 0, 0, 2, 15),  # two workers, nothing in flight: half each
        (50, 15, 15, 0, 2, 15),  # the other took its half: this one takes the rest
        (50, 29, 0, 0, 2, 15),  # rounded up
        (50, 30, 0, 0, 3, 10),
        (50, 1, 0, 0, 2, 1),  # one due feed is claimed, not left for later
        (50, 10, 20, 20, 2, 0),  # this worker already polls more than its share
        (50, 10, 20, 10, 2, 5),
        (0, 30, 0, 0, 2, 0),
        (50, 0, 30, 0, 2, 0),
    ],
)
def test_claim_size_is_a_fair_share(
    free: int, due: int, busy: int, mine: int, workers: int, claim: int
) -> None:
    assert claim_size(free, due, busy=busy, mine=mine, workers=workers) == claim


@given(
    free=st.integers(0, 500),
    due=st.integers(0, 5000),
    busy=st.integers(0, 5000),
    workers=st.integers(1, 20),
)
def test_idle_workers_together_claim_everything_due(
    free: int, due: int, busy: int, workers: int
) -> None:
    # workers with nothing in flight, claiming one after another, leave nothing due behind
    # (unless their free slots run out), and none takes more than it can poll
    left, claimed = due, []
    for _ in range(workers):
        n = claim_size(free, left, busy=busy + sum(claimed), mine=0, workers=workers)
        assert 0 <= n <= min(free, left)
        claimed.append(n)
        left -= n
    assert left == 0 or free * workers < due
