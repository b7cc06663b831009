"""Tests for monitor.retry: backoff with jitter, cap, last attempt and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.retry import RetryPolicy, next_attempt_at

NOW = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_s=10.0, cap_s=300.0, max_attempts=8, max_retry_after_s=3600.0)


def delay_s(
    attempts: int,
    *,
    policy: RetryPolicy = POLICY,
    seed: int = 0,
    retry_after_s: float | None = None,
    permanent: bool = False,
) -> float | None:
    when = next_attempt_at(
        attempts,
        NOW,
        policy,
        random.Random(seed),
        retry_after_s=retry_after_s,
        permanent=permanent,
    )
    return None if when is None else (when - NOW).total_seconds()


# --- backoff -----------------------------------------------------------------------------------

BACKOFF_CASES: list[tuple[int, float]] = [
    # (failed attempts so far, ceiling d: the delay is drawn in [d/2, d])
    (0, 10.0),
    (1, 10.0),
    (2, 20.0),
    (3, 40.0),
    (4, 80.0),
    (5, 160.0),
    (6, 300.0),  # 320 capped
    (7, 300.0),
]


@pytest.mark.parametrize(("attempts", "ceiling"), BACKOFF_CASES)
def test_backoff_doubles_within_jitter_bounds(attempts: int, ceiling: float) -> None:
    delays = [delay_s(attempts, seed=seed) for seed in range(200)]
    assert all(d is not None and ceiling / 2 <= d <= ceiling for d in delays)


@pytest.mark.parametrize(("attempts", "ceiling"), BACKOFF_CASES)
def test_jitter_spreads_the_delays(attempts: int, ceiling: float) -> None:
    delays = {delay_s(attempts, seed=seed) for seed in range(50)}
    assert len(delays) > 40  # not one fixed delay for every delivery
    assert min(d for d in delays if d is not None) < ceiling * 0.6
    assert max(d for d in delays if d is not None) > ceiling * 0.9


def test_the_same_random_source_gives_the_same_schedule() -> None:
    assert [delay_s(a, seed=7) for a in range(1, 8)] == [delay_s(a, seed=7) for a in range(1, 8)]


def test_the_result_is_an_aware_time_after_now() -> None:
    when = next_attempt_at(1, NOW, POLICY, random.Random(1))
    assert when is not None and when > NOW
    assert when.tzinfo is not None


# --- giving up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "max_attempts", "dead"),
    [(7, 8, False), (8, 8, True), (9, 8, True), (0, 1, False), (1, 1, True), (0, 0, True)],
)
def test_max_attempts(attempts: int, max_attempts: int, dead: bool) -> None:
    policy = RetryPolicy(base_s=10.0, cap_s=300.0, max_attempts=max_attempts)
    assert (delay_s(attempts, policy=policy) is None) == dead


@pytest.mark.parametrize("attempts", [0, 1, 3, 7])
@pytest.mark.parametrize("retry_after_s", [None, 5.0, 600.0])
def test_permanent_refusal_is_dead_at_once(attempts: int, retry_after_s: float | None) -> None:
    assert delay_s(attempts, permanent=True, retry_after_s=retry_after_s) is None


# --- Retry-After -------------------------------------------------------------------------------

RETRY_AFTER_CASES: list[tuple[str, int, float | None, float, float]] = [
    # (why, attempts, Retry-After, lowest delay, highest delay)
    ("no Retry-After", 1, None, 5.0, 10.0),
    ("below the backoff: the backoff stands", 3, 1.0, 20.0, 40.0),
    ("above the backoff: a floor", 1, 120.0, 120.0, 120.0),
    ("above the cap: still honoured", 7, 900.0, 900.0, 900.0),
    ("hostile value: bounded", 1, 10_000_000.0, 3600.0, 3600.0),
    ("infinite: bounded", 1, float("inf"), 3600.0, 3600.0),
    ("zero", 2, 0.0, 10.0, 20.0),
    ("negative: ignored", 2, -50.0, 10.0, 20.0),
]


@pytest.mark.parametrize(
    ("why", "attempts", "retry_after_s", "low", "high"),
    RETRY_AFTER_CASES,
    ids=[c[0] for c in RETRY_AFTER_CASES],
)
def test_retry_after(
    why: str, attempts: int, retry_after_s: float | None, low: float, high: float
) -> None:
    for seed in range(50):
        d = delay_s(attempts, seed=seed, retry_after_s=retry_after_s)
        assert d is not None and low <= d <= high


# --- properties --------------------------------------------------------------------------------

_policies = st.builds(
    RetryPolicy,
    base_s=st.floats(min_value=0.5, max_value=600),
    cap_s=st.floats(min_value=1, max_value=86_400),
    max_attempts=st.integers(min_value=1, max_value=50),
    max_retry_after_s=st.floats(min_value=1, max_value=7 * 86_400),
)


@given(
    _policies,
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=0, max_value=2**32),
    st.one_of(st.none(), st.floats(allow_nan=False)),
)
def test_delay_bounds(
    policy: RetryPolicy, attempts: int, seed: int, retry_after_s: float | None
) -> None:
    d = delay_s(attempts, policy=policy, seed=seed, retry_after_s=retry_after_s)
    if attempts >= policy.max_attempts:
        assert d is None
        return
    assert d is not None
    ceiling = min(policy.cap_s, policy.base_s * 2 ** max(0, attempts - 1))
    floor = min(retry_after_s, policy.max_retry_after_s) if retry_after_s is not None else 0.0
    assert d >= ceiling / 2 - 1e-6
    assert d >= floor - 1e-6  # Retry-After is a floor ...
    assert d <= max(ceiling, policy.max_retry_after_s) + 1e-6  # ... within its bound


@given(st.integers(min_value=1, max_value=5000), st.integers(min_value=0, max_value=2**32))
def test_the_cap_holds_however_many_attempts(attempts: int, seed: int) -> None:
    # A policy that keeps retrying for a very long time must still wait at most the cap.
    policy = RetryPolicy(base_s=15.0, cap_s=3600.0, max_attempts=1_000_000)
    d = delay_s(attempts, policy=policy, seed=seed)
    ceiling = 3600.0 if attempts > 20 else min(3600.0, 15.0 * 2 ** (attempts - 1))
    assert d is not None and ceiling / 2 <= d <= ceiling
