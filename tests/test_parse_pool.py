"""Scoring in the parse workers: the same matches as scoring on the database thread, by the
matcher the pipeline holds now.

A worker is started with the pipeline's current matcher and scores every item it parses; the
database thread then only decides what the matches mean now (stale alerts held) and writes.
A reload that swaps the matcher retires the workers, and matches made by a matcher that is no
longer current are never used: the database thread scores those items itself. Real worker
processes, a feed served on 127.0.0.1, a SQLite file.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from monitor.cadence import CadencePolicy
from monitor.config import FeedSpec
from monitor.events import profile, profile_from_bytes
from monitor.fetch import Fetcher
from monitor.model import TopicMatch
from monitor.parse_pool import ParsePool, parse_and_score
from monitor.pipeline import Pipeline
from monitor.poller import run_cycle
from monitor.score.engine import Matcher, compile_topics
from monitor.store import Store
from monitor.stories import signature, signature_from_bytes
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.test_score_engine import topics_from

NOW = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)

NORAD = """\
topics:
  - id: norad
    name: NORAD review
    description: NORAD news.
    threshold: 3
    groups:
      norad: {weight: 3, terms: [NORAD]}
"""
TARIFFS = """\
topics:
  - id: tariffs
    name: Tariffs
    description: Tariff news.
    threshold: 3
    groups:
      tariffs: {weight: 3, terms: [tariff, tariffs]}
"""
ITEMS = [
    SampleItem(
        "NORAD review opens in Ottawa",
        link="https://news.example.org/norad",
        summary="Officials met to discuss NORAD.",
        published=NOW,
    ),
    SampleItem(
        "Steel tariffs rise again",
        link="https://news.example.org/tariffs",
        summary="Ottawa answers the new tariffs.",
        published=NOW,
    ),
    SampleItem("Weather", link="https://news.example.org/weather", summary="Rain.", published=NOW),
]


class Counting:
    """A matcher that counts the items it scores in this process (the workers' calls happen in
    theirs and are not counted here)."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.calls = 0

    def score(self, title: str, summary: str, lang: str | None = None) -> list[TopicMatch]:
        self.calls += 1
        return self.matcher.score(title, summary, lang)


async def test_a_worker_scores_with_the_matcher_it_was_given_and_no_other() -> None:
    body = rss_feed("Wire", ITEMS)
    norad = compile_topics(topics_from(NORAD))
    tariffs = compile_topics(topics_from(TARIFFS))
    pool = ParsePool(1)
    try:
        number = pool.share(norad)
        assert pool.share(norad) == number  # the same matcher: the same workers
        parsed = await pool.run(
            parse_and_score, body, "https://w.example/f", None, "en", NOW, 100, number
        )
        matches = parsed.matches
        assert matches == [norad.score(i.title, i.summary, i.lang) for i in parsed.items]
        assert [[m.topic for m in found] for found in matches] == [["norad"], [], []]
        # every item's event profile, made in the worker as the planner would make it
        assert {k: profile_from_bytes(b) for k, b in parsed.profiles.items()} == {
            i.key: profile(i.title, i.summary) for i in parsed.items
        }
        assert {k: signature_from_bytes(b) for k, b in parsed.signatures.items()} == {
            i.key: signature(i.title, i.summary) for i in parsed.items
        }
        # a number the worker was not started with: no matches, the caller scores
        stale = await pool.run(
            parse_and_score, body, "https://w.example/f", None, "en", NOW, 100, number + 1
        )
        assert stale.matches is None
        # a new matcher: new workers, started with it
        again = pool.share(tariffs)
        assert again != number
        again_parsed = await pool.run(
            parse_and_score, body, "https://w.example/f", None, "en", NOW, 100, again
        )
        assert again_parsed.matches is not None
        assert [[m.topic for m in found] for found in again_parsed.matches] == [[], ["tariffs"], []]
    finally:
        pool.close()


async def test_the_pipeline_stores_the_workers_matches_and_follows_a_reload(
    tmp_path: Path,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'scored.db'}")
    fetcher = Fetcher(timeout_s=2.0, deadline_s=5.0, max_bytes=200_000)
    current = Counting(compile_topics(topics_from(NORAD)))
    pipeline = Pipeline(
        store,
        fetcher,
        lambda: current,
        CadencePolicy(interval_s=900.0, jitter=0.0),
        parse_pool=ParsePool(2),
        clock=lambda: NOW,
        rng=random.Random(3),
    )
    try:
        with FeedServer() as server:
            url = server.feed("/wire.xml", rss_feed("Wire", ITEMS[:1]))
            store.sync_feeds([FeedSpec(url=url, name="Wire")], NOW)
            first = await run_cycle(pipeline, urls=[url])
            assert first.polls[0].new_matches == 1 and first.polls[0].topics == ("norad",)
            assert current.calls == 0  # scored in a worker, not on the database thread
            # a reload: the next poll's new items are scored by the new matcher only
            current = Counting(compile_topics(topics_from(TARIFFS)))
            server.feed("/wire.xml", rss_feed("Wire", ITEMS))
            second = await run_cycle(pipeline, urls=[url])
            assert second.polls[0].new_items == 2
            assert second.polls[0].topics == ("tariffs",)
            assert current.calls == 0
    finally:
        pipeline.close()
        await fetcher.aclose()
        store.close()
