"""Finding a publication date in the text around a link on a web page.

Owns: reading the dates that listing pages print beside their links, in English and French
(``2026-12-06``, ``December 6, 2026``, ``Dec. 6, 2026``, ``6 December 2026``,
``6 décembre 2026``, ``1er déc. 2026``, ``le 6 décembre 2026``), and the machine-readable
``datetime`` of a ``<time>`` element. Pure: takes text, returns a date or None. Must not import
fetch, store, deliver, pipeline, scheduler or cli.

Numeric dates other than year-first ones (``06/12/2026``) are not read: a page in English may
mean the 12th of June and one in French the 6th of December, and a wrong date is worse than
none. A date is midnight UTC of that day: listing pages give days, not times.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from dateutil import parser as dateparser

from monitor.model import plausible_date

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan janvier janv",
        "february feb fevrier fevr fev",
        "march mar mars",
        "april apr avril avr",
        "may mai",
        "june jun juin",
        "july jul juillet juil",
        "august aug aout",
        "september sep sept septembre",
        "october oct octobre",
        "november nov novembre",
        "december dec decembre",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:er|st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20|21)\d\d)"
_PATTERNS = (
    # 2026-12-06, 2026/12/06, 2026.12.06
    re.compile(r"\b(?P<year>(?:19|20|21)\d\d)[-/.](?P<mnum>[01]?\d)[-/.](?P<day>[0-3]?\d)\b"),
    # December 6, 2026 · Dec. 6 2026
    re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + r"\b"),
    # 6 December 2026 · 6 décembre 2026 · 1er déc. 2026 · 6 Dec, 2026
    re.compile(r"\b" + _DAY + r"\s+(?:de\s+)?" + _MONTH + r",?\s+" + _YEAR + r"\b"),
)


def _fold(text: str) -> str:
    """Lower case without accents (``décembre`` → ``decembre``, ``août`` → ``aout``)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def find_date(text: str) -> datetime | None:
    """The first date written in ``text`` (English or French), as midnight UTC, or None."""
    if not text:
        return None
    folded = _fold(text[:2000])
    best: tuple[int, datetime] | None = None
    for pattern in _PATTERNS:
        for m in pattern.finditer(folded):
            groups = m.groupdict()
            month = int(groups["mnum"]) if groups.get("mnum") else _MONTHS[groups["month"]]
            try:
                found = datetime(int(groups["year"]), month, int(groups["day"]), tzinfo=UTC)
            except ValueError:  # 31 February, month 13
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), found)
            break
    return plausible_date(best[1]) if best else None


def machine_date(value: str) -> datetime | None:
    """The date of a ``<time datetime="…">`` attribute (ISO 8601; naive means UTC), or None."""
    value = value.strip()
    if not re.match(r"^\d{4}-\d\d(-\d\d)?", value):
        return None
    try:
        found = dateparser.isoparse(value)
    except (ValueError, OverflowError):
        return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return plausible_date(found.astimezone(UTC))
