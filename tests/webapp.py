"""Helpers for the web page tests: a store filled with a week of news, and the application
served by uvicorn on 127.0.0.1 in a thread of its own (so blocking clients, selenium among
them, can talk to it while it runs)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import Config, load_config
from monitor.ingest import save_items
from monitor.model import FeedUpdate, Item, Reason, TopicMatch
from monitor.store import Store
from monitor.web import WebContext, WebServer, make_app
from tests.support import write_config
from tests.test_attack_channels import MARKUP
from tests.test_render import HOSTILE

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
TOKEN = "a-web-token-long-enough-to-pass"


@dataclass(frozen=True)
class Filled:
    """Ids of the items ``fill`` stored, by what the tests look for."""

    norad: int  # matched by norad, carried by two feeds
    tariffs: int  # matched by tariffs, in French
    miss: int  # about NORAD in other words: matched by nothing
    hostile: tuple[int, ...]  # matched by norad, titles and links built to attack a page
    old: int  # matched by norad ten days ago


def _item(feed_url: str, key: str, title: str, summary: str = "", **kw: object) -> Item:
    return Item(
        key=key,
        feed_url=feed_url,
        title=title,
        summary=summary,
        url=kw.pop("url", f"https://news.example.org/{key}"),  # type: ignore[arg-type]
        content_hash=f"h-{key}",
        **kw,  # type: ignore[arg-type]
    )


def _match(topic: str, score: float, term: str, severity: str = "digest") -> TopicMatch:
    return TopicMatch(topic, score, severity, (Reason(term, "title", 0, score, f"group:{topic}"),))


def fill(store: Store, now: datetime = NOW) -> Filled:
    """A small week of news: two outlets carrying one NORAD story, a French tariffs item, an
    item about NORAD that no topic matched, hostile items, an old match and a broken feed."""
    globe = store.ensure_feed("https://globe.example.org/feed.xml", now, name="Globe")
    gazette = store.ensure_feed("https://gazette.example.org/rss", now, name="Gazette", lang="fr")
    hostile_feed = store.ensure_feed("https://evil.example.org/feed", now, name=HOSTILE[0])
    broken = store.ensure_feed("https://broken.example.org/feed", now, name="Broken Wire")
    store.record_poll(
        broken.id,
        FeedUpdate(
            polled_at=now - timedelta(hours=1),
            next_poll_at=now + timedelta(minutes=30),
            success=False,
            status=503,
            error_kind="http",
            error="HTTP 503 <b>Service Unavailable</b>",
            consecutive_failures=4,
            unhealthy=True,
        ),
    )
    store.record_poll(
        globe.id,
        FeedUpdate(
            polled_at=now - timedelta(minutes=5),
            next_poll_at=now + timedelta(minutes=10),
            success=True,
            status=200,
            items_per_day=12.5,
        ),
    )
    norad = _item(
        globe.url,
        "norad-1",
        "NORAD modernization funding announced",
        "Ottawa commits new money to the North American Aerospace Defense Command.",
        lang="en",
        published=now - timedelta(hours=3),
    )
    old = _item(globe.url, "norad-old", "NORAD radar contract signed", lang="en")
    miss = _item(
        globe.url,
        "miss-1",
        "Arctic radar upgrade for the continental air defence command",
        "The joint command guarding North American airspace gets new over-the-horizon radar.",
        lang="en",
    )
    plain = _item(
        globe.url, "plain-1", "Hockey night results", "Scores from last night.", lang="en"
    )
    save_items(
        store,
        globe.id,
        [old],
        [],
        {"norad-old": [_match("norad", 4.0, "NORAD")]},
        now - timedelta(days=10),
    )
    save_items(
        store,
        globe.id,
        [norad, miss, plain],
        [],
        {"norad-1": [_match("norad", 6.0, "NORAD", "alert")]},
        now - timedelta(hours=2),
    )
    # the Gazette carries the same article (same URL) and a tariffs item in French
    save_items(
        store,
        gazette.id,
        [
            _item(gazette.url, "g-norad", norad.title, norad.summary, url=norad.url, lang="en"),
            _item(
                gazette.url,
                "g-tariffs",
                "Droits de douane : Ottawa répond aux tarifs américains",
                "Le Canada impose des droits de douane en représailles.",
                lang="fr",
            ),
        ],
        [],
        {"g-tariffs": [_match("tariffs", 4.0, "droits de douane")]},
        now - timedelta(hours=1),
    )
    hostile = [
        _item(
            hostile_feed.url,
            f"hostile-{n}",
            f"NORAD {title}",
            f"NORAD summary {title}",
            url=f"javascript:alert({n})" if n % 2 else f"https://evil.example.org/{n}",
            lang="en",
        )
        for n, title in enumerate([MARKUP, *HOSTILE, "<img src=x onerror=alert(7)>"])
    ]
    save_items(
        store,
        hostile_feed.id,
        hostile,
        [],
        {it.key: [_match("norad", 3.0, "NORAD")] for it in hostile},
        now - timedelta(minutes=30),
    )
    ids = {it.title: store.item(url=it.url).id for it in (norad, miss, old)}  # type: ignore[union-attr]
    tariffs = store.item(url="https://news.example.org/g-tariffs")
    assert tariffs is not None
    hostile_ids = tuple(
        found.id for it in hostile if it.url and (found := store.item(url=it.url)) is not None
    )
    return Filled(
        norad=ids[norad.title],
        tariffs=tariffs.id,
        miss=ids[miss.title],
        hostile=hostile_ids,
        old=ids[old.title],
    )


def web_config(folder: Path, env: Mapping[str, str] | None = None) -> Config:
    path = write_config(folder, f"database: sqlite:///{folder / 'web.db'}\n")
    return load_config(path, environ=dict(env or {}))


@contextlib.contextmanager
def serving(store: Store, cfg: Config, *, now: datetime = NOW) -> Iterator[str]:
    """The application over ``store`` and ``cfg`` on a free port of 127.0.0.1; yields its
    base URL. The health check answers healthy and the metrics are a fixed line."""

    async def healthy() -> tuple[bool, dict[str, object]]:
        return True, {"checked": True}

    ctx = WebContext(store, lambda: cfg, healthy, lambda: b"monitor_up 1\n", clock=lambda: now)
    started = threading.Event()
    stop: list[asyncio.Event] = []
    server = WebServer("127.0.0.1", 0, make_app(ctx))
    failed: list[BaseException] = []

    async def run() -> None:
        stop.append(asyncio.Event())
        try:
            await server.start()
        except BaseException as exc:
            failed.append(exc)
            started.set()
            raise
        started.set()
        await stop[0].wait()
        await server.stop()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    started.wait(30)
    if failed:
        raise failed[0]
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)
        loop.close()
