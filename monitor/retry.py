"""When to try a failed delivery again.

Owns: the retry schedule of the outbox (exponential backoff with full jitter, a cap, a last
attempt, and the receiver's Retry-After honoured within bounds). Pure. Must not import
anything that does I/O.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    # about ten hours of retries before a delivery is dead: 30 s, 1 min, … 1 h, then hourly
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
    ceiling = min(policy.cap_s, policy.base_s * 2 ** min(62, max(0, attempts - 1)))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, policy.max_retry_after_s))
    return now + timedelta(seconds=delay)
