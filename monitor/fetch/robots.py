"""robots.txt for article fetches: fetched once per site, cached, asked before each page.

Owns: :class:`RobotsCache`, which fetches a site's ``/robots.txt`` with the shared
:class:`~monitor.fetch.Fetcher` (so with its per-host limits, timeouts and a size cap), parses
it with the standard library's :mod:`urllib.robotparser`, and keeps the answer per site
(scheme, host and port) for ``ttl_s``. Concurrent questions about one site wait for one
fetch. Follows RFC 9309 on what a missing or unreachable file means: a 4xx answer (no
robots.txt) allows everything; a 5xx answer, a timeout or a network error disallows
everything for now, and is asked again after ``retry_s`` (the article's fetch is tried
again later, not given up). Feeds themselves are not subject to it: a feed is published to
be polled.

May import ``monitor.fetch``, ``monitor.model`` and the standard library; touches no
database and decides nothing about items.
"""

from __future__ import annotations

import asyncio
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor import ROBOTS_AGENT
from monitor.model import FetchResult

#: robots.txt bodies past this are cut (RFC 9309 asks parsers to read at least 500 KiB)
ROBOTS_MAX_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class RobotsVerdict:
    """Whether a page may be fetched; when not, ``kind`` (``robots`` for a rule that
    disallows it, ``robots_unreachable`` when robots.txt could not be read) and why."""

    allowed: bool
    kind: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class _Entry:
    parser: urllib.robotparser.RobotFileParser | None  # None: see ``allow_all``
    allow_all: bool
    expires: float
    note: str = ""


class RobotsCache:
    """What each site's robots.txt says, asked through :meth:`check`."""

    def __init__(
        self,
        fetcher: object,
        *,
        agent: str = ROBOTS_AGENT,
        ttl_s: float = 86400.0,
        retry_s: float = 600.0,
        max_sites: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher
        self.agent = agent
        self.ttl_s = ttl_s
        self.retry_s = retry_s
        self.max_sites = max_sites
        self.clock = clock
        self._sites: dict[str, _Entry] = {}
        self._pending: dict[str, asyncio.Future[_Entry]] = {}

    async def check(self, url: str) -> RobotsVerdict:
        """Whether ``url`` may be fetched under its site's robots.txt."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return RobotsVerdict(True)
        site = f"{parts.scheme}://{parts.netloc.lower()}"
        entry = await self._entry(site)
        if entry.parser is None:
            if entry.allow_all:
                return RobotsVerdict(True)
            return RobotsVerdict(
                False,
                "robots_unreachable",
                f"{site}/robots.txt could not be read ({entry.note}); no page of the site is "
                "fetched until it can",
            )
        if entry.parser.can_fetch(self.agent, url):
            return RobotsVerdict(True)
        return RobotsVerdict(
            False,
            "robots",
            f"{site}/robots.txt disallows this page for {self.agent} (or for every robot)",
        )

    async def _entry(self, site: str) -> _Entry:
        now = self.clock()
        entry = self._sites.get(site)
        if entry is not None and entry.expires > now:
            return entry
        pending = self._pending.get(site)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Entry] = asyncio.get_running_loop().create_future()
        self._pending[site] = future
        try:
            entry = await self._load(site)
            if len(self._sites) >= self.max_sites:  # forget the site asked longest ago
                self._sites.pop(next(iter(self._sites)))
            self._sites.pop(site, None)
            self._sites[site] = entry
            future.set_result(entry)
            return entry
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning if nobody waits
            raise
        finally:
            del self._pending[site]

    async def _load(self, site: str) -> _Entry:
        fetch = self.fetcher.fetch  # type: ignore[attr-defined]
        result: FetchResult = await fetch(
            f"{site}/robots.txt", kind="robots", max_bytes=ROBOTS_MAX_BYTES
        )
        now = self.clock()
        if result.outcome == "ok" and result.body is not None:
            parser = urllib.robotparser.RobotFileParser()
            parser.parse(result.body.decode("utf-8", errors="replace").splitlines())
            return _Entry(parser, False, now + self.ttl_s)
        status = result.status or 0
        if 400 <= status < 500 and result.error_kind != "rate_limited":
            return _Entry(None, True, now + self.ttl_s, f"HTTP {status}")
        if result.error_kind == "too_large":  # RFC 9309: read what fits; here: allow all
            return _Entry(None, True, now + self.ttl_s, "too large")
        return _Entry(None, False, now + self.retry_s, result.error or "error")
