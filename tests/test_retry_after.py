"""The one Retry-After parser, as fetching and delivery both use it: delta-seconds, HTTP-dates
(against the response's Date header when it has one), and what is neither."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.retry_after import MAX_RETRY_AFTER_S, parse_retry_after

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("0", 0.0),
        ("007", 7.0),
        ("86400", 86_400.0),
        ("86401", MAX_RETRY_AFTER_S),
        ("999999999", MAX_RETRY_AFTER_S),
        ("9" * 400, MAX_RETRY_AFTER_S),  # float() of it is infinite
        ("9" * 5000, MAX_RETRY_AFTER_S),  # int() refuses this many digits
    ],
)
def test_delta_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "-5",
        "+5",
        "1.5",
        "1e3",
        "0x10",
        "inf",
        "NaN",
        "soon",
        "120 seconds",
        "\u00b2",  # SUPERSCRIPT TWO: str.isdigit() says yes, int() says no
        "\u0661\u0662",  # ARABIC-INDIC "12": digits, but not delta-seconds
        "\u0000",
        "Sat, 01 Mar 2025 25:00:00 GMT",  # no hour 25
        "Sat, 01 Mar 99999 13:00:00 GMT",  # beyond datetime's years
        "Sat, 32 Mar 2025 13:00:00 GMT",
    ],
)
def test_what_is_neither_gives_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None
    assert parse_retry_after(value, now=NOW, date="Sat, 01 Mar 2025 12:00:00 GMT") is None


@pytest.mark.parametrize(
    ("value", "date", "seconds"),
    [
        ("Sat, 01 Mar 2025 13:00:00 GMT", None, 3600.0),
        ("Sat, 01 Mar 2025 12:02:00 GMT", None, 120.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", None, 0.0),  # in the past
        ("Sat, 01 Jan 2000 00:00:00 GMT", None, 0.0),
        ("Sat, 01 Mar 2025 13:00:00", None, 3600.0),  # no zone: read as UTC
        ("Sat, 01 Mar 2025 14:00:00 +0100", None, 3600.0),
        ("Sat, 01 Mar 2025 13:00:00 GMT", "Sat, 01 Mar 2025 12:30:00 GMT", 1800.0),
        ("Sat, 01 Mar 2025 13:00:00 GMT", "Sat, 01 Mar 2025 14:00:00 GMT", 0.0),
        ("Sat, 01 Mar 2025 13:00:00 GMT", "garbage", 3600.0),  # an unreadable Date: now
        ("Sat, 01 Mar 2025 13:00:00 GMT", "", 3600.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None, MAX_RETRY_AFTER_S),
        ("Fri, 31 Dec 9999 23:59:59 -2359", None, MAX_RETRY_AFTER_S),
    ],
)
def test_http_date(value: str, date: str | None, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW, date=date) == seconds


def test_a_date_does_not_change_delta_seconds() -> None:
    assert parse_retry_after("30", now=NOW, date="Sat, 01 Mar 2025 20:00:00 GMT") == 30.0


def test_a_naive_now_is_read_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert parse_retry_after("Sat, 01 Mar 2025 13:00:00 GMT", now=naive) == 3600.0


@given(value=st.text(max_size=40), offset=st.integers(-(10**6), 10**6))
def test_never_raises_and_stays_in_bounds(value: str, offset: int) -> None:
    got = parse_retry_after(value, now=NOW + timedelta(seconds=offset))
    assert got is None or 0.0 <= got <= MAX_RETRY_AFTER_S
