"""When to try a failed delivery again.

Owns: the retry schedule of the outbox (exponential backoff with full jitter, a cap, a last
attempt, and the receiver's Retry-After honoured within bounds). Pure. Must not import
anything that does I/O.

The schedule's figures are stated once for users, in the table of ``docs/delivery.md``
("Retry schedule"); a test checks that table against :func:`wait_bounds` and
:class:`RetryPolicy`'s defaults, so change them together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    # 16 attempts over about 4.5 to 9 hours: waits of 15–30 s, doubling, capped at 30–60 min
    base_s: float = 30.0
    cap_s: float = 3600.0
    max_attempts: int = 16
    max_retry_after_s: float = 6 * 3600.0


def next_attempt_at(
    attempts: int,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
    *,
    retry_after_s: float | None = None,
    permanent: bool = False,
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None when it is dead.

    A permanent refusal (a 4xx that retrying cannot fix) is dead at once. Otherwise the delay
    is drawn in [d/2, d] with d = base·2^(attempts-1) capped; a Retry-After from the receiver
    is a floor (bounded, so a hostile value cannot park a delivery for ever).
    """
    if permanent or attempts >= policy.max_attempts:
        return None
    delay = rng.uniform(*wait_bounds(attempts, policy))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, policy.max_retry_after_s))
    return now + timedelta(seconds=delay)


def wait_bounds(attempts: int, policy: RetryPolicy) -> tuple[float, float]:
    """The least and the most wait (seconds) after ``attempts`` failed attempts, before any
    Retry-After: [d/2, d] with d = base·2^(attempts-1), capped at ``cap_s``."""
    ceiling = min(policy.cap_s, policy.base_s * 2 ** min(62, max(0, attempts - 1)))
    return ceiling / 2, ceiling
