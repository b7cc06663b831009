"""The record of a scheduled job's runs, and when a failed digest job runs again (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.jobs import JobState, after_run, describe, retry_at, unhealthy

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_a_job_fails_turns_unhealthy_at_the_threshold_and_recovers() -> None:
    state = JobState()
    seen = []
    for n, error in enumerate(["locked", "locked", "disk full", "disk full", None, None]):
        state, change = after_run(state, NOW + timedelta(seconds=n), error, threshold=3)
        seen.append((state.failures, change, unhealthy(state, threshold=3)))
    assert seen == [
        (1, "failing", False),
        (2, None, False),
        (3, "unhealthy", True),
        (4, None, True),
        (0, "recovered", False),
        (0, None, False),
    ]
    assert state.last_ok_at == NOW + timedelta(seconds=5) and state.last_error is None


def test_the_failure_text_keeps_the_first_failure_time_and_the_last_error() -> None:
    state, _ = after_run(JobState(), NOW, "database error: locked\n[SQL: SELECT 1]")
    state, _ = after_run(state, NOW + timedelta(minutes=1), "database error: disk full\n[SQL: x]")
    assert describe("digest:team", state) == (
        "job 'digest:team' failed 2 times in a row since 2026-11-20T12:00:00+00:00: "
        "database error: disk full"
    )


@pytest.mark.parametrize(
    ("failures", "regular_in_s", "expected_in_s"),
    [
        (0, 3600, 3600),  # no failure: the regular time
        (1, 3600, 30),  # then 30 s, 60 s, 120 s …
        (2, 3600, 60),
        (3, 3600, 120),
        (10, 3600, 900),  # at most 15 minutes
        (200, 3600, 900),  # no overflow however long it fails
        (1, 10, 10),  # the regular time when it comes first
    ],
)
def test_a_failed_digest_job_runs_again_after_a_growing_wait(
    failures: int, regular_in_s: float, expected_in_s: float
) -> None:
    regular = NOW + timedelta(seconds=regular_in_s)
    assert retry_at(failures, NOW, regular) == NOW + timedelta(seconds=expected_in_s)
