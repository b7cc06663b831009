"""``monitor explain --url`` for a web page or a PDF: the text the monitor would score.

Owns: finding what to explain when no stored item has the URL: the last change stored for a
page watched for its text, else the page or document as served now (fetched once, with the
configured fetcher's limits, and read as the poll would read it).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

from monitor.cli.app import err_console
from monitor.cli.runtime import make_fetcher
from monitor.config import Config
from monitor.errors import ParseError
from monitor.model import FetchResult
from monitor.sources import read_any

if TYPE_CHECKING:
    from monitor.store import Store


def watched_change(cfg: Config, store: Store, url: str) -> int | None:
    """The id of the last change stored for ``url`` when it is a page watched for its text."""
    source = cfg.sources().get(url)
    if source is None or source.watch != "text":
        return None
    listed = store.items(feed_url=url, limit=1)
    return listed[0].id if listed else None


def fetched_text(cfg: Config, url: str) -> tuple[str, str]:
    """The title and text of the page or PDF at ``url`` as served now; exits saying why
    when it cannot be fetched or read."""

    async def fetch() -> FetchResult:
        async with make_fetcher(cfg) as fetcher:
            return await fetcher.fetch(url, kind="page")

    result = asyncio.run(fetch())
    if result.outcome != "ok" or result.body is None:
        err_console.print(
            f"no stored item {url}, and it cannot be fetched: {result.error}", highlight=False
        )
        raise typer.Exit(1)
    try:
        return read_any(result.body, result.final_url or url, result.content_type)
    except ParseError as exc:
        err_console.print(f"no stored item {url}, and it cannot be read: {exc}", highlight=False)
        raise typer.Exit(1) from None
