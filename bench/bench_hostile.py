"""Parse time against body size for hostile markup: HTML to text, before and after.

For each shape (a run of unclosed ``<br``, of unclosed ``<a``, of ``<script>`` openers, tags
nested as deep as the body allows, one long attribute value, a run of entities, one huge line
of text inside a paragraph) and each size, prints the seconds :func:`monitor.normalize.html_to_text`
takes, and the seconds the regular-expression version it replaced takes (copied below as it
was). Growth is linear when the time grows by the same factor as the size (×3 a column).

Times are CPU seconds of the worker (other work on the machine does not inflate them). Every
measurement runs in a parse worker of :class:`monitor.parse_pool.ParsePool`, the daemon's
own, with a deadline: a measurement past ``--cap`` seconds shows as ``> cap`` and its worker is
stopped, which is what the daemon does to such a body (with its parse deadline). A size is not
tried for a version once a smaller one went past the cap.

A second table times a whole feed body through the worker's code (feedparser, normalising,
story signatures): a well-formed feed whose one item carries the shape as its summary, and
an ill-formed feed (raw unclosed tags that make feedparser fall back to its loose parser),
which is what the parse deadline is for.

    python bench/bench_hostile.py                    # sizes 10 KB .. 3 MB, cap 60 s
    python bench/bench_hostile.py --sizes 10000,100000 --cap 10   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.errors import ParseTimeout
from monitor.normalize import MAX_SUMMARY, html_to_text
from monitor.parse_pool import ParsePool, parse_for_store
from tests.feedserver import SampleItem, rss_feed

# -- the regular-expression version html_to_text replaced, as it was -------------------------

_DROP = re.compile(
    r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_BLOCK = re.compile(
    r"<\s*/?\s*(?:br|p|div|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|blockquote|pre|hr|section|"
    r"article|header|footer|figure|figcaption|aside|nav|main)\b[^>]*>",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z][^>]*>|<![^>]*>|<\?[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_ALL_SPACE = re.compile(r"\s+")
_LINES = re.compile(r" *\n[\s]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _regex_strip_once(text: str) -> str:
    if "<" in text:
        text = _DROP.sub(" ", text)
        text = _ALL_SPACE.sub(" ", text)
        text = _BLOCK.sub("\n", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def regex_html_to_text(value: str, *, limit: int | None = None) -> str:
    text = _CONTROL.sub("", value)
    for _ in range(4):
        if not _MARKUP.search(text):
            break
        text = _regex_strip_once(text)
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _LINES.sub("\n", text).strip()
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return text


# -- shapes ----------------------------------------------------------------------------------


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda size: unit * max(1, size // len(unit))


SHAPES: dict[str, Callable[[int], str]] = {
    "<br repeated": _repeat("<br"),
    "<a repeated": _repeat("<a"),
    "<script> repeated": _repeat("<script>"),
    "<div> nested": _repeat("<div>"),
    "<b>x nested": _repeat("<b>x"),
    "long attribute": lambda size: '<a href="' + "x" * size + '">link</a>',
    "entities": _repeat("&amp;&#233;&eacute;"),
    "one huge line": lambda size: "<p>" + "word " * (size // 5) + "</p>",
}


def _timed(fn: Callable[..., object], *args: object) -> float:
    """CPU seconds of the call: the figure other work on the machine does not inflate."""
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0


def time_text(which: str, shape: str, size: int) -> float:
    fn = html_to_text if which == "new" else regex_html_to_text
    value = SHAPES[shape](size)
    return _timed(lambda: fn(value, limit=MAX_SUMMARY))


def time_feed(shape: str, size: int) -> float:
    if shape == "ill-formed feed":
        body = (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
            b"<title>x</title><description>" + b"<br" * (size // 3) + b"</description></item>"
            b"</channel></rss>"
        )
    else:
        body = rss_feed("t", [SampleItem("x", summary=SHAPES[shape](size))])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return _timed(parse_for_store, body, "https://bench.example/feed", None, None, now)


def _cell(seconds: float | None, cap: float) -> str:
    if seconds is None:
        return "—"
    if seconds == float("inf"):
        return f"> {cap:g}"
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


async def _measure(pool: ParsePool, fn: Callable[..., float], *args: object) -> float:
    try:
        return await pool.run(fn, *args)
    except ParseTimeout:
        return float("inf")


def _size(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n / 1000:g} KB"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,30000,100000,300000,1000000,3000000")
    ap.add_argument("--cap", type=float, default=60.0, help="seconds before a measurement stops")
    ap.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shape names")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = [s for s in args.shapes.split(",") if s]
    pool = ParsePool(1, deadline_s=args.cap, s_per_mb=0.0)
    try:
        print(f"html_to_text, CPU seconds (regex: before; lxml: now); cap {args.cap:g} s")
        print("| shape | version | " + " | ".join(_size(n) for n in sizes) + " |")
        print("|---|---|" + "---:|" * len(sizes))
        for shape in shapes:
            for which, label in (("old", "regex"), ("new", "lxml")):
                cells: list[float | None] = []
                for n in sizes:
                    if float("inf") in cells:
                        cells.append(None)
                        continue
                    cells.append(await _measure(pool, time_text, which, shape, n))
                row = " | ".join(_cell(c, args.cap) for c in cells)
                print(f"| {shape} | {label} | {row} |", flush=True)
        print()
        print("whole feed body through the parse worker's code (lxml version), CPU seconds")
        print("| body | " + " | ".join(_size(n) for n in sizes) + " |")
        print("|---|" + "---:|" * len(sizes))
        for shape in ["<br repeated", "<div> nested", "entities", "ill-formed feed"]:
            feed_cells: list[float | None] = []
            for n in sizes:
                if float("inf") in feed_cells:
                    feed_cells.append(None)
                    continue
                feed_cells.append(await _measure(pool, time_feed, shape, n))
            row = " | ".join(_cell(c, args.cap) for c in feed_cells)
            print(f"| {shape} | {row} |", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    asyncio.run(main())
