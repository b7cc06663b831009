"""Values written in ``monitor.yaml``: durations, sizes and fractions, as settings take them.

Owns: ``parse_duration`` (``15m``, ``1h30m``), ``parse_size`` (``10MB``), ``parse_fraction``
(``10%``), their bounds, and the annotated types the settings' schema uses (``Duration``,
``Size``, ``Fraction``, ``Jitter``, ``Cron``). Pure: values in, values out. Imports
``monitor.schedule`` only; must not import store, fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from monitor.schedule import parse_cron

DEFAULT_DATABASE = "sqlite:///monitor.db"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration(value: Any) -> float:
    """``"15m"``, ``"1h30m"``, ``"20s"``, ``"2d"`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 15m, 30s, 1h30m")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("expected a duration like 15m, 30s, 1h30m (a finite number)")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like 15m, 30s, 1h30m")
    text = value.strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise ValueError(f"'{value}' is not a duration; write e.g. 45s, 15m, 1h30m or 2d")
    return total


def parse_size(value: Any) -> int:
    """``"10MB"``, ``"512KiB"`` or a number of bytes → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a size; write e.g. 10MB, 512KB or 2MiB")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])


def parse_fraction(value: Any) -> float:
    """``"10%"`` or ``0.1`` → 0.1."""
    if isinstance(value, str) and value.strip().endswith("%"):
        value = float(value.strip()[:-1]) / 100
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a fraction like 10% or 0.1")
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(f"{value} is not between 0% and 100%")
    return number


#: The longest duration a setting may have: longer ones would take dates past what a
#: calendar (and the database) can hold once added to today.
MAX_DURATION_S = 100 * 365 * 86400.0
MAX_BYTES = 2**30


def _positive_duration(value: float) -> float:
    if value <= 0:
        raise ValueError("must be longer than 0, e.g. 30s, 15m or 1h")
    if value > MAX_DURATION_S:
        raise ValueError("must be at most 100 years")
    return value


def _positive_size(value: int) -> int:
    if not 0 < value <= MAX_BYTES:
        raise ValueError("must be more than 0 bytes and at most 1GiB, e.g. 10MB")
    return value


def _below_one(value: float) -> float:
    if value >= 1:
        raise ValueError("must be below 100% (0.1 = 10% either way), e.g. 10%")
    return value


def _cron(value: str) -> str:
    return parse_cron(value).expression


Duration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_positive_duration)]
Size = Annotated[int, BeforeValidator(parse_size), AfterValidator(_positive_size)]
Fraction = Annotated[float, BeforeValidator(parse_fraction)]
Jitter = Annotated[float, BeforeValidator(parse_fraction), AfterValidator(_below_one)]
Cron = Annotated[str, AfterValidator(_cron)]
