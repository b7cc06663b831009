"""How the daemon's scheduled jobs are doing: failures in a row, when to retry, what to report.

Owns: the state of one job across its runs (``JobState``), the transitions worth one log line
(``failing``, ``unhealthy``, ``recovered``), when a failed scheduled run is tried again, and
the text ``/healthz`` gives for a job that keeps failing. Pure: values in, values out (the
caller passes ``now``). Must not import anything that does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

#: failures in a row after which a job makes the daemon unhealthy
FAILING_AFTER = 3

Transition = Literal["failing", "unhealthy", "recovered"]


@dataclass(frozen=True, slots=True)
class JobState:
    """One job's recent history: ``failures`` in a row (0 when the last run succeeded)."""

    failures: int = 0
    failing_since: datetime | None = None
    last_error: str | None = None
    last_ok_at: datetime | None = None


def after_run(
    state: JobState, now: datetime, error: str | None, *, threshold: int = FAILING_AFTER
) -> tuple[JobState, Transition | None]:
    """The job's state after a run that ended with ``error`` (None: it succeeded), and the
    transition it made, if any: the first failure, reaching ``threshold`` failures in a row,
    or the first success after failures. Other runs change nothing worth a log line."""
    if error is None:
        recovered: Transition | None = "recovered" if state.failures else None
        return JobState(last_ok_at=now), recovered
    failures = state.failures + 1
    new = replace(
        state,
        failures=failures,
        failing_since=state.failing_since or now,
        last_error=error,
    )
    if failures == 1:
        return new, "failing"
    if failures == threshold:
        return new, "unhealthy"
    return new, None


def unhealthy(state: JobState, *, threshold: int = FAILING_AFTER) -> bool:
    return state.failures >= threshold


def describe(name: str, state: JobState) -> str:
    """``job 'digest:team' failed 3 times in a row since …: <error>``."""
    since = state.failing_since.isoformat(timespec="seconds") if state.failing_since else "?"
    times = "once" if state.failures == 1 else f"{state.failures} times in a row"
    error = (state.last_error or "").strip().split("\n", 1)[0]  # not the SQL that follows
    return f"job '{name}' failed {times} since {since}: {error}"


def retry_at(
    failures: int, now: datetime, regular: datetime, *, base_s: float = 30.0, cap_s: float = 900.0
) -> datetime:
    """When a scheduled job that failed ``failures`` times in a row runs next: after a
    growing wait (``base_s``, doubled each time, at most ``cap_s``), or at its ``regular``
    time when that comes first. With no failures, at its regular time."""
    if failures <= 0:
        return regular
    wait = min(cap_s, base_s * 2 ** min(30, failures - 1))
    return min(regular, now + timedelta(seconds=wait))
