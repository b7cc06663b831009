"""Article fetches that go wrong, through the real pipeline and enricher.

A feed of one-line summaries is polled by :class:`monitor.pipeline.Pipeline` and its articles
fetched by :class:`monitor.enrich.ArticleEnricher`, with a real :class:`~monitor.fetch.Fetcher`
(small timeouts and caps) against ``tests.feedserver`` on 127.0.0.1 and a SQLite file store.
Among the articles: a good one whose body holds the topic's words, one of 50 MB, an HTML bomb
of nested tags, one the extractor fails on, one robots.txt disallows, a 404 and one that never
answers. Each must end with a clear outcome recorded on its article (status, error kind, a
message naming the cause), one round must finish them all, and the good one must match.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.articles import FulltextSettings
from monitor.cadence import CadencePolicy
from monitor.config import FeedSpec
from monitor.enrich import ArticleEnricher
from monitor.extract import Extracted, extract_article
from monitor.fetch import Fetcher
from monitor.fetch.robots import RobotsCache
from monitor.model import ArticleState
from monitor.parse_pool import ParsePool
from monitor.pipeline import Pipeline
from monitor.poller import run_cycle
from monitor.score.engine import compile_topics
from monitor.score.spec import WatchlistFile
from monitor.store import Store
from tests.feedserver import FeedServer, Route, SampleItem, rss_feed

POLICY = CadencePolicy(
    interval_s=900.0,
    jitter=0.0,
    backoff_base_s=120.0,
    slow_backoff_base_s=3600.0,
    max_backoff_s=3600.0,
    max_retry_after_s=3600.0,
)
TOPICS = WatchlistFile.model_validate(
    {
        "topics": [
            {
                "id": "norad",
                "name": "NORAD review",
                "description": "The future and funding of NORAD.",
                "threshold": 2,
                "groups": {
                    "norad": {"weight": 2, "terms": [{"term": "NORAD", "case": "sensitive"}]},
                    "radar": {"weight": 2, "terms": ["over-the-horizon radar"]},
                },
            }
        ]
    }
).topics
ARTICLE_MAX_BYTES = 2_000_000
EXPLODE = b"<!-- the extractor fails on this page -->"


def page(paragraph: str, extra: bytes = b"") -> bytes:
    filler = "<p>Premiers met to discuss health transfers, housing and groceries today.</p>"
    return (
        f"<!DOCTYPE html><html><head><title>News</title></head><body><article><h1>News</h1>"
        f"{filler}<p>{paragraph}</p>{filler}</article></body></html>"
    ).encode() + extra


def html_bomb(depth: int = 150_000) -> bytes:
    """Tags nested ``depth`` deep around one sentence, never closed."""
    return b"<html><body>" + b"<div><span>" * depth + b"NORAD over-the-horizon radar"


@dataclass
class Rig:
    server: FeedServer
    store: Store
    pipeline: Pipeline
    enricher: ArticleEnricher
    urls: dict[str, str]

    def state(self, name: str) -> ArticleState:
        item = self.store.item(url=self.urls[name])
        assert item is not None, f"the item of {name} was not stored"
        state = self.store.articles.state(item.id)
        assert state is not None, f"the article of {name} was never considered"
        return state


def extract_exploding(body: bytes, url: str | None, content_type: str | None) -> Extracted:
    """The real extraction, with trafilatura failing inside on a page marked EXPLODE. Runs in
    the parse worker (which imports it from here: workers are not forks of this process, so
    a patch made here would not reach them)."""
    import trafilatura

    real = trafilatura.bare_extraction

    def failing(page: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(page, bytes) and EXPLODE in page:
            raise RuntimeError("internal extractor error")
        return real(page, *args, **kw)

    trafilatura.bare_extraction = failing
    try:
        return extract_article(body, url, content_type)
    finally:
        trafilatura.bare_extraction = real


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    with FeedServer() as server:
        server.feed(
            "/robots.txt",
            b"User-agent: *\nDisallow: /private/\n",
            content_type="text/plain",
        )
        html = "text/html; charset=utf-8"
        urls = {
            "good": server.feed(
                "/a/good",
                page("The NORAD upgrade includes an over-the-horizon radar in the Arctic."),
                content_type=html,
            ),
            "huge": server.add(
                "/a/huge",
                Route(
                    body=b"<p>" + b"word " * 13_000 + b"</p>\n",
                    prefix=b"<html><body>",
                    repeat=50 * 1024 * 1024 // 65_000,
                    chunked=True,
                    content_type=html,
                ),
            ),
            "bomb": server.feed("/a/bomb", html_bomb(), content_type=html),
            "explode": server.feed(
                "/a/explode", page("NORAD over-the-horizon radar", EXPLODE), content_type=html
            ),
            "private": server.feed(
                "/private/memo", page("NORAD over-the-horizon radar"), content_type=html
            ),
            "missing": server.error("/a/missing", 404),
            "slow": server.hang("/a/slow"),
        }
        feed = server.feed(
            "/feed.xml",
            rss_feed(
                "Capital News",
                [
                    SampleItem(f"Story {name}", link=url, summary="One line.")
                    for name, url in urls.items()
                ],
            ),
        )
        store = Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
        store.sync_feeds([FeedSpec(url=feed, name="Capital News")], datetime.now(UTC))
        matcher = compile_topics(TOPICS)
        # the page that never answers costs the timeout; the others answer at once, but a
        # loaded machine may take a second or two to let them: 3 s is room for both
        async with Fetcher(timeout_s=3.0, deadline_s=6.0, max_bytes=10_000_000) as fetcher:
            pool = ParsePool(1, deadline_s=5.0)
            pipeline = Pipeline(store, fetcher, lambda: matcher, POLICY, parse_pool=pool)
            enricher = ArticleEnricher(
                store,
                fetcher,
                pool,
                lambda: matcher,
                FulltextSettings,
                robots=RobotsCache(fetcher),
                max_bytes=ARTICLE_MAX_BYTES,
                extract=extract_exploding,
            )
            try:
                yield Rig(server, store, pipeline, enricher, urls)
            finally:
                enricher.close()
                pipeline.close()
                store.close()


async def test_each_hostile_article_is_recorded_and_none_holds_up_the_others(rig: Rig) -> None:
    cycle = await run_cycle(rig.pipeline)
    [poll] = cycle.polls
    # the poll stored and scored every item on its title and summary without any article
    assert poll.outcome == "ok" and poll.new_items == len(rig.urls) and poll.new_matches == 0
    assert rig.store.articles.counts() == {}

    report = await rig.enricher.run()
    assert report.considered == report.queued == len(rig.urls)
    assert len(report.fetched) == len(rig.urls)  # one round finished every one of them

    good = rig.state("good")
    assert good.status == "ok" and "over-the-horizon radar" in (good.text or "")
    [match] = rig.store.matches(limit=None)
    assert match.title == "Story good" and {r.field for r in match.reasons} == {"body"}
    assert report.new_matches == 1

    huge = rig.state("huge")
    assert (huge.status, huge.error_kind) == ("error", "too_large")
    assert f"{ARTICLE_MAX_BYTES:,} bytes" in (huge.error or "")
    assert rig.server.count("/a/huge") == 1

    explode = rig.state("explode")
    assert (explode.status, explode.error_kind) == ("error", "no_text")
    assert "the extractor failed on the page (RuntimeError" in (explode.error or "")

    private = rig.state("private")
    assert (private.status, private.error_kind) == ("error", "robots")
    assert "robots.txt disallows" in (private.error or "")
    assert rig.server.count("/private/memo") == 0
    assert rig.server.count("/robots.txt") == 1  # asked once for the whole site

    missing = rig.state("missing")
    assert (missing.status, missing.error_kind) == ("error", "not_found")
    assert "404" in (missing.error or "")

    # a timeout may mend: the article waits for its next attempt, with why it failed
    slow = rig.state("slow")
    assert (slow.status, slow.error_kind) == ("pending", "timeout")
    assert slow.attempts == 1 and "timed out" in (slow.error or "")

    # the bomb is bounded: extracted, found empty, or stopped at the parse deadline
    bomb = rig.state("bomb")
    assert bomb.status in ("ok", "error")
    if bomb.status == "error":
        assert bomb.error_kind in ("no_text", "parse_timeout") and bomb.error

    # nothing is due now: a second round fetches nothing again
    again = await rig.enricher.run()
    assert again.considered == 0 and again.fetched == []
    assert rig.server.count("/a/good") == 1 and rig.server.count("/a/missing") == 1
