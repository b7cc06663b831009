"""Charts for the Topics page, drawn as SVG on the server.

Owns: where the local days of a chart begin (``day_bounds``) and drawing a row of bars with an axis
(``bars_svg``). Pure: values in, markup out; the text in the SVG is escaped here. Imports
nothing from monitor.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from html import escape

WIDTH = 360
HEIGHT = 90
_AXIS = 14  # room under the bars for the dates


def day_bounds(last_day: date, days: int, zone: tzinfo) -> list[datetime]:
    """The ``days + 1`` instants (UTC) at which the local days ending with ``last_day``
    begin and the last one ends: a day of a change of clock is 23 or 25 hours long."""
    first = last_day - timedelta(days=days - 1)
    return [
        datetime.combine(first + timedelta(days=n), time.min, zone).astimezone(UTC)
        for n in range(days + 1)
    ]


def bars_svg(counts: list[int], last_day: date, *, label: str) -> str:
    """A bar per day (oldest at the left), the highest count marked, the first and last
    dates under the axis. ``label`` names the chart for screen readers."""
    n = max(1, len(counts))
    top = max(counts, default=0)
    step = WIDTH / n
    usable = HEIGHT - _AXIS - 12
    first = last_day - timedelta(days=n - 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        f'<line x1="0" y1="{HEIGHT - _AXIS}" x2="{WIDTH}" y2="{HEIGHT - _AXIS}" class="axis"/>',
    ]
    for i, count in enumerate(counts):
        if not count:
            continue
        h = max(1.0, usable * count / top)
        day = first + timedelta(days=i)
        parts.append(
            f'<rect x="{i * step + 1:.1f}" y="{HEIGHT - _AXIS - h:.1f}" '
            f'width="{max(1.0, step - 2):.1f}" height="{h:.1f}" class="bar">'
            f"<title>{day.isoformat()}: {count}</title></rect>"
        )
    parts.append(f'<text x="{WIDTH}" y="10" text-anchor="end" class="peak">max {top}/day</text>')
    parts.append(f'<text x="0" y="{HEIGHT - 2}" class="date">{first.isoformat()}</text>')
    parts.append(
        f'<text x="{WIDTH}" y="{HEIGHT - 2}" text-anchor="end" class="date">'
        f"{last_day.isoformat()}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
