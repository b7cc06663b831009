"""Fetching feeds over HTTP, politely and defensively.

Owns: the one long-lived HTTP client of a process (:class:`Fetcher`), conditional GET, manual
redirect following, size and time caps, content decoding, the "is this really a feed?" sniff
(:func:`sniff_feed`), and translating httpcore's exceptions into the stable error kinds stored with
a feed's health. Everything the remote side can do wrong comes back as a
:class:`~monitor.model.FetchResult` with ``outcome="error"``; only bugs raise.

Decides nothing about scheduling (that is :mod:`monitor.cadence`) and touches no database. May
import ``monitor.model``, ``monitor.errors``, ``monitor.urls``, ``monitor.retry_after`` and
``monitor.jsonfeed``; must not import parse, store, deliver, pipeline, scheduler or cli.

How requests are made, and why: the fetcher drives httpcore's HTTP/1.1 connections
(:class:`httpcore.AsyncHTTP11Connection`, the protocol layer under httpx) itself, over
:class:`monitor.fetch.backend.AsyncioBackend`; httpx is used for URLs and the default TLS
context. Each host has its own slots (``per_host``) and keeps the connections it is not using
(never more than ``per_host``) for reuse until their keep-alive runs out; a host idle for
``keepalive_s`` has them closed. Each layer this leaves out was measured on loopback (1,000
small feeds, concurrency 50, CPU per fetch): one ``httpx.AsyncClient`` with a 50-connection
pool cost about 4 ms, because httpcore's pool walks every connection it holds (checking each
idle one's socket) whenever a request starts or ends; a small httpx transport per host, called
directly, about 1 ms (the client's own work, merging settings, redirect machinery and cookie
extraction, had been a quarter of that); the same over the asyncio backend instead of anyio, a
fifth less; and without httpx's transport and httpcore's pool (their request and response
models, locks and per-request bookkeeping), half of that again. What of the client a feed
poller needs is done here: default headers, timeouts, manual redirects, no cookies.
HTTP/1.1 only.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
import ssl
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType

import httpcore
import httpx

from monitor import USER_AGENT
from monitor.fetch.backend import AsyncioBackend
from monitor.jsonfeed import json_feed_version
from monitor.model import FetchKind, FetchResult
from monitor.retry_after import parse_retry_after
from monitor.urls import redact_url

__all__ = [
    "ACCEPT",
    "FEED_KINDS",
    "Fetcher",
    "Sniff",
    "parse_max_age",
    "sniff_feed",
]

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, */*;q=0.5"
)
#: what an article page or robots.txt fetch accepts
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, */*;q=0.1"
# Brotli is not offered: the decoder must be able to stop inflating at a size cap (a brotli
# bomb is as easy to make as a gzip one), and zlib is the decoder here that can.
ACCEPT_ENCODING = "gzip, deflate"

FEED_KINDS = ("rss", "feed", "entry", "rdf", "channel", "jsonfeed")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_STATUS_KINDS = {404: "not_found", 410: "gone", 429: "rate_limited", 503: "unavailable"}
_ERROR_BODY_DRAIN = 64 * 1024  # read this much of an error page so the connection can be reused
_SNIFF_WINDOW = 64 * 1024
_SAFE_HEADER = re.compile(r"[\x20-\x7e]{1,1024}")
_HOST = re.compile(r"[A-Za-z0-9_.-]+|[0-9A-Fa-f:.]+(%[A-Za-z0-9]+)?")
_BACKEND = AsyncioBackend()  # holds no state: opens every host's connections


# --------------------------------------------------------------------------------------------
# Pure helpers


@dataclass(frozen=True, slots=True)
class Sniff:
    """What the start of a body looks like: a feed ``kind`` (one of :data:`FEED_KINDS`) or
    ``None``; ``detail`` completes the sentence "the body is …"."""

    kind: str | None
    detail: str

    @property
    def is_feed(self) -> bool:
        return self.kind is not None


def _decode_head(body: bytes) -> tuple[str, str]:
    """The first :data:`_SNIFF_WINDOW` bytes as text, and the codec used.

    Markup characters are ASCII in every encoding a feed uses except UTF-16/32, so anything
    without a UTF-16/32 byte-order mark (or the tell-tale NUL pattern) is read as Latin-1,
    which never fails and keeps ASCII as it is.
    """
    head = body[:_SNIFF_WINDOW]
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="replace"), codec
    if head.startswith((b"<\x00", b"\x00<")):
        codec = "utf-16-le" if head[0] == 0x3C else "utf-16-be"
        return head[: len(head) // 2 * 2].decode(codec, errors="replace"), codec
    return head.decode("latin-1"), "utf-8"


def _skip_prolog(text: str) -> tuple[int, str | None]:
    """Skip whitespace, XML declaration, processing instructions, comments and doctype.

    Returns where the first element starts (or -1) and, when the doctype already says so,
    ``"html"``.
    """
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\n":
            i += 1
        elif text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                return -1, None
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return -1, None
            i = end + 3
        elif text.startswith("<!", i):
            if text[i + 2 : i + 14].lower().startswith("doctype html"):
                return -1, "html"
            bracket, close = text.find("[", i), text.find(">", i)
            if 0 <= bracket < close:  # an internal subset may contain '>'
                sub_end = text.find("]", bracket)
                close = text.find(">", sub_end) if sub_end >= 0 else -1
            if close < 0:
                return -1, None
            i = close + 1
        elif text[i] == "<":
            return i, None
        else:
            return -1, None
    return -1, None


def sniff_feed(body: bytes) -> Sniff:
    """Say whether ``body`` starts like a feed document, without parsing all of it.

    Accepted: XML whose root element is ``rss``, ``feed``, ``entry`` (an Atom entry document,
    RFC 4287 4.1.2: a feed of one entry), ``rdf:RDF`` (any prefix) or ``channel`` (after any
    byte-order mark, whitespace, XML declaration, processing instructions, comments and
    doctype), and JSON with a JSON Feed ``version``. Everything
    else (an HTML page, an empty body, other XML, other JSON, plain text) is not a feed, and
    ``detail`` says what it looks like instead. Pure.
    """
    if not body:
        return Sniff(None, "empty")
    text, codec = _decode_head(body)
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        return Sniff(None, "only whitespace")
    if stripped[0] in "{[":
        return _sniff_json(body, codec)
    start, hint = _skip_prolog(text)
    if hint == "html":
        return Sniff(None, "an HTML page (<!DOCTYPE html>), not a feed")
    if start < 0:
        if stripped.startswith("<"):
            return Sniff(None, "markup with no root element in its first 64 KiB")
        return Sniff(None, f"neither XML nor JSON (it starts with {stripped[:24]!r})")
    match = re.match(r"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)", text[start:])
    if match is None:
        return Sniff(None, f"not well-formed XML (it starts with {text[start : start + 24]!r})")
    name = match.group(1)
    local = name.rsplit(":", 1)[-1].lower()
    if local in ("rss", "feed", "entry", "rdf", "channel"):
        return Sniff(local, f"XML with root element <{name}>")
    if local == "html":
        return Sniff(None, "an HTML page (<html>), not a feed")
    return Sniff(
        None,
        f"XML whose root element is <{name}>; a feed's is rss, feed, entry, rdf:RDF or channel",
    )


def _sniff_json(body: bytes, codec: str) -> Sniff:
    try:
        doc = json.loads(body.decode("utf-8-sig" if codec == "utf-8" else codec))
    except (UnicodeDecodeError, ValueError):
        return Sniff(None, "malformed JSON")
    except RecursionError:  # hundreds of thousands of '[': no feed is built so
        return Sniff(None, "JSON nested too deeply to be a feed")
    version = json_feed_version(doc.get("version")) if isinstance(doc, dict) else None
    if version is not None:
        return Sniff("jsonfeed", f"JSON Feed {version}")
    return Sniff(
        None, "JSON without a JSON Feed version (such as https://jsonfeed.org/version/1.1)"
    )


def parse_max_age(cache_control: str | None) -> float | None:
    """``max-age`` seconds from a ``Cache-Control`` value, or ``None`` when absent or when
    ``no-cache`` / ``no-store`` say the response must not be reused. Pure."""
    if not cache_control:
        return None
    max_age: float | None = None
    for part in cache_control.split(","):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store"):
            return None
        if name == "max-age":
            arg = arg.strip().strip('"')
            if arg.isdigit():
                max_age = float(int(arg))
    return max_age


def _header_value(value: str | None) -> str | None:
    """A stored validator fit to send back, or ``None`` (no CR/LF, no non-ASCII)."""
    if value and _SAFE_HEADER.fullmatch(value):
        return value
    return None


class _TooLarge(Exception):
    pass


class _BadEncoding(Exception):
    pass


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Inflate ``data`` but never produce more than ``limit`` bytes (raise :class:`_TooLarge`).

    Concatenated gzip members are inflated one after another, as gzip(1) does.
    """
    out = bytearray()
    pending = data
    while True:
        dec = zlib.decompressobj(wbits)
        while pending:
            out += dec.decompress(pending, limit - len(out) + 1)
            if len(out) > limit:
                raise _TooLarge
            pending = dec.unconsumed_tail
            if dec.eof:
                break
        if not dec.eof:
            raise _BadEncoding("the compressed body ends before its end marker")
        pending = dec.unused_data
        if not pending.strip(b"\x00") or wbits != 16 + zlib.MAX_WBITS:
            return bytes(out)


def _decode_body(raw: bytes, encoding: str | None, limit: int) -> bytes:
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    body = raw
    for coding in reversed(codings):
        try:
            if coding in ("gzip", "x-gzip"):
                body = _inflate(body, 16 + zlib.MAX_WBITS, limit)
            elif coding == "deflate":
                # "deflate" should be zlib-wrapped; some servers send raw deflate instead.
                try:
                    body = _inflate(body, zlib.MAX_WBITS, limit)
                except zlib.error:
                    body = _inflate(body, -zlib.MAX_WBITS, limit)
            elif coding != "identity":
                raise _BadEncoding(
                    f"unsupported Content-Encoding {coding!r} (we ask for {ACCEPT_ENCODING})"
                )
        except zlib.error as exc:
            raise _BadEncoding(f"corrupt {coding} body: {exc}") from exc
    if len(body) > limit:
        raise _TooLarge
    return body


# --------------------------------------------------------------------------------------------
# The fetcher


@dataclass(slots=True)
class _Host:
    """One host: its slots, and its open connections not in use (at most ``per_host``)."""

    semaphore: asyncio.Semaphore
    idle: list[httpcore.AsyncHTTP11Connection] = field(default_factory=list)
    users: int = 0
    idle_since: float = 0.0

    async def connection(self) -> httpcore.AsyncHTTP11Connection | None:
        """An idle connection still fit for a request, most recently used first."""
        while self.idle:
            connection = self.idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()  # its keep-alive ran out, or the server closed it
        return None

    async def aclose(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            await connection.aclose()


@dataclass(slots=True)
class _Answer:
    """One response, read as far as its status requires."""

    url: str
    status: int
    headers: dict[str, str]  # names in lower case
    raw: bytes = b""
    location: str | None = None


@dataclass(slots=True)
class _Chain:
    """Where a fetch has got to, for the result whatever happens."""

    url: str
    current: str = ""
    statuses: list[int] = field(default_factory=list)
    answer: _Answer | None = None
    started: float | None = None
    kind: FetchKind = "feed"
    limit: int = 0  # most bytes of the body as sent

    def elapsed(self, loop: asyncio.AbstractEventLoop) -> float:
        return 0.0 if self.started is None else loop.time() - self.started


class Fetcher:
    """Fetches feed URLs; one per process, used as an async context manager.

    ``timeout_s`` bounds each network step (connect, each read, each write); ``deadline_s``
    bounds a whole fetch including its redirects, counted from when it gets its slots, so a
    server trickling bytes cannot keep a slot. ``max_bytes`` caps the body as sent (compressed),
    ``max_decompressed_bytes`` the body after decoding. At most ``concurrency`` requests are in
    flight, and at most ``per_host`` to one host. Cookies are never stored: one feed's cookies
    must not follow another's requests. ``ssl_context`` replaces the default certificate checks
    (certifi's CAs), for a private CA.

    Example::

        async with Fetcher(timeout_s=10) as fetcher:
            result = await fetcher.fetch(url, etag=state.etag, body_hash=state.body_hash)
    """

    #: How long an idle connection is kept for reuse; a host idle this long has them closed.
    keepalive_s: float = 10.0

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
    ) -> None:
        for name, value in (
            ("timeout_s", timeout_s),
            ("deadline_s", deadline_s),
            ("max_bytes", max_bytes),
            ("max_decompressed_bytes", max_decompressed_bytes),
            ("concurrency", concurrency),
            ("per_host", per_host),
        ):
            if not value > 0:
                raise ValueError(f"Fetcher: {name} must be greater than 0, got {value!r}")
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
        self._hosts: dict[str, _Host] = {}
        self._slots = asyncio.Semaphore(self.concurrency)
        self._ssl = ssl_context  # None: httpx's default (certifi's CAs), made when first needed
        self._last_sweep = 0.0
        self._closed = False
        self._raw_headers = [
            (b"User-Agent", user_agent.encode("latin-1", "replace")),
            (b"Accept-Encoding", ACCEPT_ENCODING.encode("ascii")),
        ]
        # per read and write of a request; connecting is timed in _connect
        self._timeout = {"read": timeout_s, "write": timeout_s}

    def retune(self, *, timeout_s: float, deadline_s: float, max_bytes: int) -> None:
        """Apply new timeouts and a new size cap to the fetches that start from now on (a
        configuration reload). ``concurrency`` and ``per_host`` size the pools: they are set
        when the fetcher is made."""
        for name, value in (
            ("timeout_s", timeout_s),
            ("deadline_s", deadline_s),
            ("max_bytes", max_bytes),
        ):
            if not value > 0:
                raise ValueError(f"Fetcher: {name} must be greater than 0, got {value!r}")
        self.timeout_s = float(timeout_s)
        self.deadline_s = float(deadline_s)
        self.max_bytes = int(max_bytes)
        self._timeout = {"read": self.timeout_s, "write": self.timeout_s}

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
        hosts = list(self._hosts.values())
        self._hosts.clear()
        for host in hosts:
            await host.aclose()

    @property
    def open_hosts(self) -> int:
        """How many hosts currently have a connection pool (for metrics and tests)."""
        return len(self._hosts)

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
        loop = asyncio.get_running_loop()
        limit = self.max_bytes if max_bytes is None else min(self.max_bytes, max_bytes)
        chain = _Chain(url, current=url, kind=kind, limit=limit)
        parsed = _check_url(url)
        if isinstance(parsed, str):
            return FetchResult(url=url, outcome="error", error_kind="invalid_url", error=parsed)
        headers: dict[str, str] = {"Accept": ACCEPT if kind == "feed" else ACCEPT_PAGE}
        if sent_etag := _header_value(etag):
            headers["If-None-Match"] = sent_etag
        if sent_lm := _header_value(last_modified):
            headers["If-Modified-Since"] = sent_lm
        try:
            result = await self._follow(chain, parsed, headers, body_hash, loop)
        except TimeoutError:
            result = self._failed(
                chain, loop, "timeout", f"no complete response within {self.deadline_s:g} s"
            )
        except httpcore.TimeoutException as exc:
            result = self._failed(chain, loop, "timeout", _describe_timeout(exc, self.timeout_s))
        except (httpx.InvalidURL, httpcore.UnsupportedProtocol) as exc:
            result = self._failed(chain, loop, "invalid_url", f"invalid URL: {exc}")
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            result = self._failed(chain, loop, "network", _describe_network(exc))
        except _TooLargeResponse as exc:
            chain.answer = exc.answer
            result = self._failed(
                chain,
                loop,
                "too_large",
                f"the body is larger than max_bytes ({exc.limit:,} bytes: {exc.what})",
                status=exc.answer.status,
            )
        if log.isEnabledFor(logging.DEBUG):  # redact_url costs more than the line itself
            if result.outcome == "error":
                log.debug("fetch %s: %s (%s)", redact_url(url), result.error_kind, result.error)
            else:
                log.debug("fetch %s: %s %s", redact_url(url), result.outcome, result.status)
        return result

    # -- steps -------------------------------------------------------------------------------

    async def _follow(
        self,
        chain: _Chain,
        parsed: httpx.URL,
        headers: dict[str, str],
        body_hash: str | None,
        loop: asyncio.AbstractEventLoop,
    ) -> FetchResult:
        seen = {_without_fragment(chain.url)}
        current = chain.url
        async with asyncio.timeout(None) as deadline:
            while True:
                answer = await self._exchange(current, parsed, headers, chain, deadline, loop)
                chain.answer = answer
                if answer.status not in _REDIRECTS:
                    return self._finish(chain, answer, headers, body_hash, loop)
                if answer.location is None:
                    return self._failed(
                        chain,
                        loop,
                        "http",
                        f"HTTP {answer.status} redirect without a Location header",
                        status=answer.status,
                    )
                chain.statuses.append(answer.status)
                try:
                    target = parsed.join(answer.location)
                except httpx.InvalidURL as exc:
                    return self._failed(
                        chain, loop, "invalid_url", f"redirect to an invalid URL: {exc}"
                    )
                if target.scheme not in ("http", "https") or not target.host:
                    return self._failed(
                        chain,
                        loop,
                        "invalid_url",
                        f"HTTP {answer.status} redirect to a {target.scheme or 'schemeless'} URL;"
                        " only http:// and https:// redirects are followed",
                        status=answer.status,
                    )
                nxt = str(target)
                if _without_fragment(nxt) in seen:
                    return self._failed(
                        chain,
                        loop,
                        "redirect_loop",
                        f"redirect loop after {len(chain.statuses)} redirect(s): "
                        f"{redact_url(nxt)} was already visited",
                        status=answer.status,
                    )
                if len(chain.statuses) > self.max_redirects:
                    return self._failed(
                        chain,
                        loop,
                        "too_many_redirects",
                        f"more than {self.max_redirects} redirects",
                        status=answer.status,
                    )
                seen.add(_without_fragment(nxt))
                current = chain.current = nxt
                parsed = target

    async def _exchange(
        self,
        url: str,
        parsed: httpx.URL,
        headers: dict[str, str],
        chain: _Chain,
        deadline: asyncio.Timeout,
        loop: asyncio.AbstractEventLoop,
    ) -> _Answer:
        """One request and its response, holding a global slot and a slot on the host."""
        request = httpcore.Request(
            b"GET",
            httpcore.URL(
                scheme=parsed.raw_scheme,
                host=parsed.raw_host,
                port=parsed.port,
                target=parsed.raw_path,
            ),
            headers=[
                (b"Host", parsed.netloc),
                *self._raw_headers,
                *((k.encode("ascii"), v.encode("ascii")) for k, v in headers.items()),
            ],
            extensions={"timeout": self._timeout},
        )
        host = self._enter(parsed.host)
        try:
            async with host.semaphore, self._slots:
                if chain.started is None:
                    chain.started = loop.time()
                    deadline.reschedule(chain.started + self.deadline_s)
                connection = await host.connection() or await self._connect(parsed)
                response = await connection.handle_async_request(request)
                try:
                    return await self._read(url, response, chain.limit)
                finally:
                    await response.aclose()
                    if connection.is_idle():  # the whole response was read: keep it
                        host.idle.append(connection)
        finally:
            await self._leave(host, loop)

    async def _connect(self, url: httpx.URL) -> httpcore.AsyncHTTP11Connection:
        """A new connection to ``url``'s host, TLS for https."""
        scheme, host = url.raw_scheme, url.raw_host
        port = url.port or (443 if scheme == b"https" else 80)
        stream = await _BACKEND.connect_tcp(host.decode("ascii"), port, timeout=self.timeout_s)
        if scheme == b"https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            stream = await stream.start_tls(
                self._ssl, server_hostname=host.decode("ascii"), timeout=self.timeout_s
            )
        return httpcore.AsyncHTTP11Connection(
            origin=httpcore.Origin(scheme, host, port),
            stream=stream,
            keepalive_expiry=self.keepalive_s,
        )

    async def _read(self, url: str, response: httpcore.Response, limit: int) -> _Answer:
        answer = _Answer(url=url, status=response.status, headers=_header_dict(response.headers))
        status = response.status
        if status in _REDIRECTS:
            answer.location = answer.headers.get("location")
        if not 200 <= status < 300 or status == 204:
            await self._drain(answer, response)
            return answer
        declared = answer.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLargeResponse(answer, f"Content-Length {int(declared):,} bytes", limit)
        parts: list[bytes] = []
        size = 0
        async for chunk in response.aiter_stream():
            size += len(chunk)
            if size > limit:
                raise _TooLargeResponse(answer, f"more than {limit:,} bytes", limit)
            parts.append(chunk)
        answer.raw = b"".join(parts)
        return answer

    async def _drain(self, answer: _Answer, response: httpcore.Response) -> None:
        """Read a small non-feed body so its connection can be reused; give up on big ones."""
        declared = answer.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > _ERROR_BODY_DRAIN:
            return
        size = 0
        async for chunk in response.aiter_stream():
            size += len(chunk)
            if size > _ERROR_BODY_DRAIN:
                return

    def _finish(
        self,
        chain: _Chain,
        answer: _Answer,
        sent: dict[str, str],
        body_hash: str | None,
        loop: asyncio.AbstractEventLoop,
    ) -> FetchResult:
        status = answer.status
        h = answer.headers
        base = FetchResult(
            url=chain.url,
            outcome="error",
            status=status,
            final_url=answer.url,
            permanent_redirect=self._permanent(chain),
            content_type=h.get("content-type"),
            etag=h.get("etag"),
            last_modified=h.get("last-modified"),
            retry_after_s=parse_retry_after(
                h.get("retry-after"), now=datetime.now(UTC), date=h.get("date")
            ),
            max_age_s=parse_max_age(h.get("cache-control")),
            elapsed_s=chain.elapsed(loop),
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
            body = _decode_body(answer.raw, h.get("content-encoding"), self.max_decompressed_bytes)
        except _TooLarge:
            return replace(
                base,
                error_kind="too_large",
                error=(
                    f"the body inflates to more than {self.max_decompressed_bytes:,} bytes "
                    "(max_decompressed_bytes)"
                ),
            )
        except _BadEncoding as exc:
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

    def _permanent(self, chain: _Chain) -> str | None:
        """The URL the chain reached when every redirect in it was permanent (301/308)."""
        if chain.statuses and all(s in _PERMANENT for s in chain.statuses):
            return chain.current
        return None

    def _failed(
        self,
        chain: _Chain,
        loop: asyncio.AbstractEventLoop,
        kind: str,
        message: str,
        *,
        status: int | None = None,
    ) -> FetchResult:
        answer = chain.answer if chain.answer and chain.answer.url == chain.current else None
        retry_after = None
        if answer is not None:
            retry_after = parse_retry_after(
                answer.headers.get("retry-after"),
                now=datetime.now(UTC),
                date=answer.headers.get("date"),
            )
        redirect_trouble = kind in ("redirect_loop", "too_many_redirects", "invalid_url")
        return FetchResult(
            url=chain.url,
            outcome="error",
            status=status,
            final_url=chain.current,
            permanent_redirect=None if redirect_trouble else self._permanent(chain),
            content_type=answer.headers.get("content-type") if answer else None,
            retry_after_s=retry_after,
            error_kind=kind,
            error=message,
            elapsed_s=chain.elapsed(loop),
        )

    # -- hosts -------------------------------------------------------------------------------

    def _enter(self, name: str) -> _Host:
        host = self._hosts.get(name)
        if host is None:
            host = _Host(asyncio.Semaphore(self.per_host))
            self._hosts[name] = host
        host.users += 1
        return host

    async def _leave(self, host: _Host, loop: asyncio.AbstractEventLoop) -> None:
        host.users -= 1
        now = loop.time()
        if host.users == 0:
            host.idle_since = now
        if now - self._last_sweep < self.keepalive_s / 2:
            return
        self._last_sweep = now
        stale = [
            name
            for name, h in self._hosts.items()
            if h.users == 0 and now - h.idle_since > self.keepalive_s
        ]
        closing = [self._hosts.pop(name) for name in stale]
        for h in closing:
            await h.aclose()


class _TooLargeResponse(Exception):
    """Raised inside a fetch when a body passes ``max_bytes``; becomes a ``too_large`` result."""

    def __init__(self, answer: _Answer, what: str, limit: int) -> None:
        self.answer = answer
        self.what = what
        self.limit = limit
        super().__init__(what)


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


def _header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers by lower-case name; a repeated header's values joined by ", "."""
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def _reason(status: int) -> str:
    try:
        return httpx.codes.get_reason_phrase(status) or "error"
    except ValueError:  # pragma: no cover
        return "error"


def _describe_timeout(exc: httpcore.TimeoutException, timeout_s: float) -> str:
    what = {
        httpcore.ConnectTimeout: "connecting",
        httpcore.ReadTimeout: "waiting for data",
        httpcore.WriteTimeout: "sending the request",
        httpcore.PoolTimeout: "waiting for a connection",
    }.get(type(exc), "waiting")
    return f"timed out after {timeout_s:g} s {what}"


def _describe_network(exc: httpcore.NetworkError | httpcore.ProtocolError) -> str:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpcore.ConnectError):
        return f"could not connect: {detail}"
    if isinstance(exc, httpcore.RemoteProtocolError):
        return f"the server broke the HTTP protocol: {detail}"
    return f"{type(exc).__name__}: {detail}"
