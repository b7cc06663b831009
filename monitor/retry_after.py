"""Reading a ``Retry-After`` header: how long a server (a feed or a delivery receiver) asks us
to wait.

Owns: the one parser of ``Retry-After`` (RFC 9110 §10.2.3), used by fetching and by delivery.
Pure: the current time comes in as an argument. Imports only the standard library.

The rules:

* delta-seconds is ASCII digits only (``120``); a sign, a fraction, an exponent or any other
  digit script is not delta-seconds, and what is neither that nor an HTTP-date gives ``None``.
* An HTTP-date is measured against the response's own ``Date`` header when it has a readable
  one (so a server whose clock is off still means what it says), else against ``now``; a date
  in the past gives 0.
* Whatever is asked, the answer is at most :data:`MAX_RETRY_AFTER_S` (a day); callers apply
  their own, smaller bounds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["MAX_RETRY_AFTER_S", "parse_retry_after"]

#: A server asking for more than a day is treated as asking for a day.
MAX_RETRY_AFTER_S = 86_400.0


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, *, now: datetime, date: str | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP-date), capped at
    :data:`MAX_RETRY_AFTER_S`; ``None`` when absent or unreadable.

    ``date`` is the response's ``Date`` header, if any; ``now`` is used when it is absent or
    unreadable.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)  # float(): int() refuses thousands of digits
    when = _http_date(value)
    if when is None:
        return None
    ref = (_http_date(date) if date else None) or (
        now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    )
    return min(max(0.0, (when - ref).total_seconds()), MAX_RETRY_AFTER_S)
