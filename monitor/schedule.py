"""When digests fire and when alerts may go out: cron expressions, quiet hours, alert batching.

Owns: parsing five-field cron expressions and quiet-hour ranges, computing the next digest time
in a channel's timezone, and deciding when a batch of alerts is released. Pure: every function
takes ``now``/``after`` as an argument and returns a value. Imports nothing from ``monitor``
and does no I/O.

Daylight-saving rules (the cases a naive "add a day" gets wrong):

* An expression whose hour field is ``*`` (it fires every hour) runs on elapsed time: a wall
  time skipped by the spring change simply does not happen, and the repeated hour of the autumn
  change fires twice, once per real hour. ``*/30 * * * *`` therefore stays 30 minutes apart.
* Any other expression names wall-clock times: a time inside the spring gap fires once, at the
  moment the gap ends (``30 2 * * *`` fires at 03:00 on that day), and a time inside the
  repeated autumn hour fires once, at its first occurrence.

All results are timezone-aware datetimes in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Alerts that become due within this many seconds of the first one go out in one message.
ALERT_BATCH_S = 5.0

# How far ahead next_digest_at looks. Feb 29 with an unrestricted weekday needs up to 8 years.
_MAX_DAYS = 366 * 8 + 2

_MONTHS = {
    name: i
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
_WEEKDAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_DAYS_IN_MONTH = {
    1: 31,
    2: 29,
    3: 31,
    4: 30,
    5: 31,
    6: 30,
    7: 31,
    8: 31,
    9: 30,
    10: 31,
    11: 30,
    12: 31,
}


@dataclass(frozen=True, slots=True)
class _Field:
    label: str
    low: int
    high: int
    names: dict[str, int]
    example: str


_FIELDS = (
    _Field("minute", 0, 59, {}, "0-59, e.g. 0 or */15"),
    _Field("hour", 0, 23, {}, "0-23, e.g. 8 or 8-18"),
    _Field("day of month", 1, 31, {}, "1-31, e.g. 1 or 1,15"),
    _Field("month", 1, 12, _MONTHS, "1-12 or jan-dec"),
    _Field("day of week", 0, 7, _WEEKDAYS, "0-7 (0 and 7 are Sunday) or sun-sat, e.g. mon-fri"),
)


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed five-field cron expression.

    ``weekdays`` uses Python's numbering (Monday is 0). As in Vixie cron, when both the day of
    month and the day of week are restricted (neither starts with ``*``), a day matches if
    either matches.
    """

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    @property
    def every_hour(self) -> bool:
        return len(self.hours) == 24

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = day.weekday() in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def __str__(self) -> str:
        return self.expression


def parse_cron(expression: str) -> CronSpec:
    """Parse a five-field cron expression (``minute hour day-of-month month day-of-week``).

    Supports ``*``, numbers, ranges ``a-b``, steps ``*/n`` and ``a-b/n``, lists ``a,b`` and
    English three-letter names for months and weekdays (``0 8 * * mon-fri``). Raises
    ``ValueError`` saying which field is wrong and what it accepts.
    """
    if not isinstance(expression, str):
        raise ValueError(f"a cron expression must be a string, not {type(expression).__name__}")
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(
            f"cron expression '{expression}' has {len(parts)} field(s); it needs 5: "
            "minute hour day-of-month month day-of-week, e.g. '0 8 * * mon-fri'"
        )
    values = [
        _parse_field(text, spec, expression) for text, spec in zip(parts, _FIELDS, strict=True)
    ]
    minutes, hours, days, months, cron_weekdays = values
    weekdays = frozenset((d - 1) % 7 for d in cron_weekdays)  # cron 0/7 = Sunday -> Python 6
    days_restricted = not parts[2].startswith("*")
    weekdays_restricted = not parts[4].startswith("*")
    spec = CronSpec(
        expression=" ".join(parts),
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=weekdays,
        days_restricted=days_restricted,
        weekdays_restricted=weekdays_restricted,
    )
    if not weekdays_restricted and not any(
        d <= _DAYS_IN_MONTH[m] for m in spec.months for d in spec.days
    ):
        raise ValueError(
            f"cron expression '{expression}' never fires: no month in its month field "
            "has any of the days in its day-of-month field"
        )
    return spec


def _parse_field(text: str, spec: _Field, expression: str) -> set[int]:
    out: set[int] = set()
    for item in text.split(","):
        out |= _parse_item(item, spec, expression)
    return out


def _parse_item(item: str, spec: _Field, expression: str) -> set[int]:
    def bad(why: str) -> ValueError:
        return ValueError(
            f"cron expression '{expression}': {spec.label} field '{item}' {why}; "
            f"expected {spec.example}"
        )

    if not item:
        raise bad("is empty")
    body, _, step_text = item.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise bad("has a step that is not a positive whole number")
        step = int(step_text)
    if body == "*":
        low, high = spec.low, spec.high
        if spec.label == "day of week":
            high = 6  # 7 would repeat Sunday
    elif "-" in body:
        first, _, last = body.partition("-")
        low, high = _value(first, spec, bad), _value(last, spec, bad)
        if low > high:
            raise bad("is a range that runs backwards")
    else:
        low = _value(body, spec, bad)
        high = spec.high if step_text else low
    return set(range(low, high + 1, step))


def _value(text: str, spec: _Field, bad: Callable[[str], ValueError]) -> int:
    key = text.lower()
    if not key:
        raise bad("has a range with a missing end")
    if key in spec.names:
        return spec.names[key]
    if not text.isdigit():
        raise bad(f"contains '{text}', which is neither a number nor a known name")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise bad(f"contains {value}, outside {spec.low}-{spec.high}")
    return value


def resolve_zone(tz: str | tzinfo) -> tzinfo:
    """A tzinfo for an IANA name (``America/Toronto``) or an existing tzinfo."""
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone '{tz}'; use an IANA name such as America/Toronto or UTC"
        ) from exc


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (got naive {value})")


def _instants(wall: datetime, zone: tzinfo) -> tuple[str, list[datetime]]:
    """The UTC instants a naive local wall time denotes, and whether it is normal/ambiguous/gap.

    For a gap (the wall time was skipped) the list holds the instant the gap ends.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return "normal", [first]
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return "ambiguous", sorted((first, second))
    return "gap", [_gap_end(min(first, second), max(first, second), zone)]


def _gap_end(lo: datetime, hi: datetime, zone: tzinfo) -> datetime:
    """The first instant in (lo, hi] whose UTC offset is the one in force at ``hi``."""
    target = hi.astimezone(zone).utcoffset()
    low, high = 0, int((hi - lo).total_seconds())
    while low < high:
        mid = (low + high) // 2
        if (lo + timedelta(seconds=mid)).astimezone(zone).utcoffset() == target:
            high = mid
        else:
            low = mid + 1
    return lo + timedelta(seconds=low)


def next_digest_at(cron: str | CronSpec, tz: str | tzinfo, after: datetime) -> datetime:
    """The first instant strictly after ``after`` at which ``cron`` fires in timezone ``tz``.

    ``after`` must be timezone-aware; the result is aware and in UTC. See the module docstring
    for how daylight-saving changes are handled.
    """
    spec = cron if isinstance(cron, CronSpec) else parse_cron(cron)
    zone = resolve_zone(tz)
    _require_aware(after, "after")
    day = after.astimezone(zone).date()
    for _ in range(_MAX_DAYS):
        if spec.matches_day(day):
            found = [t for t in _day_instants(spec, day, zone) if t > after]
            if found:
                return min(found)
        day += timedelta(days=1)
    raise ValueError(f"cron expression '{spec}' does not fire within {_MAX_DAYS} days")


def _day_instants(spec: CronSpec, day: date, zone: tzinfo) -> Iterable[datetime]:
    for hour in spec.hours:
        for minute in spec.minutes:
            kind, instants = _instants(datetime.combine(day, time(hour, minute)), zone)
            if spec.every_hour:
                if kind != "gap":
                    yield from instants
            else:
                yield instants[0]


def digest_times(
    cron: str | CronSpec, tz: str | tzinfo, after: datetime, count: int
) -> list[datetime]:
    """The next ``count`` firing instants after ``after`` (for ``monitor check`` previews)."""
    out: list[datetime] = []
    current = after
    for _ in range(count):
        current = next_digest_at(cron, tz, current)
        out.append(current)
    return out


_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily quiet period in local wall time; ``start > end`` means it crosses midnight."""

    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.start > self.end

    def contains(self, wall: time) -> bool:
        if self.crosses_midnight:
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet_hours(text: str) -> QuietHours:
    """Parse ``"22:00-07:00"`` (24-hour clock, local time; may cross midnight)."""
    if not isinstance(text, str):
        raise ValueError(f"quiet hours must be a string like '22:00-07:00', not {text!r}")
    m = _HHMM.match(text)
    if m is None:
        raise ValueError(
            f"quiet hours '{text}' are not in the form HH:MM-HH:MM; write e.g. '22:00-07:00'"
        )
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    for h, mi in ((h1, m1), (h2, m2)):
        if h > 23 or mi > 59:
            raise ValueError(
                f"quiet hours '{text}': {h:02d}:{mi:02d} is not a time of day; use 00:00 to 23:59"
            )
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError(
            f"quiet hours '{text}' start and end at the same time; give a real range such as "
            "'22:00-07:00', or remove quiet_hours"
        )
    return QuietHours(start, end)


def _as_quiet(spec: QuietHours | str) -> QuietHours:
    return spec if isinstance(spec, QuietHours) else parse_quiet_hours(spec)


def in_quiet_hours(spec: QuietHours | str, now: datetime, tz: str | tzinfo) -> bool:
    """Whether ``now`` falls inside the quiet period, read on the local wall clock of ``tz``."""
    _require_aware(now, "now")
    quiet = _as_quiet(spec)
    local = now.astimezone(resolve_zone(tz))
    return quiet.contains(local.time().replace(tzinfo=None))


def quiet_hours_end(spec: QuietHours | str, now: datetime, tz: str | tzinfo) -> datetime:
    """When the quiet period containing ``now`` ends (UTC); ``now`` itself if not in one.

    If the end time is skipped by a daylight-saving change, the period ends when the skipped
    hour does; if it occurs twice, at its first occurrence after ``now``.
    """
    _require_aware(now, "now")
    quiet = _as_quiet(spec)
    zone = resolve_zone(tz)
    now_utc = now.astimezone(UTC)
    if not in_quiet_hours(quiet, now, zone):
        return now_utc
    day = now.astimezone(zone).date()
    for offset in range(3):
        _, instants = _instants(datetime.combine(day + timedelta(days=offset), quiet.end), zone)
        later = [t for t in instants if t > now_utc]
        if later:
            return later[0]
    raise AssertionError("unreachable: a quiet period ends within two days")  # pragma: no cover


def alert_release_at(
    first_pending_at: datetime,
    *,
    quiet_hours: QuietHours | str | None,
    tz: str | tzinfo,
    urgent: bool = False,
    batch_s: float = ALERT_BATCH_S,
) -> datetime:
    """When a batch of pending alerts for one channel should be sent (UTC).

    ``first_pending_at`` is when the oldest alert in the batch became pending; alerts arriving
    within ``batch_s`` seconds join it. If the release time falls in the channel's quiet hours
    the batch is held until they end, unless ``urgent`` (pass ``True`` when any alert in the
    batch is urgent). The caller sends when ``now >= alert_release_at(...)``.
    """
    _require_aware(first_pending_at, "first_pending_at")
    if batch_s < 0:
        raise ValueError(f"batch_s must not be negative (got {batch_s})")
    release = first_pending_at.astimezone(UTC) + timedelta(seconds=batch_s)
    if urgent or quiet_hours is None:
        return release
    return quiet_hours_end(quiet_hours, release, tz)
