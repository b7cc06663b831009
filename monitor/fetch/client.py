"""The client side of fetching: :class:`Fetcher`, one per process.

Owns: what a fetch asks for (default headers, ``Accept`` by kind, conditional GET validators),
following redirects by hand (and noticing when a chain of permanent ones has moved a feed),
the deadline of a whole fetch, and classifying what came back into a
:class:`~monitor.model.FetchResult`: ``ok``, ``not_modified``, ``unchanged``, or an error with
a stable kind (``not_found``, ``gone``, ``rate_limited``, ``unavailable``, ``http``,
``not_a_feed``, ``too_large``, ``redirect_loop``, ``too_many_redirects``, ``invalid_url``,
``timeout``, ``network``). Everything the remote side can do wrong comes back as a result with
``outcome="error"``; only bugs raise.

The network is the transport's (:mod:`monitor.fetch.transport`): the client hands it one
:class:`~monitor.fetch.transport.Request` per hop. The bytes and headers are read by the pure
helpers of :mod:`monitor.fetch.body`, ``Retry-After`` by :mod:`monitor.retry_after`. Both the
transport and the clock (monotonic seconds) are injected, defaulting to the real ones, so
redirect and classification rules can be tried without a server.

Decides nothing about scheduling (that is :mod:`monitor.cadence`) and touches no database.
May import ``monitor.model``, ``monitor.urls``, ``monitor.retry_after`` and the rest of
``monitor.fetch``; must not import parse, store, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType

import httpx

from monitor import USER_AGENT
from monitor.fetch.body import (
    ACCEPT_ENCODING,
    BadEncoding,
    BodyTooLarge,
    decode_body,
    header_value,
    parse_max_age,
    sniff_feed,
)
from monitor.fetch.transport import (
    HTTPTransport,
    Request,
    Response,
    Transport,
    TransportError,
)
from monitor.model import FetchKind, FetchResult
from monitor.retry_after import parse_retry_after
from monitor.urls import redact_url

__all__ = ["ACCEPT", "ACCEPT_PAGE", "Fetcher"]

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5"
)
#: what an article page or robots.txt fetch accepts
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, */*;q=0.1"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_STATUS_KINDS = {404: "not_found", 410: "gone", 429: "rate_limited", 503: "unavailable"}
_HOST = re.compile(r"[A-Za-z0-9_.-]+|[0-9A-Fa-f:.]+(%[A-Za-z0-9]+)?")


@dataclass(slots=True)
class _Chain:
    """Where a fetch has got to, for the result whatever happens."""

    url: str
    clock: Callable[[], float]
    deadline_s: float
    timer: asyncio.Timeout | None = None
    current: str = ""
    statuses: list[int] = field(default_factory=list)
    answer: Response | None = None  # the last response, while it is the current URL's
    started: float | None = None
    kind: FetchKind = "feed"

    def start(self) -> None:
        """The transport holds its slots for the first time: the deadline counts from now."""
        if self.started is None:
            self.started = self.clock()
            self._arm(self.deadline_s)

    def check_deadline(self) -> None:
        """Before another hop: raise :class:`TimeoutError` when the deadline has passed, else
        make what is left of it bound the next hop (its wait for slots included)."""
        if self.started is not None:
            left = self.started + self.deadline_s - self.clock()
            if left <= 0:
                raise TimeoutError
            self._arm(left)

    def _arm(self, seconds: float) -> None:
        if self.timer is not None:
            self.timer.reschedule(asyncio.get_running_loop().time() + seconds)

    def elapsed(self) -> float:
        return 0.0 if self.started is None else self.clock() - self.started


class Fetcher:
    """Fetches feed URLs; one per process, used as an async context manager.

    ``timeout_s`` bounds each network step (connect, each read, each write); ``deadline_s``
    bounds a whole fetch including its redirects, counted from when it gets its slots, so a
    server trickling bytes cannot keep a slot. ``max_bytes`` caps the body as sent (compressed),
    ``max_decompressed_bytes`` the body after decoding. At most ``concurrency`` requests are in
    flight, and at most ``per_host`` to one host. Cookies are never stored: one feed's cookies
    must not follow another's requests. ``ssl_context`` replaces the default certificate checks
    (certifi's CAs), for a private CA.

    ``transport`` replaces the network (``concurrency``, ``per_host`` and ``ssl_context`` are
    then the given transport's business) and ``clock`` the monotonic clock the deadline and
    ``elapsed_s`` are measured with; both are for tests.

    Example::

        async with Fetcher(timeout_s=10) as fetcher:
            result = await fetcher.fetch(url, etag=state.etag, body_hash=state.body_hash)
    """

    def __init__(
        self,
        *,
        timeout_s: float = 20.0,
        deadline_s: float = 60.0,
        max_bytes: int = 10_000_000,
        max_decompressed_bytes: int = 50_000_000,
        concurrency: int = 50,
        per_host: int = 4,
        max_redirects: int = 5,
        user_agent: str = USER_AGENT,
        ssl_context: ssl.SSLContext | None = None,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_positive(
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            max_bytes=max_bytes,
            max_decompressed_bytes=max_decompressed_bytes,
            concurrency=concurrency,
            per_host=per_host,
        )
        if max_redirects < 0:
            raise ValueError(f"Fetcher: max_redirects must be 0 or more, got {max_redirects!r}")
        self.timeout_s = float(timeout_s)
        self.deadline_s = float(deadline_s)
        self.max_bytes = int(max_bytes)
        self.max_decompressed_bytes = int(max_decompressed_bytes)
        self.concurrency = int(concurrency)
        self.per_host = int(per_host)
        self.max_redirects = int(max_redirects)
        self.user_agent = user_agent
        self.transport: Transport = transport or HTTPTransport(
            concurrency=self.concurrency, per_host=self.per_host, ssl_context=ssl_context
        )
        self.clock = clock
        self._closed = False
        self._raw_headers = [
            (b"User-Agent", user_agent.encode("latin-1", "replace")),
            (b"Accept-Encoding", ACCEPT_ENCODING.encode("ascii")),
        ]

    def retune(self, *, timeout_s: float, deadline_s: float, max_bytes: int) -> None:
        """Apply new timeouts and a new size cap to the fetches that start from now on (a
        configuration reload). ``concurrency`` and ``per_host`` size the pools: they are set
        when the fetcher is made."""
        _check_positive(timeout_s=timeout_s, deadline_s=deadline_s, max_bytes=max_bytes)
        self.timeout_s = float(timeout_s)
        self.deadline_s = float(deadline_s)
        self.max_bytes = int(max_bytes)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection. The fetcher cannot be used afterwards."""
        self._closed = True
        await self.transport.aclose()

    # What the real transport holds, for metrics and tests (a test's own transport has none).

    @property
    def open_hosts(self) -> int:
        """How many hosts currently have a connection pool."""
        return len(self._hosts)

    @property
    def _hosts(self) -> Mapping[str, object]:
        return self.transport.hosts if isinstance(self.transport, HTTPTransport) else {}

    @property
    def keepalive_s(self) -> float:
        """How long an idle connection is kept for reuse; a host idle this long has them
        closed."""
        return self.transport.keepalive_s if isinstance(self.transport, HTTPTransport) else 0.0

    @keepalive_s.setter
    def keepalive_s(self, value: float) -> None:
        if isinstance(self.transport, HTTPTransport):
            self.transport.keepalive_s = value

    # -- the public operation ----------------------------------------------------------------

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
        kind: FetchKind = "feed",
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Fetch ``url`` once, following redirects; never raises for what the server does.

        ``kind`` says what is expected: a ``"feed"`` is sniffed and a body that is not one is
        the error ``not_a_feed``; a ``"page"`` (an article) or ``"robots"`` (robots.txt) is
        returned as it is. ``max_bytes`` caps this fetch's body below the fetcher's own cap.

        ``etag`` and ``last_modified`` are sent as ``If-None-Match`` / ``If-Modified-Since``;
        ``body_hash`` is the sha256 of the last body seen, so an identical body comes back as
        ``"unchanged"`` without the bytes. The result's ``etag`` and ``last_modified`` are the
        ones to store: a ``304`` confirms the validators that were sent, so when it does not
        repeat them they are returned as sent.
        """
        if self._closed:
            raise RuntimeError("Fetcher.fetch() called after aclose()")
        parsed = _check_url(url)
        if isinstance(parsed, str):
            return FetchResult(url=url, outcome="error", error_kind="invalid_url", error=parsed)
        chain = _Chain(url, self.clock, self.deadline_s, current=url, kind=kind)
        sent: dict[str, str] = {"Accept": ACCEPT if kind == "feed" else ACCEPT_PAGE}
        if sent_etag := header_value(etag):
            sent["If-None-Match"] = sent_etag
        if sent_lm := header_value(last_modified):
            sent["If-Modified-Since"] = sent_lm
        request = Request(
            parsed,
            [
                *self._raw_headers,
                *((k.encode("ascii"), v.encode("ascii")) for k, v in sent.items()),
            ],
            timeout_s=self.timeout_s,
            max_bytes=self.max_bytes if max_bytes is None else min(self.max_bytes, max_bytes),
            on_start=chain.start,
        )
        try:
            async with asyncio.timeout(None) as chain.timer:
                result = await self._follow(chain, request, sent, body_hash)
        except TimeoutError:
            result = self._failed(
                chain, "timeout", f"no complete response within {chain.deadline_s:g} s"
            )
        except TransportError as exc:
            if exc.response is not None:
                chain.answer = exc.response
            status = exc.response.status if exc.response is not None else None
            result = self._failed(chain, exc.kind, exc.message, status=status)
        if log.isEnabledFor(logging.DEBUG):  # redact_url costs more than the line itself
            if result.outcome == "error":
                log.debug("fetch %s: %s (%s)", redact_url(url), result.error_kind, result.error)
            else:
                log.debug("fetch %s: %s %s", redact_url(url), result.outcome, result.status)
        return result

    # -- steps -------------------------------------------------------------------------------

    async def _follow(
        self, chain: _Chain, request: Request, sent: dict[str, str], body_hash: str | None
    ) -> FetchResult:
        seen = {_without_fragment(chain.url)}
        while True:
            answer = chain.answer = await self.transport.exchange(request)
            if answer.status not in _REDIRECTS:
                return self._finish(chain, answer, sent, body_hash)
            location = answer.headers.get("location")
            if location is None:
                return self._failed(
                    chain,
                    "http",
                    f"HTTP {answer.status} redirect without a Location header",
                    status=answer.status,
                )
            chain.statuses.append(answer.status)
            try:
                target = request.url.join(location)
            except httpx.InvalidURL as exc:
                return self._failed(chain, "invalid_url", f"redirect to an invalid URL: {exc}")
            if target.scheme not in ("http", "https") or not target.host:
                return self._failed(
                    chain,
                    "invalid_url",
                    f"HTTP {answer.status} redirect to a {target.scheme or 'schemeless'} URL;"
                    " only http:// and https:// redirects are followed",
                    status=answer.status,
                )
            nxt = str(target)
            if _without_fragment(nxt) in seen:
                return self._failed(
                    chain,
                    "redirect_loop",
                    f"redirect loop after {len(chain.statuses)} redirect(s): "
                    f"{redact_url(nxt)} was already visited",
                    status=answer.status,
                )
            if len(chain.statuses) > self.max_redirects:
                return self._failed(
                    chain,
                    "too_many_redirects",
                    f"more than {self.max_redirects} redirects",
                    status=answer.status,
                )
            seen.add(_without_fragment(nxt))
            chain.current, chain.answer = nxt, None
            request.url = target
            chain.check_deadline()

    def _finish(
        self, chain: _Chain, answer: Response, sent: dict[str, str], body_hash: str | None
    ) -> FetchResult:
        status = answer.status
        h = answer.headers
        base = FetchResult(
            url=chain.url,
            outcome="error",
            status=status,
            final_url=chain.current,
            permanent_redirect=_permanent(chain),
            content_type=h.get("content-type"),
            etag=h.get("etag"),
            last_modified=h.get("last-modified"),
            retry_after_s=_retry_after(h),
            max_age_s=parse_max_age(h.get("cache-control")),
            elapsed_s=chain.elapsed(),
        )
        if status == 304:
            # A 304 need not repeat the validators, but it confirms the ones we sent.
            return replace(
                base,
                outcome="not_modified",
                etag=base.etag or sent.get("If-None-Match"),
                last_modified=base.last_modified or sent.get("If-Modified-Since"),
            )
        if not 200 <= status < 300:
            kind = _STATUS_KINDS.get(status, "http")
            return replace(base, error_kind=kind, error=f"HTTP {status} {_reason(status)}")
        try:
            body = decode_body(answer.body, h.get("content-encoding"), self.max_decompressed_bytes)
        except BodyTooLarge:
            return replace(
                base,
                error_kind="too_large",
                error=(
                    f"the body inflates to more than {self.max_decompressed_bytes:,} bytes "
                    "(max_decompressed_bytes)"
                ),
            )
        except BadEncoding as exc:
            return replace(base, error_kind="http", error=str(exc))
        digest = hashlib.sha256(body).hexdigest()
        if body_hash is not None and digest == body_hash:
            return replace(base, outcome="unchanged", body_hash=digest)
        if chain.kind != "feed":
            return replace(base, outcome="ok", body=body, body_hash=digest)
        sniff = sniff_feed(body)
        if not sniff.is_feed:
            return replace(
                base,
                body_hash=digest,
                error_kind="not_a_feed",
                error=f"HTTP {status} but the body is {sniff.detail}",
            )
        return replace(base, outcome="ok", body=body, body_hash=digest)

    def _failed(
        self, chain: _Chain, kind: str, message: str, *, status: int | None = None
    ) -> FetchResult:
        answer = chain.answer
        redirect_trouble = kind in ("redirect_loop", "too_many_redirects", "invalid_url")
        return FetchResult(
            url=chain.url,
            outcome="error",
            status=status,
            final_url=chain.current,
            permanent_redirect=None if redirect_trouble else _permanent(chain),
            content_type=answer.headers.get("content-type") if answer else None,
            retry_after_s=_retry_after(answer.headers) if answer else None,
            error_kind=kind,
            error=message,
            elapsed_s=chain.elapsed(),
        )


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"Fetcher: {name} must be greater than 0, got {value!r}")


def _permanent(chain: _Chain) -> str | None:
    """The URL the chain reached when every redirect in it was permanent (301/308)."""
    if chain.statuses and all(s in _PERMANENT for s in chain.statuses):
        return chain.current
    return None


def _retry_after(headers: dict[str, str]) -> float | None:
    return parse_retry_after(
        headers.get("retry-after"), now=datetime.now(UTC), date=headers.get("date")
    )


@functools.lru_cache(maxsize=4096)
def _check_url(url: str) -> httpx.URL | str:
    """``url`` parsed, or why it cannot be fetched (remembered: the same feeds come back)."""
    if not isinstance(url, str) or not url.strip():
        return "the feed URL is empty"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"not a valid URL: {exc}"
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "no scheme"
        return f"URL has {scheme!r} as its scheme; feed URLs must start with http:// or https://"
    if not parsed.host:
        return "URL has no host name; feed URLs look like https://example.org/feed.xml"
    if not _HOST.fullmatch(parsed.raw_host.decode("ascii", "replace")):
        return (
            f"{parsed.host!r} is not a valid host name (letters, digits, '-' and '.'; "
            "or an IP address)"
        )
    return parsed


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def _reason(status: int) -> str:
    try:
        return httpx.codes.get_reason_phrase(status) or "error"
    except ValueError:  # pragma: no cover
        return "error"
