"""Article extraction benchmark: pages per second on one core, and what each extractor keeps.

Generates news article pages (``bench/feedfarm.py``'s :func:`article_page`: a 600-word article
of 8-14 paragraphs inside a menu, share buttons, a related-stories box, comments, a footer and
a page-data script, about 40 KB) and runs each extractor over all of them in this one process:

* **trafilatura** (what ``monitor.extract`` uses): ``bare_extraction`` with the options of
  ``monitor.extract.extract_article``; also through ``extract_article`` itself;
* **trafilatura fast**: the same with ``fast=True`` (no fallback extractors);
* **readability-lxml**: ``Document(html).summary()``, then the text of the HTML it returns;
* **jusText**: ``justext.justext(html, stoplist)``, the paragraphs not classed boilerplate.

For each it prints pages per second (the median of ``--repeat`` runs, with the spread), and two
measures of the text: *recall*, the share of the article's paragraphs found whole in the
extraction, and *leaks*, the share of pages whose extraction holds boilerplate (every piece of
boilerplate on the generated pages carries a marker word).

    pip install -e ".[bench]"      # readability-lxml and jusText
    python bench/bench_extract.py                  # 300 pages, 3 repeats
    python bench/bench_extract.py --pages 50 --repeat 1

One process, one core: run it with ``taskset -c 0`` to be sure.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from feedfarm import _sentence, article_page

Extractor = Callable[[bytes], str]


def _trafilatura(fast: bool) -> Extractor:
    import trafilatura

    def run(html: bytes) -> str:
        doc = trafilatura.bare_extraction(
            html,
            include_comments=False,
            include_tables=True,
            with_metadata=True,
            deduplicate=False,
            fast=fast,
        )
        return (doc.text or "") if doc is not None else ""

    return run


def _monitor() -> Extractor:
    from monitor.errors import ExtractError
    from monitor.extract import extract_article

    def run(html: bytes) -> str:
        try:
            return extract_article(html, None, "text/html").text
        except ExtractError:
            return ""

    return run


def _readability() -> Extractor:
    import lxml.html
    from readability import Document

    def run(html: bytes) -> str:
        summary = Document(html.decode("utf-8")).summary(html_partial=True)
        return lxml.html.fromstring(summary).text_content()

    return run


def _justext() -> Extractor:
    import justext

    stoplist = justext.get_stoplist("English")

    def run(html: bytes) -> str:
        paragraphs = justext.justext(html, stoplist)
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)

    return run


EXTRACTORS: dict[str, Callable[[], Extractor]] = {
    "trafilatura (monitor.extract)": _monitor,
    "trafilatura": lambda: _trafilatura(False),
    "trafilatura fast": lambda: _trafilatura(True),
    "readability-lxml": _readability,
    "jusText": _justext,
}


def pages(count: int, seed: int) -> list[tuple[bytes, list[str]]]:
    rng = random.Random(seed)
    return [
        article_page(rng, _sentence(rng, "en", rng.randint(6, 12)), "en", rng.randint(400, 900))
        for _ in range(count)
    ]


def quality(text: str, paragraphs: list[str]) -> tuple[float, bool]:
    flat = " ".join(text.split())
    found = sum(1 for p in paragraphs if " ".join(p.split()) in flat)
    return found / len(paragraphs), "BOILERPLATE" in text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/bench_extract.py", description=__doc__)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", help="one extractor, by name")
    args = ap.parse_args(argv)
    corpus = pages(args.pages, args.seed)
    size = sum(len(h) for h, _ in corpus) / len(corpus)
    print(f"{len(corpus)} pages, {size / 1000:.1f} KB each on average; {args.repeat} repeat(s)")
    print(f"{'extractor':32} {'pages/s':>9} {'spread':>15} {'recall':>7} {'leaks':>6}")
    for name, make in EXTRACTORS.items():
        if args.only and args.only != name:
            continue
        try:
            extract = make()
        except ImportError as exc:
            print(f"{name:32} not installed ({exc.name}): pip install -e '.[bench]'")
            continue
        extract(corpus[0][0])  # warm: imports, caches
        rates = []
        texts: list[str] = []
        for _ in range(args.repeat):
            t0 = time.process_time()
            texts = [extract(html) for html, _ in corpus]
            rates.append(len(corpus) / (time.process_time() - t0))
        scores = [quality(t, p) for t, (_, p) in zip(texts, corpus, strict=True)]
        recall = statistics.mean(s[0] for s in scores)
        leaks = sum(1 for s in scores if s[1]) / len(scores)
        print(
            f"{name:32} {statistics.median(rates):9.1f} "
            f"{f'{min(rates):.1f}-{max(rates):.1f}':>15} {recall:7.1%} {leaks:6.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
