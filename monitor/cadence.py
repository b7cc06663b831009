"""When to poll a feed next, and how healthy it is.

Owns: the per-feed polling decision (:func:`plan_next_poll`) made after every fetch, what is
recorded of the poll with it (:func:`feed_update`), and its settings (:class:`CadencePolicy`).
Pure: it takes the feed's stored state, the fetch result, ``now`` and a random source, and
returns a :class:`CadenceDecision`; it does no I/O and never reads the clock. Imports only
``monitor.model`` (and, for types, the settings of
``monitor.config``); must not import fetch, store, deliver, pipeline, scheduler or cli.

The rules, in order of precedence. Jitter only ever shortens a gap (a fraction up to
``jitter`` is taken off), so every bound below is a longest gap; each decision says why in
``reason`` (one of :data:`REASONS`, shown by ``monitor feeds``).

* **Success** (``ok``, ``not_modified``, ``unchanged``) resets the failure count. The next poll
  is the feed's interval: its configured one, or the policy's (``interval``). The configured
  interval is the longest gap unless ``adaptive`` is on: then, once the feed's publishing rate
  is known, the gap becomes the time in which the feed publishes ``items_per_poll`` items
  (``adaptive``), kept between ``min_interval_s`` and :func:`adaptive_ceiling_s`: at most
  ``max_interval_s`` and at most ``ADAPTIVE_MAX_FACTOR`` times the interval (never below the
  interval). The rate, ``items_per_day``, is an exponential moving average over time (time
  constant ``rate_window_s``), so it means the same whether a feed is polled every five minutes
  or every two hours. A ``Cache-Control: max-age`` longer than the gap lengthens it
  (``max-age``), up to :func:`hint_ceiling_s`: ``MAX_AGE_FACTOR`` times the interval (or the
  adaptive ceiling when adaptive). A shorter one changes nothing.
* **Failure** backs off exponentially (``backoff``): ``backoff_base_s`` × 2^(failures − 1),
  capped at ``max_backoff_s``. Errors that look permanent (404, not a feed, a redirect loop, an
  invalid URL, a body too large, another 4xx) start from ``slow_backoff_base_s`` instead
  (``slow-backoff``). A ``Retry-After`` (sent with 429 and 503) longer than the backoff is
  honoured (``retry-after``), up to ``max_retry_after_s``. A feed is never given up: the next
  poll is always set.
* **410 Gone** disables the feed and says why in ``disabled_reason``; its next poll is still
  set (``max_backoff_s`` out, ``gone``) so that re-enabling it needs no other change.
* **Unhealthy** means a person should look: a feed that is gone, has an invalid URL, answered
  404 twice in a row, or has failed ``unhealthy_after`` times in a row.
* **Permanent redirects** (every hop 301 or 308) replace the stored URL, but only when the
  fetch at the new URL succeeded: an expired domain that redirects to a parking page must not
  rewrite the configuration.
* **Settings change** (a reload, a restart): :func:`replan` brings a stored next poll that is
  later than the current settings allow forward to the latest they allow.

Bounds, checked by property tests: the next poll is always at least ``min_delay_s`` after
``now`` and at most :func:`delay_bounds`'s upper bound after it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.model import FeedState, FeedUpdate, FetchResult

if TYPE_CHECKING:
    from monitor.config import PollingSettings

__all__ = [
    "REASONS",
    "CadenceDecision",
    "CadencePolicy",
    "adaptive_ceiling_s",
    "backoff_s",
    "claim_size",
    "delay_bounds",
    "describe_reason",
    "feed_update",
    "hint_ceiling_s",
    "plan_next_poll",
    "policy_from_settings",
    "replan",
]

SUCCESS = frozenset({"ok", "not_modified", "unchanged"})
# Errors a retry in a few minutes will not fix; they are retried from the slow base.
PERMANENT_KINDS = frozenset(
    {"not_found", "not_a_feed", "redirect_loop", "too_many_redirects", "invalid_url", "too_large"}
)
DAY_S = 86_400.0
# With adaptive on, a quiet feed's gap grows to at most this many times its interval.
ADAPTIVE_MAX_FACTOR = 4.0
# A Cache-Control max-age may lengthen a gap to at most this many times the interval.
MAX_AGE_FACTOR = 2.0
# Why a next poll is when it is: stored with it, shown by `monitor feeds`.
REASONS = (
    "interval",
    "adaptive",
    "max-age",
    "backoff",
    "slow-backoff",
    "retry-after",
    "gone",
)


@dataclass(frozen=True, slots=True)
class CadencePolicy:
    """How often to poll and how to back off. Durations in seconds, ``jitter`` a fraction."""

    interval_s: float = 900.0
    jitter: float = 0.1
    adaptive: bool = False
    min_interval_s: float = 300.0
    max_interval_s: float = 2 * 3600.0
    items_per_poll: float = 0.5
    rate_window_s: float = DAY_S
    backoff_base_s: float = 120.0
    slow_backoff_base_s: float = 3600.0
    max_backoff_s: float = 3600.0
    max_retry_after_s: float = 3600.0
    unhealthy_after: int = 5
    min_delay_s: float = 1.0

    def __post_init__(self) -> None:
        for name in (
            "interval_s",
            "min_interval_s",
            "max_interval_s",
            "items_per_poll",
            "rate_window_s",
            "backoff_base_s",
            "slow_backoff_base_s",
            "max_backoff_s",
            "max_retry_after_s",
            "min_delay_s",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"CadencePolicy.{name} must be a number above 0, got {value!r}")
        if not 0 <= self.jitter < 1:
            raise ValueError(
                f"CadencePolicy.jitter must be a fraction from 0 to below 1 (0.1 = ±10%), "
                f"got {self.jitter!r}"
            )
        if self.min_interval_s > self.max_interval_s:
            raise ValueError(
                f"CadencePolicy.min_interval_s ({self.min_interval_s:g}) must not exceed "
                f"max_interval_s ({self.max_interval_s:g})"
            )
        if self.unhealthy_after < 1:
            raise ValueError(
                f"CadencePolicy.unhealthy_after must be 1 or more, got {self.unhealthy_after!r}"
            )


def policy_from_settings(polling: PollingSettings) -> CadencePolicy:
    """The policy of the configuration's ``polling`` settings."""
    return CadencePolicy(
        interval_s=polling.interval,
        jitter=polling.jitter,
        adaptive=polling.adaptive,
        min_interval_s=polling.min_interval,
        max_interval_s=polling.max_interval,
        max_backoff_s=polling.max_backoff,
        max_retry_after_s=polling.max_backoff,
    )


@dataclass(frozen=True, slots=True)
class CadenceDecision:
    """What to store about a feed after a poll."""

    next_poll_at: datetime
    consecutive_failures: int
    disabled_reason: str | None
    unhealthy: bool
    items_per_day: float | None
    url: str
    last_error_kind: str | None
    last_error: str | None
    delay_s: float = 0.0
    reason: str = "interval"


@dataclass(frozen=True, slots=True)
class _Plan:
    """A decision before its delay is clamped and turned into a time."""

    delay_s: float
    reason: str
    consecutive_failures: int
    disabled_reason: str | None
    unhealthy: bool
    items_per_day: float | None
    url: str
    last_error_kind: str | None = None
    last_error: str | None = None


def _base(state: FeedState, policy: CadencePolicy) -> float:
    return state.interval_s or policy.interval_s


def adaptive_ceiling_s(state: FeedState, policy: CadencePolicy) -> float:
    """The longest gap after a success: the interval, or with ``adaptive`` the least of
    ``max_interval_s`` and ``ADAPTIVE_MAX_FACTOR`` intervals (but never below the interval)."""
    base = _base(state, policy)
    if not policy.adaptive:
        return base
    return max(base, min(policy.max_interval_s, ADAPTIVE_MAX_FACTOR * base))


def hint_ceiling_s(state: FeedState, policy: CadencePolicy) -> float:
    """The longest gap a ``Cache-Control: max-age`` can ask for."""
    return max(MAX_AGE_FACTOR * _base(state, policy), adaptive_ceiling_s(state, policy))


def delay_bounds(state: FeedState, policy: CadencePolicy) -> tuple[float, float]:
    """The least and the most :func:`plan_next_poll` can put between ``now`` and the next poll."""
    longest = max(hint_ceiling_s(state, policy), policy.max_backoff_s, policy.max_retry_after_s)
    return policy.min_delay_s, max(longest, policy.min_delay_s)


def backoff_s(failures: int, policy: CadencePolicy, *, slow: bool = False) -> float:
    """The delay before retry number ``failures`` (1 = the first failure), before jitter."""
    if failures < 1:
        raise ValueError(f"failures must be 1 or more, got {failures}")
    base = policy.slow_backoff_base_s if slow else policy.backoff_base_s
    # 2**60 is far past any cap; stop there so the float cannot overflow.
    return min(policy.max_backoff_s, base * 2.0 ** min(failures - 1, 60))


def update_rate(
    previous: float | None, new_items: int, since_s: float | None, window_s: float
) -> float | None:
    """Fold ``new_items`` seen over ``since_s`` seconds into an items-per-day average.

    The weight of the new observation is ``1 - exp(-since_s / window_s)``: a poll covering a
    short span moves the average a little, one covering days moves it almost all the way.
    Without a span (the first poll, whose items are a backlog, not a rate) nothing changes.
    """
    if since_s is None or since_s <= 0:
        return previous
    observed = new_items * DAY_S / since_s
    if previous is None:
        return observed
    weight = 1.0 - math.exp(-since_s / window_s)
    return previous + weight * (observed - previous)


def success_interval_s(
    state: FeedState, items_per_day: float | None, policy: CadencePolicy
) -> float:
    """The interval before jitter after a successful poll (without cache hints)."""
    base = _base(state, policy)
    if not policy.adaptive or items_per_day is None:
        return base
    lo, hi = min(policy.min_interval_s, base), adaptive_ceiling_s(state, policy)
    if items_per_day <= 0:
        return hi
    return min(hi, max(lo, policy.items_per_poll * DAY_S / items_per_day))


def _jittered(delay: float, policy: CadencePolicy, rng: random.Random) -> float:
    """``delay`` shortened by up to ``jitter``: spreads polls, never lengthens a gap."""
    return delay * (1.0 - policy.jitter * rng.random())


def plan_next_poll(
    state: FeedState,
    result: FetchResult,
    now: datetime,
    policy: CadencePolicy,
    *,
    new_items: int = 0,
    rng: random.Random,
) -> CadenceDecision:
    """Decide when to poll ``state``'s feed next, given what fetching it just returned.

    ``new_items`` is how many items the poll found that were not stored before (0 unless the
    outcome is ``ok``). ``now`` must be timezone-aware. See the module docstring for the rules.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("plan_next_poll: now must be timezone-aware (use datetime.now(UTC))")
    if new_items < 0:
        raise ValueError(f"plan_next_poll: new_items must be 0 or more, got {new_items}")
    lo, hi = delay_bounds(state, policy)
    if result.outcome in SUCCESS:
        plan = _after_success(state, result, now, policy, new_items, rng)
    else:
        plan = _after_failure(state, result, policy, rng)
    delay = min(hi, max(lo, plan.delay_s))
    return CadenceDecision(
        next_poll_at=now + timedelta(seconds=delay),
        consecutive_failures=plan.consecutive_failures,
        disabled_reason=plan.disabled_reason,
        unhealthy=plan.unhealthy,
        items_per_day=plan.items_per_day,
        url=plan.url,
        last_error_kind=plan.last_error_kind,
        last_error=plan.last_error,
        delay_s=delay,
        reason=plan.reason,
    )


def _after_success(
    state: FeedState,
    result: FetchResult,
    now: datetime,
    policy: CadencePolicy,
    new_items: int,
    rng: random.Random,
) -> _Plan:
    since = state.last_success_at or state.last_polled_at
    since_s = (now - since).total_seconds() if since is not None else None
    observed = new_items if result.outcome == "ok" else 0
    rate = update_rate(state.items_per_day, observed, since_s, policy.rate_window_s)
    interval = success_interval_s(state, rate, policy)
    reason = "adaptive" if policy.adaptive and rate is not None else "interval"
    delay = _jittered(interval, policy, rng)
    if result.max_age_s is not None and result.max_age_s > delay:
        reason = "max-age"
        delay = min(result.max_age_s, hint_ceiling_s(state, policy))
    return _Plan(
        delay_s=delay,
        reason=reason,
        consecutive_failures=0,
        disabled_reason=None,
        unhealthy=False,
        items_per_day=rate,
        url=result.permanent_redirect or state.url,
    )


def _after_failure(
    state: FeedState, result: FetchResult, policy: CadencePolicy, rng: random.Random
) -> _Plan:
    kind = result.error_kind or "http"
    failures = state.consecutive_failures + 1
    slow = kind in PERMANENT_KINDS or (
        kind == "http" and result.status is not None and 400 <= result.status < 500
    )
    delay = _jittered(backoff_s(failures, policy, slow=slow), policy, rng)
    reason = "slow-backoff" if slow else "backoff"
    if result.retry_after_s is not None and result.retry_after_s > delay:
        # never before the server asked (within the bound): no jitter taken off
        wait = min(result.retry_after_s, policy.max_retry_after_s)
        if wait > delay:
            reason, delay = "retry-after", wait
    disabled = state.disabled_reason
    unhealthy = failures >= policy.unhealthy_after
    if kind == "gone":
        disabled = (
            "the server answered 410 Gone: the feed was removed on purpose. Remove it from "
            "the configuration, or give it a new URL to poll it again."
        )
        delay = max(delay, policy.max_backoff_s)
        reason = "gone"
        unhealthy = True
    elif kind == "invalid_url":
        unhealthy = True
    elif kind == "not_found" and state.last_error_kind == "not_found":
        unhealthy = True
    return _Plan(
        delay_s=delay,
        reason=reason,
        consecutive_failures=failures,
        disabled_reason=disabled,
        unhealthy=unhealthy,
        items_per_day=state.items_per_day,
        url=state.url,
        last_error_kind=kind,
        last_error=result.error or kind,
    )


def _is_slow(state: FeedState) -> bool:
    if state.next_poll_reason in ("slow-backoff", "backoff"):
        return state.next_poll_reason == "slow-backoff"
    return state.last_error_kind in PERMANENT_KINDS


def longest_gap_s(state: FeedState, policy: CadencePolicy) -> float:
    """The longest gap after ``state``'s last poll that ``policy`` allows, for the reason its
    next poll was planned (when the reason is not stored, the most its last outcome allows)."""
    reason = state.next_poll_reason
    if state.consecutive_failures == 0:
        if reason in ("interval", "adaptive"):
            return success_interval_s(state, state.items_per_day, policy)
        return hint_ceiling_s(state, policy)
    if reason in ("backoff", "slow-backoff"):
        return backoff_s(state.consecutive_failures, policy, slow=_is_slow(state))
    if reason == "retry-after":
        return max(
            backoff_s(state.consecutive_failures, policy, slow=_is_slow(state)),
            policy.max_retry_after_s,
        )
    return max(policy.max_backoff_s, policy.max_retry_after_s)


def replan(state: FeedState, policy: CadencePolicy) -> datetime | None:
    """The stored next poll brought within ``policy``, or None when it already is.

    Used when the settings change (a reload, a restart): a next poll planned under the old
    settings that is later than the current ones allow (the feed's last poll plus
    :func:`longest_gap_s`) moves forward to the latest they allow. An earlier one is kept:
    the feed is polled then, and planned under the new settings after that.
    """
    if state.next_poll_at is None or state.last_polled_at is None:
        return None
    latest = state.last_polled_at + timedelta(
        seconds=max(policy.min_delay_s, longest_gap_s(state, policy))
    )
    return latest if state.next_poll_at > latest else None


def describe_reason(reason: str | None, failures: int = 0) -> str:
    """Why a next poll is when it is, in words for ``monitor feeds``."""
    if reason is None:
        return ""
    if reason in ("backoff", "slow-backoff"):
        plural = "s" if failures != 1 else ""
        slow = " (slow: the error looks permanent)" if reason == "slow-backoff" else ""
        return f"backoff after {failures} failure{plural}{slow}"
    return {
        "interval": "interval",
        "adaptive": "adaptive",
        "max-age": "server's max-age",
        "retry-after": "server's Retry-After",
        "gone": "410 Gone: disabled",
    }.get(reason, reason)


def claim_size(free: int, due: int, *, busy: int, mine: int, workers: int) -> int:
    """How many due feeds one worker claims now, when ``workers`` workers share the database.

    The work in hand is what is ``due`` (claimed by nobody) plus what is ``busy`` (polled by
    any worker lately or being polled, ``mine`` of it by this one); this worker's share of it
    is an equal part (rounded up) less what it has already taken. It claims that share, never
    more than its ``free`` slots nor than is due. So feeds that fall due together are spread
    over the workers instead of going to whichever claims first, and a worker that took more
    than its share lately leaves more to the others; what a worker leaves is claimed at the
    others' next claim (a worker that died stops counting when it is no longer seen).
    """
    if free <= 0 or due <= 0:
        return 0
    share = -(-(due + max(busy, mine)) // max(1, workers)) - mine
    return max(0, min(free, due, share))


def feed_update(
    feed: FeedState,
    result: FetchResult,
    now: datetime,
    policy: CadencePolicy,
    rng: random.Random,
    *,
    new_items: int,
    cut: int | None = None,
) -> FeedUpdate:
    """What to record about a feed after a poll that found ``new_items`` (and left ``cut``
    entries past the cap): the fetch's outcome and validators, and the next poll
    (:func:`plan_next_poll`)."""
    decision = plan_next_poll(feed, result, now, policy, new_items=new_items, rng=rng)
    success = result.outcome != "error"
    return FeedUpdate(
        polled_at=now,
        next_poll_at=decision.next_poll_at,
        success=success,
        status=result.status,
        etag=result.etag if success else None,
        last_modified=result.last_modified if success else None,
        body_hash=result.body_hash if result.outcome == "ok" else None,
        error_kind=decision.last_error_kind,
        error=decision.last_error,
        consecutive_failures=decision.consecutive_failures,
        disabled_reason=decision.disabled_reason,
        items_per_day=decision.items_per_day,
        new_url=decision.url if decision.url != feed.url else None,
        unhealthy=decision.unhealthy,
        entries_cut=cut,
        next_poll_reason=decision.reason,
    )
