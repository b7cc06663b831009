"""Article outcomes recorded together, through the real enricher.

A round's outcomes are written in one transaction where they can be; a database that refuses
one of them (a trigger here) must not cost the others theirs: they are recorded one by one,
and the refused article stays leased, to be fetched again when its lease ends. A real
:class:`~monitor.fetch.Fetcher` against ``tests.feedserver`` on 127.0.0.1 and a SQLite file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.articles import FulltextSettings
from monitor.enrich import ArticleEnricher
from monitor.fetch import Fetcher
from monitor.fetch.robots import RobotsCache
from monitor.ingest import save_items
from monitor.model import ArticleState
from monitor.parse_pool import ParsePool
from monitor.score.engine import compile_topics
from monitor.store import Store
from tests.feedserver import FeedServer
from tests.test_enrich import TOPICS, page
from tests.test_store import Spec, item

NOW = datetime.now(UTC)


@dataclass
class Rig:
    server: FeedServer
    store: Store
    enricher: ArticleEnricher
    ids: dict[str, int]

    def state(self, name: str) -> ArticleState:
        state = self.store.articles.state(self.ids[name])
        assert state is not None, f"the article of {name} was never considered"
        return state


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    with FeedServer() as server:
        html = "text/html; charset=utf-8"
        urls = {f"missing{n}": server.error(f"/a/missing{n}", 404) for n in range(4)}
        urls["gone"] = server.error("/a/gone", 410)
        urls["good"] = server.feed(
            "/a/good",
            page("The NORAD upgrade brings an over-the-horizon radar."),
            content_type=html,
        )
        urls["refused"] = server.error("/a/refused", 404)
        store = Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
        store.sync_feeds([Spec(server.url("/feed.xml"), "Capital News")], NOW)
        [feed] = store.claim_due_feeds(NOW, owner="w")
        save_items(
            store,
            feed.id,
            [
                item(name, f"Story {name}", url=url, summary="One line.")
                for name, url in urls.items()
            ],
            [],
            {},
            NOW,
        )
        ids = {}
        for name, url in urls.items():
            found = store.item(url=url)
            assert found is not None
            ids[name] = found.id
        matcher = compile_topics(TOPICS)
        async with Fetcher(timeout_s=3.0, deadline_s=6.0) as fetcher:
            pool = ParsePool(1, deadline_s=5.0)
            enricher = ArticleEnricher(
                store,
                fetcher,
                pool,
                lambda: matcher,
                FulltextSettings,
                robots=RobotsCache(fetcher),
                lease_s=600,
            )
            try:
                yield Rig(server, store, enricher, ids)
            finally:
                enricher.close()
                pool.close()
                store.close()


async def test_a_round_records_every_outcome(rig: Rig) -> None:
    report = await rig.enricher.run()
    assert len(report.fetched) == len(rig.ids)
    for n in range(4):
        assert (rig.state(f"missing{n}").status, rig.state(f"missing{n}").error_kind) == (
            "error",
            "not_found",
        )
    assert (rig.state("gone").status, rig.state("gone").error_kind) == ("error", "gone")
    good = rig.state("good")
    assert good.status == "ok" and "over-the-horizon radar" in (good.text or "")
    [match] = rig.store.matches(limit=None)
    assert match.item_id == rig.ids["good"] and report.new_matches == 1
    assert rig.store.articles.claim(datetime.now(UTC), lease_s=60, limit=100) == []


async def test_an_outcome_the_database_refuses_costs_the_others_nothing(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    # robots.txt refuses all but the good page: those outcomes arrive together, and the
    # database refuses one of them
    rig.server.feed(
        "/robots.txt",
        b"User-agent: *\nDisallow: /a/missing\nDisallow: /a/gone\nDisallow: /a/refused\n",
        content_type="text/plain",
    )
    with rig.store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_one BEFORE UPDATE ON articles "
                f"WHEN NEW.item_id = {rig.ids['refused']} AND NEW.lease_until IS NULL "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        )
    report = await rig.enricher.run()
    assert len(report.fetched) == len(rig.ids)  # the round ends, with every fetch reported
    assert "article outcomes together failed" in caplog.text
    assert "/a/refused: its outcome could not be recorded" in caplog.text

    for name in rig.ids:
        state = rig.state(name)
        if name == "refused":
            # not recorded: still leased, fetched again when the lease ends
            assert (state.status, state.attempts, state.error_kind) == ("pending", 1, None)
        elif name == "good":
            assert state.status == "ok"
        else:
            assert (state.status, state.error_kind) == ("error", "robots")
    assert len(rig.store.matches(limit=None)) == 1

    with rig.store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_one"))
    later = datetime.now(UTC) + timedelta(seconds=601)
    [job] = rig.store.articles.claim(later, lease_s=60, limit=100)
    assert (job.item_id, job.attempts) == (rig.ids["refused"], 2)


@pytest.mark.slow
async def test_a_page_that_takes_its_timeout_holds_up_only_itself(tmp_path: Path) -> None:
    with FeedServer() as server:
        urls = {"slow": server.hang("/a/slow")}  # claimed first: the lowest id
        urls |= {f"missing{n}": server.error(f"/a/missing{n}", 404) for n in range(6)}
        store = Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
        store.sync_feeds([Spec(server.url("/feed.xml"), "Capital News")], NOW)
        [feed] = store.claim_due_feeds(NOW, owner="w")
        items = [item(n, f"Story {n}", url=u, summary="One line.") for n, u in urls.items()]
        save_items(store, feed.id, items, [], {}, NOW)
        matcher = compile_topics(TOPICS)
        # the slow page's timeout is far longer than the others need, even on a busy machine
        async with Fetcher(timeout_s=8.0, deadline_s=10.0) as fetcher:
            pool = ParsePool(1, deadline_s=5.0)
            enricher = ArticleEnricher(
                store, fetcher, pool, lambda: matcher, FulltextSettings, batch=2
            )
            try:
                report = await enricher.drain()
            finally:
                enricher.close()
                pool.close()
        try:
            assert len(report.fetched) == len(urls)
            # claimed with the first batch of two, it ended last: the other five batches
            # went on without it
            assert report.fetched[-1].url == urls["slow"]
            assert report.fetched[-1].error_kind == "timeout"
            assert [r.error_kind for r in report.fetched[:-1]] == ["not_found"] * 6
        finally:
            store.close()
