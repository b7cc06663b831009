"""Cron next-fire times, quiet hours and alert release, with fixed clocks across DST changes.

America/Toronto switches to EDT on 2026-03-08 (02:00 EST -> 03:00 EDT) and back to EST on
2026-11-01 (02:00 EDT -> 01:00 EST).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.schedule import (
    ALERT_BATCH_S,
    alert_release_at,
    digest_times,
    in_quiet_hours,
    next_digest_at,
    parse_cron,
    parse_quiet_hours,
    quiet_hours_end,
)

TORONTO = "America/Toronto"
TZ = ZoneInfo(TORONTO)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=TZ, fold=fold).astimezone(UTC)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("expression", "minutes", "hours", "weekdays"),
    [
        ("0 8 * * mon-fri", (0,), (8,), {0, 1, 2, 3, 4}),
        ("*/15 * * * *", (0, 15, 30, 45), tuple(range(24)), set(range(7))),
        ("5,35 8-10 * * sun", (5, 35), (8, 9, 10), {6}),
        ("0 0-12/6 * * 7", (0,), (0, 6, 12), {6}),
        ("0 9 * * MON,Wed,fri", (0,), (9,), {0, 2, 4}),
        ("30 7 * * 1-5", (30,), (7,), {0, 1, 2, 3, 4}),
        ("0 8 * * 0", (0,), (8,), {6}),
        ("10/20 * * * *", (10, 30, 50), tuple(range(24)), set(range(7))),
    ],
)
def test_parse_cron_fields(
    expression: str, minutes: tuple[int, ...], hours: tuple[int, ...], weekdays: set[int]
) -> None:
    spec = parse_cron(expression)
    assert spec.minutes == minutes
    assert spec.hours == hours
    assert spec.weekdays == frozenset(weekdays)


def test_parse_cron_months_by_name() -> None:
    spec = parse_cron("0 8 1 jan,jul-sep *")
    assert spec.months == frozenset({1, 7, 8, 9})
    assert spec.days == frozenset({1})


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("* * * *", "has 4 field(s); it needs 5"),
        ("0 8 * * mon-fri extra", "has 6 field(s)"),
        ("60 * * * *", "minute field '60' contains 60, outside 0-59"),
        ("0 24 * * *", "hour field '24' contains 24, outside 0-23"),
        ("0 8 0 * *", "day of month field '0' contains 0, outside 1-31"),
        ("0 8 * 13 *", "month field '13'"),
        ("0 8 * * mon-fry", "'fry', which is neither a number nor a known name"),
        ("0 8 * * 8", "outside 0-7"),
        ("*/0 * * * *", "step that is not a positive whole number"),
        ("10-5 * * * *", "range that runs backwards"),
        ("0 8 * * mon-", "missing end"),
        ("0,,5 * * * *", "is empty"),
        ("0 0 30 feb *", "never fires"),
        ("0 0 31 apr,jun *", "never fires"),
        ("", "has 0 field(s)"),
    ],
)
def test_parse_cron_errors_say_what_is_wrong(expression: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_cron(expression)
    assert fragment in str(info.value)


def test_parse_cron_error_names_the_accepted_values() -> None:
    with pytest.raises(ValueError, match=r"sun-sat, e\.g\. mon-fri"):
        parse_cron("0 8 * * weekdays")


# --------------------------------------------------------------------------- next_digest_at


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        # weekday mornings: Friday before the change -> Monday after it, now in EDT
        ("0 8 * * mon-fri", local(2026, 3, 6, 9, 0), local(2026, 3, 9, 8, 0)),
        ("0 8 * * mon-fri", local(2026, 3, 6, 7, 59), local(2026, 3, 6, 8, 0)),
        # daily 08:00 is 13:00Z in EST and 12:00Z in EDT
        ("0 8 * * *", utc(2026, 3, 7, 0, 0), utc(2026, 3, 7, 13, 0)),
        ("0 8 * * *", utc(2026, 3, 7, 13, 0), utc(2026, 3, 8, 12, 0)),
        ("0 8 * * *", utc(2026, 10, 31, 12, 0), utc(2026, 11, 1, 13, 0)),
        # a wall time inside the spring gap fires when the gap ends (03:00 EDT)
        ("30 2 * * *", local(2026, 3, 7, 12, 0), utc(2026, 3, 8, 7, 0)),
        ("0 2 * * *", local(2026, 3, 7, 12, 0), utc(2026, 3, 8, 7, 0)),
        ("30 2 * * *", utc(2026, 3, 8, 7, 0), local(2026, 3, 9, 2, 30)),
        # a wall time in the repeated autumn hour fires once, at its first occurrence
        ("30 1 * * *", local(2026, 10, 31, 12, 0), local(2026, 11, 1, 1, 30, fold=0)),
        ("30 1 * * *", local(2026, 11, 1, 1, 30, fold=0), local(2026, 11, 2, 1, 30)),
        ("30 1 * * *", local(2026, 11, 1, 1, 10, fold=1), local(2026, 11, 2, 1, 30)),
        # hourly expressions run on elapsed time
        ("0 * * * *", local(2026, 3, 8, 1, 0), local(2026, 3, 8, 3, 0)),
        ("0 * * * *", local(2026, 11, 1, 1, 0, fold=0), local(2026, 11, 1, 1, 0, fold=1)),
        ("15 * * * *", local(2026, 11, 1, 1, 15, fold=1), local(2026, 11, 1, 2, 15)),
        # dom and dow both restricted: either matches (Friday 13 Mar, then Friday 20 Mar)
        ("0 0 13 * fri", local(2026, 3, 12, 12, 0), local(2026, 3, 13, 0, 0)),
        ("0 0 13 * fri", local(2026, 3, 13, 0, 0), local(2026, 3, 20, 0, 0)),
        ("0 0 1 * mon", local(2026, 3, 24, 0, 0), local(2026, 3, 30, 0, 0)),
        # leap day
        ("0 0 29 2 *", utc(2026, 1, 1), local(2028, 2, 29, 0, 0)),
        # strictly after: a firing instant is not returned again
        ("0 8 * * *", local(2026, 6, 1, 8, 0), local(2026, 6, 2, 8, 0)),
    ],
)
def test_next_digest_at(cron: str, after: datetime, expected: datetime) -> None:
    result = next_digest_at(cron, TORONTO, after)
    assert result == expected
    assert result.tzinfo is UTC


def test_every_30_minutes_across_the_autumn_change_stays_30_minutes_apart() -> None:
    times = digest_times("*/30 * * * *", TORONTO, utc(2026, 11, 1, 4, 50), 6)
    assert times == [utc(2026, 11, 1, 5, 0) + timedelta(minutes=30 * i) for i in range(6)]
    walls = [t.astimezone(TZ).strftime("%H:%M %Z") for t in times]
    assert walls == ["01:00 EDT", "01:30 EDT", "01:00 EST", "01:30 EST", "02:00 EST", "02:30 EST"]


def test_every_30_minutes_across_the_spring_change_skips_the_missing_hour() -> None:
    times = digest_times("*/30 * * * *", TORONTO, utc(2026, 3, 8, 6, 10), 3)
    walls = [t.astimezone(TZ).strftime("%H:%M %Z") for t in times]
    assert walls == ["01:30 EST", "03:00 EDT", "03:30 EDT"]
    assert times[1] - times[0] == timedelta(minutes=30)


def test_several_gap_times_collapse_into_one_firing() -> None:
    times = digest_times("0,30 2 * * *", TORONTO, utc(2026, 3, 8, 0, 0), 3)
    assert times == [utc(2026, 3, 8, 7, 0), local(2026, 3, 9, 2, 0), local(2026, 3, 9, 2, 30)]


def test_next_digest_at_accepts_a_parsed_spec_and_a_tzinfo() -> None:
    spec = parse_cron("0 8 * * *")
    assert next_digest_at(spec, TZ, utc(2026, 7, 1)) == local(2026, 7, 1, 8, 0)


@pytest.mark.parametrize(
    ("tz", "fragment"),
    [("Mars/Olympus", "unknown timezone 'Mars/Olympus'"), ("", "unknown timezone")],
)
def test_unknown_timezone_is_a_clear_error(tz: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        next_digest_at("0 8 * * *", tz, utc(2026, 1, 1))


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_digest_at("0 8 * * *", TORONTO, datetime(2026, 1, 1, 8, 0))


# A small grammar of cron fields, each with the values it means (cron numbering).
_MINUTE = [("*", set(range(60))), ("*/15", {0, 15, 30, 45}), ("0", {0}), ("5,35", {5, 35})]
_MINUTE += [("0-10/5", {0, 5, 10}), ("59", {59})]
_HOUR = [("*", set(range(24))), ("8", {8}), ("*/6", {0, 6, 12, 18}), ("1-3", {1, 2, 3})]
_DOM = [("*", set(range(1, 32))), ("1", {1}), ("15", {15}), ("*/10", {1, 11, 21, 31})]
_DOM += [("29", {29})]
_MONTH = [("*", set(range(1, 13))), ("3", {3}), ("mar-nov", set(range(3, 12)))]
_MONTH += [("*/4", {1, 5, 9}), ("11", {11})]
_DOW = [("*", set(range(7))), ("mon-fri", {1, 2, 3, 4, 5}), ("sun", {0}), ("0,6", {0, 6})]


@st.composite
def cron_cases(draw: st.DrawFn, *, every_hour: bool = False) -> tuple[str, dict[str, object]]:
    minute = draw(st.sampled_from(_MINUTE))
    hour = ("*", set(range(24))) if every_hour else draw(st.sampled_from(_HOUR))
    dom, month, dow = (draw(st.sampled_from(f)) for f in (_DOM, _MONTH, _DOW))
    text = " ".join(f[0] for f in (minute, hour, dom, month, dow))
    meaning: dict[str, object] = {
        "minutes": minute[1],
        "hours": hour[1],
        "days": dom[1],
        "months": month[1],
        "weekdays": dow[1],
        "dom_star": dom[0].startswith("*"),
        "dow_star": dow[0].startswith("*"),
    }
    return text, meaning


def _day_matches(m: dict[str, object], day: date) -> bool:
    cron_weekday = (day.weekday() + 1) % 7
    in_dom = day.day in m["days"]  # type: ignore[operator]
    in_dow = cron_weekday in m["weekdays"]  # type: ignore[operator]
    if day.month not in m["months"]:  # type: ignore[operator]
        return False
    if not m["dom_star"] and not m["dow_star"]:
        return in_dom or in_dow
    return in_dom and in_dow


def _brute_force(m: dict[str, object], zone: ZoneInfo, after: datetime) -> datetime:
    """The first whole UTC minute after ``after`` whose local wall time matches."""
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(3_000_000):
        wall = t.astimezone(zone)
        if not _day_matches(m, wall.date()):
            t = t.replace(minute=0) + timedelta(hours=1)
            continue
        if wall.hour in m["hours"] and wall.minute in m["minutes"]:  # type: ignore[operator]
            return t
        t += timedelta(minutes=1)
    raise AssertionError("no firing found")


_AFTERS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=60, deadline=None)
@given(case=cron_cases(), after=_AFTERS)
def test_next_digest_at_matches_a_minute_by_minute_scan_in_utc(
    case: tuple[str, dict[str, object]], after: datetime
) -> None:
    text, meaning = case
    try:
        parse_cron(text)
    except ValueError:
        return  # e.g. "0 0 29 11 *" is fine, but a never-firing mix is refused
    assert next_digest_at(text, "UTC", after) == _brute_force(meaning, ZoneInfo("UTC"), after)


_NEAR_DST = st.sampled_from([utc(2026, 3, 8, 4), utc(2026, 11, 1, 3)]).flatmap(
    lambda base: st.integers(min_value=0, max_value=6 * 3600).map(
        lambda s: base + timedelta(seconds=s)
    )
)


@settings(max_examples=60, deadline=None)
@given(case=cron_cases(every_hour=True), after=_NEAR_DST)
def test_hourly_expressions_follow_elapsed_time_across_dst(
    case: tuple[str, dict[str, object]], after: datetime
) -> None:
    text, meaning = case
    assert next_digest_at(text, TORONTO, after) == _brute_force(meaning, TZ, after)


@settings(max_examples=60, deadline=None)
@given(case=cron_cases(), after=_NEAR_DST)
def test_firings_are_strictly_increasing_and_on_matching_days(
    case: tuple[str, dict[str, object]], after: datetime
) -> None:
    text, meaning = case
    times = digest_times(text, TORONTO, after, 4)
    assert times[0] > after
    assert all(a < b for a, b in zip(times, times[1:], strict=False))
    for t in times:
        assert _day_matches(meaning, t.astimezone(TZ).date())


# --------------------------------------------------------------------------- quiet hours


@pytest.mark.parametrize(
    ("text", "start", "end", "crosses"),
    [
        ("22:00-07:00", (22, 0), (7, 0), True),
        ("9:30-17:00", (9, 30), (17, 0), False),
        (" 00:00 - 06:15 ", (0, 0), (6, 15), False),
    ],
)
def test_parse_quiet_hours(
    text: str, start: tuple[int, int], end: tuple[int, int], crosses: bool
) -> None:
    quiet = parse_quiet_hours(text)
    assert (quiet.start.hour, quiet.start.minute) == start
    assert (quiet.end.hour, quiet.end.minute) == end
    assert quiet.crosses_midnight is crosses


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("22-07", "not in the form HH:MM-HH:MM"),
        ("22:00", "not in the form HH:MM-HH:MM"),
        ("24:00-07:00", "24:00 is not a time of day"),
        ("22:00-07:60", "07:60 is not a time of day"),
        ("08:00-08:00", "start and end at the same time"),
        ("10pm-7am", "not in the form"),
    ],
)
def test_quiet_hours_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_quiet_hours(text)


@pytest.mark.parametrize(
    ("spec", "now", "inside"),
    [
        ("22:00-07:00", local(2026, 6, 1, 23, 0), True),
        ("22:00-07:00", local(2026, 6, 1, 3, 0), True),
        ("22:00-07:00", local(2026, 6, 1, 7, 0), False),
        ("22:00-07:00", local(2026, 6, 1, 21, 59), False),
        ("22:00-07:00", local(2026, 6, 1, 22, 0), True),
        ("09:00-17:00", local(2026, 6, 1, 12, 0), True),
        ("09:00-17:00", local(2026, 6, 1, 17, 0), False),
        # local wall time decides: 02:30Z is 22:30 EDT, inside; 11:30Z is 07:30 EDT, outside
        ("22:00-07:00", utc(2026, 6, 2, 2, 30), True),
        ("22:00-07:00", utc(2026, 6, 2, 11, 30), False),
    ],
)
def test_in_quiet_hours(spec: str, now: datetime, inside: bool) -> None:
    assert in_quiet_hours(spec, now, TORONTO) is inside


@pytest.mark.parametrize(
    ("spec", "now", "end"),
    [
        ("22:00-07:00", local(2026, 6, 1, 23, 0), local(2026, 6, 2, 7, 0)),
        ("22:00-07:00", local(2026, 6, 2, 3, 0), local(2026, 6, 2, 7, 0)),
        # the night of the spring change is an hour shorter
        ("22:00-07:00", local(2026, 3, 7, 23, 0), local(2026, 3, 8, 7, 0)),
        ("22:00-07:00", local(2026, 3, 7, 23, 0), utc(2026, 3, 8, 11, 0)),
        # an end time inside the gap ends when the gap does (03:00 EDT)
        ("01:00-02:30", local(2026, 3, 8, 1, 15), utc(2026, 3, 8, 7, 0)),
        # ... even when the whole time outside the period is skipped: the next period has
        # begun by then (02:01 is skipped too), but the alerts held are not held another day
        ("02:01-02:00", local(2026, 3, 7, 2, 1), utc(2026, 3, 8, 7, 0)),
        # an end time in the repeated hour: its next occurrence after now
        ("00:00-01:30", local(2026, 11, 1, 1, 10, fold=0), local(2026, 11, 1, 1, 30, fold=0)),
        ("00:00-01:30", local(2026, 11, 1, 1, 10, fold=1), local(2026, 11, 1, 1, 30, fold=1)),
        # outside quiet hours: now itself
        ("22:00-07:00", local(2026, 6, 1, 12, 0), local(2026, 6, 1, 12, 0)),
    ],
)
def test_quiet_hours_end(spec: str, now: datetime, end: datetime) -> None:
    assert quiet_hours_end(spec, now, TORONTO) == end


_SPECS = st.tuples(
    st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59)
).filter(lambda t: t[:2] != t[2:])


@settings(max_examples=200, deadline=None)
@given(
    parts=_SPECS,
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
)
# the whole time outside the period (02:00-02:01) skipped by the spring change
@example(parts=(2, 1, 2, 0), now=utc(2026, 3, 7, 7, 1))
def test_quiet_hours_end_is_the_first_moment_outside(
    parts: tuple[int, int, int, int], now: datetime
) -> None:
    spec = parse_quiet_hours("{:02d}:{:02d}-{:02d}:{:02d}".format(*parts))
    end = quiet_hours_end(spec, now, TORONTO)
    if not in_quiet_hours(spec, now, TORONTO):
        assert end == now
        return
    assert now < end <= now + timedelta(hours=25)
    # where the clocks jump over the end time, the period ends when they jump; when the time
    # outside the period is skipped whole, the next period has begun by then
    just_before = end - timedelta(seconds=1)
    jumped = just_before.astimezone(TZ).utcoffset() != end.astimezone(TZ).utcoffset()
    assert jumped or not in_quiet_hours(spec, end, TORONTO)
    assert in_quiet_hours(spec, end - timedelta(seconds=1), TORONTO)


# --------------------------------------------------------------------------- alerts


def test_alert_release_batches_a_few_seconds() -> None:
    first = local(2026, 6, 1, 12, 0)
    release = alert_release_at(first, quiet_hours="22:00-07:00", tz=TORONTO)
    assert release == first + timedelta(seconds=ALERT_BATCH_S)


def test_alert_in_quiet_hours_is_held_until_they_end() -> None:
    first = local(2026, 6, 1, 23, 30)
    assert alert_release_at(first, quiet_hours="22:00-07:00", tz=TORONTO) == local(2026, 6, 2, 7, 0)


def test_urgent_alert_is_not_held() -> None:
    first = local(2026, 6, 1, 23, 30)
    release = alert_release_at(first, quiet_hours="22:00-07:00", tz=TORONTO, urgent=True)
    assert release == first + timedelta(seconds=ALERT_BATCH_S)


def test_batch_that_ends_inside_quiet_hours_is_held() -> None:
    first = local(2026, 6, 1, 21, 59, 58)
    assert not in_quiet_hours("22:00-07:00", first, TORONTO)
    release = alert_release_at(first, quiet_hours=parse_quiet_hours("22:00-07:00"), tz=TORONTO)
    assert release == local(2026, 6, 2, 7, 0)


def test_no_quiet_hours_and_custom_batch() -> None:
    first = local(2026, 6, 1, 23, 30)
    assert alert_release_at(first, quiet_hours=None, tz=TORONTO, batch_s=0) == first


def test_alert_release_refuses_negative_batch_and_naive_time() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        alert_release_at(utc(2026, 1, 1), quiet_hours=None, tz=TORONTO, batch_s=-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        alert_release_at(datetime(2026, 1, 1), quiet_hours=None, tz=TORONTO)
