"""Reading web pages and PDF documents: PDF text extractors compared, listing pages timed.

PDF: the same generated documents (``--pages`` pages of ``--lines`` lines of text each) read
with pypdf (what ``monitor.pdf`` uses) and with pdfminer.six (the alternative, installed with
the ``bench`` extra), in this process, one after the other, ``--rounds`` times; prints pages
per second of CPU time for each and their ratio, and checks both found the same words.

Pages: a generated listing page of ``--links`` news releases between a menu, a sidebar and a
footer, read by :func:`monitor.sources.read_listing` (parse, find the main list of links,
dates, normalise); prints pages per second, and the same for a page of 1,000,000 nested
``<div>`` (read up to depth 256, then refused).

    python bench/bench_sources.py
    python bench/bench_sources.py --pages 50 --rounds 3
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.errors import PageError
from monitor.pdf import MAX_TEXT, read_pdf
from monitor.sources import read_listing
from tests.pdfmaker import make_pdf

WORDS = (
    "the minister announced new radar sites for NORAD modernization in the Arctic and "
    "committee members asked about tariffs on steel and aluminium imports from the United States"
).split()


def document(pages: int, lines: int) -> bytes:
    text = [
        [" ".join(WORDS[(p * 7 + n * 3 + k) % len(WORDS)] for k in range(12)) for n in range(lines)]
        for p in range(pages)
    ]
    return make_pdf(text, title="Benchmark report")


def with_pypdf(body: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def with_pdfminer(body: bytes) -> str:
    from pdfminer.high_level import extract_text

    return str(extract_text(io.BytesIO(body)))


def cpu(fn: Callable[[], object], rounds: int) -> tuple[float, object]:
    best = float("inf")
    out: object = None
    for _ in range(rounds):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def listing(links: int) -> bytes:
    rows = "".join(
        f'<li><a href="/en/news/2026/{n}.html">News release {n}: {" ".join(WORDS[n % 9 :][:8])}'
        f"</a><p>December {1 + n % 28}, 2026 — {' '.join(WORDS[:20])}</p></li>"
        for n in range(links)
    )
    menu = "".join(f'<li><a href="/m{n}">Menu {n}</a></li>' for n in range(30))
    return (
        "<html><head><title>News</title></head><body>"
        f"<header><nav><ul>{menu}</ul></nav></header><main><ul class='news'>{rows}</ul></main>"
        f"<aside class='sidebar'><ul>{menu}</ul></aside><footer><ul>{menu}</ul></footer>"
        "</body></html>"
    ).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--lines", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--links", type=int, default=200)
    args = ap.parse_args()

    body = document(args.pages, args.lines)
    print(f"PDF: {args.pages} pages x {args.lines} lines, {len(body):,} bytes")
    t_pypdf, text_pypdf = cpu(lambda: with_pypdf(body), args.rounds)
    print(f"  pypdf        {t_pypdf:7.3f} s  {args.pages / t_pypdf:8.1f} pages/s")
    try:
        t_miner, text_miner = cpu(lambda: with_pdfminer(body), args.rounds)
    except ImportError:
        print("  pdfminer.six not installed (pip install -e '.[bench]')")
    else:
        print(f"  pdfminer.six {t_miner:7.3f} s  {args.pages / t_miner:8.1f} pages/s")
        print(f"  pdfminer.six / pypdf time: {t_miner / t_pypdf:.2f}x")
        same = str(text_pypdf).split() == str(text_miner).split()
        print(f"  the same words in the same order: {same}")
    t_read, _ = cpu(lambda: read_pdf(body), args.rounds)
    print(f"  monitor.pdf.read_pdf (stops at {MAX_TEXT:,} characters): {t_read:.3f} s")

    now = datetime(2026, 12, 6, tzinfo=UTC)
    page = listing(args.links)
    url = "https://gov.example/en/news.html"
    t_page, read = cpu(lambda: read_listing(page, url, None, "en", now), args.rounds)
    found = len(read.items)  # type: ignore[attr-defined]
    print(f"listing page: {args.links} releases, {len(page):,} bytes, {found} items read")
    print(f"  {t_page * 1000:7.1f} ms  {1 / t_page:8.1f} pages/s")
    bomb = b"<div>" * 1_000_000 + b"<a href='/x'>x</a>"

    def refuse() -> None:
        try:
            read_listing(bomb, url, None, "en", now)
        except PageError:
            return
        raise AssertionError("the nested page was read")

    t_bomb, _ = cpu(refuse, args.rounds)
    print(f"nested page: {len(bomb):,} bytes, refused in {t_bomb * 1000:.1f} ms")


if __name__ == "__main__":
    main()
