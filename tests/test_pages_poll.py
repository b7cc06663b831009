"""Polling web pages and PDF documents served on 127.0.0.1: new links, amended text and a
document's text become items and matches; hostile pages and documents are recorded errors
that hold nothing else up."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cadence import CadencePolicy
from monitor.config import FeedSpec
from monitor.fetch import Fetcher
from monitor.parse_pool import ParsePool
from monitor.pipeline import Pipeline
from monitor.poller import run_cycle
from monitor.score.engine import compile_topics
from monitor.store import Store
from monitor.urls import canonical_url
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.pdfmaker import make_pdf
from tests.test_score_engine import topics_from

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)

WATCHLIST = """\
topics:
  - id: norad
    name: NORAD review
    description: NORAD and its radars.
    threshold: 3
    groups:
      norad: {weight: 3, terms: [NORAD, North Warning System]}
"""


def listing(*rows: tuple[str, str, str]) -> bytes:
    items = "".join(
        f'<li class="item"><a href="{href}">{title}</a> <span>{when}</span></li>'
        for href, title, when in rows
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>News releases</title></head>'
        '<body><nav><ul><li><a href="/">Home page of the department</a></li>'
        '<li><a href="/fr">Français</a></li></ul></nav>'
        f'<main><h1>News releases</h1><ul class="news">{items}</ul></main></body></html>'
    ).encode()


def page(text: str) -> bytes:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Consultation</title></head>'
        f"<body><main><h1>Consultation on Arctic shipping</h1>{text}</main></body></html>"
    ).encode()


FIRST = ("/news/1.html", "Minister visits Iqaluit", "December 1, 2026")
SECOND = ("/news/2.html", "Minister announces NORAD radar investments", "4 décembre 2026")


@dataclass
class Rig:
    server: FeedServer
    store: Store
    pipeline: Pipeline
    clock: list[datetime]

    def add(self, url: str, **spec: object) -> None:
        specs = [*self.specs, FeedSpec(url=url, **spec)]  # type: ignore[arg-type]
        self.specs = specs
        self.store.sync_feeds(specs, NOW)
        self.pipeline.sources = {s.url: s.source() for s in specs if s.type != "feed"}

    specs: tuple[FeedSpec, ...] | list[FeedSpec] = ()

    async def poll(self, *urls: str):  # type: ignore[no-untyped-def]
        self.clock[0] += timedelta(hours=1)
        return {p.url: p for p in (await run_cycle(self.pipeline, urls=list(urls))).polls}


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = [NOW]
    store = Store.open(f"sqlite:///{tmp_path / 'pages.db'}")
    fetcher = Fetcher(timeout_s=5.0, deadline_s=20.0, max_bytes=10_000_000)
    matcher = compile_topics(topics_from(WATCHLIST))
    pipeline = Pipeline(
        store,
        fetcher,
        lambda: matcher,
        CadencePolicy(interval_s=900.0, jitter=0.0),
        parse_pool=ParsePool(2),
        clock=lambda: clock[0],
        rng=random.Random(1),
    )
    try:
        with FeedServer() as server:
            yield Rig(server, store, pipeline, clock)
    finally:
        pipeline.close()
        await fetcher.aclose()
        store.close()


@pytest.mark.parametrize("selector", [None, "ul.news li a"])
async def test_a_listing_page_that_gains_a_link(rig: Rig, selector: str | None) -> None:
    html = "text/html; charset=utf-8"
    url = rig.server.feed("/news.html", listing(FIRST), content_type=html)
    rig.add(url, type="page", items=selector)
    first = (await rig.poll(url))[url]
    assert (first.outcome, first.new_items, first.new_matches) == ("ok", 1, 0)
    rig.server.feed("/news.html", listing(SECOND, FIRST), content_type=html)
    second = (await rig.poll(url))[url]
    assert (second.outcome, second.new_items, second.new_matches) == ("ok", 1, 1)
    stored = rig.store.item(url=canonical_url(rig.server.url("/news/2.html")))
    assert stored is not None
    assert stored.title == "Minister announces NORAD radar investments"
    assert stored.published == datetime(2026, 12, 4, tzinfo=UTC)
    assert [m.topic for m in stored.matches] == ["norad"]
    third = (await rig.poll(url))[url]
    assert (third.new_items, third.new_matches) == (0, 0)


async def test_an_amended_page_gives_a_change_item(rig: Rig) -> None:
    html = "text/html; charset=utf-8"
    url = rig.server.feed(
        "/consultation", page("<p>Comments until March 1.</p>"), content_type=html
    )
    rig.add(url, type="page", watch="text", name="Arctic shipping consultation")
    first = (await rig.poll(url))[url]
    assert (first.outcome, first.new_items) == ("ok", 0)  # the baseline
    amended = "<p>Comments until March 1.</p><p>NORAD asked for an extension.</p>"
    rig.server.feed("/consultation", page(amended), content_type=html)
    second = (await rig.poll(url))[url]
    assert (second.outcome, second.new_items, second.new_matches) == ("ok", 1, 1)
    (listed,) = rig.store.items(feed_url=url)
    assert listed.title == "Arctic shipping consultation: NORAD asked for an extension."
    again = page(amended + "<p>NORAD's submission is published.</p>")
    rig.server.feed("/consultation", again, content_type=html)
    third = (await rig.poll(url))[url]
    # a second amendment is a change of its own, matched again
    assert (third.new_items, third.new_matches) == (1, 1)
    assert rig.store.page_text(first.feed_id) is not None
    assert "NORAD's submission" in (rig.store.page_text(first.feed_id) or "")


async def test_a_pdf_document_is_read_and_matched(rig: Rig) -> None:
    pdf = make_pdf(
        [["Annual report", "The North Warning System will be replaced."]], title="Report"
    )
    url = rig.server.feed("/report.pdf", pdf, content_type="application/pdf")
    rig.add(url, type="document")
    polled = (await rig.poll(url))[url]
    assert (polled.outcome, polled.new_items, polled.new_matches) == ("ok", 1, 1)
    stored = rig.store.item(url=canonical_url(url))
    assert stored is not None and stored.title == "Report"


@pytest.mark.slow
async def test_hostile_pages_and_documents_are_recorded_and_hold_nothing_up(rig: Rig) -> None:
    html = "text/html; charset=utf-8"
    s = rig.server
    bomb = s.feed("/bomb.html", b"<div>" * 1_000_000 + b"<a href=/x>x</a>", content_type=html)
    not_pdf = s.feed("/fake.pdf", page("<p>Not found</p>"), content_type="application/pdf")
    broken = s.feed("/broken.pdf", make_pdf([["cut"]])[:150], content_type="application/pdf")
    huge = s.huge("/huge.html", 50 * 1024 * 1024)
    good = s.feed("/news.html", listing(SECOND, FIRST), content_type=html)
    feed = s.feed("/wire.xml", rss_feed("Wire", [SampleItem("NORAD exercise", link="/n/1")]))
    for url in (bomb, huge, good):
        rig.add(url, type="page")
    for url in (not_pdf, broken):
        rig.add(url, type="document")
    rig.add(feed)
    polls = await rig.poll(bomb, not_pdf, broken, huge, good, feed)
    outcome = {u: (p.outcome, p.error_kind) for u, p in polls.items()}
    assert outcome == {
        bomb: ("error", "no_items"),
        not_pdf: ("error", "not_a_pdf"),
        broken: ("error", "pdf_broken"),
        huge: ("error", "too_large"),
        good: ("ok", None),
        feed: ("ok", None),
    }
    assert "more than 256 deep" in (polls[bomb].error or "")
    assert "not a PDF" in (polls[not_pdf].error or "")
    assert (polls[good].new_items, polls[feed].new_items) == (2, 1)
    health = {f.url: f for f in rig.store.feeds()}
    assert health[not_pdf].last_error_kind == "not_a_pdf"
    assert health[bomb].consecutive_failures == 1
