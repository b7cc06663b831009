"""The project's test feed server: real HTTP/1.1 on 127.0.0.1, with faults on demand.

Owns: a small asyncio HTTP server, run in a background thread, that serves feeds registered by
tests and misbehaves on request. Imports nothing from ``monitor``, so any test (and any bench
script) can use it without pulling in the code under test.

Usage::

    with FeedServer() as server:
        url = server.feed("/news.xml", rss_feed("News", [SampleItem("A title")]))
        server.error("/down.xml", 503, retry_after="120")
        ...  # fetch url, then look at server.count("/news.xml"), server.requests("/news.xml")

What a path can do (each helper returns the absolute URL of the path on host 0):

* ``feed`` serves a body with ``ETag`` and ``Last-Modified`` and answers ``304`` to a matching
  ``If-None-Match`` / ``If-Modified-Since``; ``gzip=True`` compresses it when the client accepts.
* ``error`` answers any status (``500``, ``404``, ``410``, ``429``/``503`` with ``Retry-After``).
* ``redirect`` / ``redirect_chain`` / ``redirect_loop`` answer ``301``/``302``/``307``/``308``.
* ``hang`` accepts the request and never answers; ``trickle`` sends the body a few bytes at a time;
  ``truncated`` hangs up in the middle of the body.
* ``html``, ``invalid_xml``, ``empty``, ``wrong_charset`` serve bodies that are not usable feeds.
* ``huge`` streams a large body without holding it in memory; ``gzip_bomb`` serves a small gzip
  stream that inflates to hundreds of megabytes.

``FeedServer(hosts=N)`` also listens on 127.0.0.2 … 127.0.0.N (Linux routes all of 127.0.0.0/8 to
loopback), each with its own port, so a benchmark can spread feeds over several "hosts".
``latency_s`` delays every answer. Requests are counted per path and their headers recorded, and
the server notes the most requests it was answering at once (:meth:`FeedServer.max_in_flight`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip as gzip_module
import hashlib
import ssl
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from types import TracebackType
from xml.sax.saxutils import escape

__all__ = [
    "FeedServer",
    "RecordedRequest",
    "Route",
    "SampleItem",
    "atom_feed",
    "gzip_bomb",
    "html_page",
    "json_feed",
    "rss_feed",
]

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

_FIXED_DATE = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
_MAX_HEADER_BYTES = 64 * 1024


# --------------------------------------------------------------------------------------------
# Documents


@dataclass(frozen=True, slots=True)
class SampleItem:
    """One item of a generated feed."""

    title: str
    link: str = "https://news.example.org/story"
    summary: str = ""
    guid: str | None = None
    published: datetime = _FIXED_DATE


def _items(items: Iterable[SampleItem | str]) -> list[SampleItem]:
    out = []
    for n, it in enumerate(items):
        if isinstance(it, str):
            it = SampleItem(it, link=f"https://news.example.org/story/{n}")
        out.append(it)
    return out


def rss_feed(
    title: str, items: Iterable[SampleItem | str] = (), *, lang: str = "en", encoding: str = "utf-8"
) -> bytes:
    """An RSS 2.0 document; strings in ``items`` become items with that title."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>https://news.example.org/</link>",
        f"<description>{escape(title)}</description><language>{escape(lang)}</language>",
    ]
    for it in _items(items):
        parts.append(
            f"<item><title>{escape(it.title)}</title><link>{escape(it.link)}</link>"
            f"<description>{escape(it.summary)}</description>"
            f"<guid>{escape(it.guid or it.link)}</guid>"
            f"<pubDate>{format_datetime(it.published, usegmt=True)}</pubDate></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode(encoding, "xmlcharrefreplace")


def atom_feed(title: str, items: Iterable[SampleItem | str] = (), *, lang: str = "en") -> bytes:
    """An Atom 1.0 document; strings in ``items`` become entries with that title."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{escape(lang)}">',
        f"<title>{escape(title)}</title><id>urn:feedserver:{escape(title)}</id>",
        f"<updated>{_FIXED_DATE.isoformat()}</updated>",
    ]
    for it in _items(items):
        parts.append(
            f'<entry><title>{escape(it.title)}</title><link href="{escape(it.link)}"/>'
            f"<id>{escape(it.guid or it.link)}</id><updated>{it.published.isoformat()}</updated>"
            f"<summary>{escape(it.summary)}</summary></entry>"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def json_feed(title: str, items: Iterable[SampleItem | str] = ()) -> bytes:
    """A JSON Feed 1.1 document."""
    import json

    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": [
            {
                "id": it.guid or it.link,
                "url": it.link,
                "title": it.title,
                "content_text": it.summary,
                "date_published": it.published.isoformat(),
            }
            for it in _items(items)
        ],
    }
    return json.dumps(doc).encode("utf-8")


def html_page(title: str = "Page not found") -> bytes:
    """An HTML page of the kind sites serve with status 200 instead of a 404."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        "<p>The page you asked for has moved.</p></body></html>\n"
    ).encode()


_BOMB_CACHE: dict[int, bytes] = {}


def gzip_bomb(inflated_size: int = 300 * 1024 * 1024) -> bytes:
    """A gzip stream of a few hundred kilobytes that inflates to ``inflated_size`` zero bytes.

    Compressing hundreds of megabytes would take seconds, so one megabyte of zeros is deflated
    once and ended with a full flush: that resets the compressor, so the same bytes are a valid
    deflate continuation for every further megabyte, and the block can simply be repeated.
    """
    cached = _BOMB_CACHE.get(inflated_size)
    if cached is not None:
        return cached
    mb = 1024 * 1024
    whole, rest = divmod(inflated_size, mb)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = comp.compress(bytes(mb)) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zero_mb = bytes(mb)
    for _ in range(whole):
        crc = zlib.crc32(zero_mb, crc)
    tail_comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    tail = tail_comp.compress(bytes(rest)) + tail_comp.flush(zlib.Z_FINISH)
    crc = zlib.crc32(bytes(rest), crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (inflated_size & 0xFFFFFFFF).to_bytes(4, "little")
    body = header + block * whole + tail + trailer
    _BOMB_CACHE[inflated_size] = body
    return body


# --------------------------------------------------------------------------------------------
# Routes and records


@dataclass(frozen=True, slots=True)
class Route:
    """How the server answers one path.

    ``repeat`` sends ``prefix`` and then ``body`` that many times (a large body without holding
    it in memory); ``truncate`` promises a longer body than it sends and hangs up; ``chunked``
    uses chunked transfer encoding instead of ``Content-Length``; ``trickle_s`` > 0 sends the
    body ``trickle_chunk`` bytes at a time with that pause between writes; ``hang`` never answers.
    """

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/rss+xml; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    delay_s: float = 0.0
    hang: bool = False
    trickle_s: float = 0.0
    trickle_chunk: int = 1
    repeat: int = 1
    prefix: bytes = b""
    chunked: bool = False
    truncate: bool = False


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server received it; header names are lower-cased."""

    method: str
    target: str
    headers: dict[str, str]
    host_index: int
    at: float = 0.0  # time.monotonic() when the request arrived

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(slots=True)
class _Listener:
    address: str
    port: int
    server: asyncio.Server | None = None


@dataclass(slots=True)
class _State:
    routes: dict[str, Route] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    log: dict[str, list[RecordedRequest]] = field(default_factory=dict)
    in_flight: Counter[int] = field(default_factory=Counter)
    max_in_flight_host: Counter[int] = field(default_factory=Counter)
    max_in_flight: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class FeedServer:
    """An HTTP/1.1 server on loopback, run on its own event loop in a daemon thread.

    Use it as a context manager (or call :meth:`start` and :meth:`stop`). Routes may be added
    and inspected from any thread while it runs.
    """

    def __init__(
        self,
        *,
        hosts: int = 1,
        latency_s: float = 0.0,
        record: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if not 1 <= hosts <= 250:
            raise ValueError(
                f"hosts must be between 1 and 250 (127.0.0.1 … 127.0.0.250), got {hosts}"
            )
        self.latency_s = latency_s
        self.record = record
        self.tls = tls  # a server context: answer HTTPS instead of HTTP
        self._listeners = [_Listener(f"127.0.0.{n + 1}", 0) for n in range(hosts)]
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FeedServer:
        if self._thread is not None:
            raise RuntimeError("FeedServer is already running")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="feedserver", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=10)
        return self

    async def _open(self) -> None:
        self._stopping = asyncio.Event()
        for index, listener in enumerate(self._listeners):
            server = await asyncio.start_server(
                functools.partial(self._spawn, index=index),
                listener.address,
                0,
                limit=_MAX_HEADER_BYTES,
                backlog=1024,
                ssl=self.tls,
            )
            listener.server = server
            listener.port = server.sockets[0].getsockname()[1]

    def _spawn(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int
    ) -> None:
        if self._stopping is not None and self._stopping.is_set():
            writer.transport.abort()
            return
        self._writers.add(writer)
        with self._state.lock:
            self._state.connections += 1
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer, index))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._writers.discard(writer))

    async def _close(self) -> None:
        assert self._stopping is not None
        self._stopping.set()
        for listener in self._listeners:
            if listener.server is not None:
                listener.server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in list(self._writers):
            writer.transport.abort()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = None
        self._thread = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.base_urls[0]

    @property
    def base_urls(self) -> list[str]:
        """One ``http://address:port`` (``https://`` with ``tls``) per listening address."""
        if self._thread is None:
            raise RuntimeError("FeedServer is not running: use it as a context manager")
        scheme = "https" if self.tls is not None else "http"
        return [f"{scheme}://{x.address}:{x.port}" for x in self._listeners]

    def url(self, path: str, host: int = 0) -> str:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        return self.base_urls[host] + path

    # -- routes ------------------------------------------------------------------------------

    def add(self, path: str, route: Route) -> str:
        """Answer ``path`` (without query string) with ``route`` on every host; return its URL."""
        url = self.url(path)
        self._state.routes[path] = route
        return url

    def feed(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = "auto",
        last_modified: datetime | str | None = _FIXED_DATE,
        cache_control: str | None = None,
        gzip: bool = False,
        delay_s: float = 0.0,
    ) -> str:
        """Serve a feed with validators; ``etag="auto"`` derives a strong ETag from the body."""
        if etag == "auto":
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if isinstance(last_modified, datetime):
            last_modified = format_datetime(last_modified.astimezone(UTC), usegmt=True)
        headers = (("Cache-Control", cache_control),) if cache_control else ()
        return self.add(
            path,
            Route(
                body=body,
                content_type=content_type,
                etag=etag,
                last_modified=last_modified,
                headers=headers,
                gzip=gzip,
                delay_s=delay_s,
            ),
        )

    def error(
        self,
        path: str,
        status: int,
        *,
        retry_after: str | int | None = None,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
    ) -> str:
        """Answer with ``status`` (and ``Retry-After`` when given)."""
        extra = list(headers)
        if retry_after is not None:
            extra.append(("Retry-After", str(retry_after)))
        return self.add(
            path,
            Route(
                status=status,
                body=body or f"{status} {_REASONS.get(status, 'Error')}\n".encode(),
                content_type="text/plain; charset=utf-8",
                headers=tuple(extra),
            ),
        )

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """Redirect ``path`` to ``to`` (an absolute URL or a path on the same host)."""
        return self.add(
            path,
            Route(status=status, content_type="text/plain", headers=(("Location", to),)),
        )

    def redirect_chain(
        self, path: str, to: str, hops: int, status: int | Sequence[int] = 301
    ) -> str:
        """``path`` → ``path/1`` → … → ``to``, ``hops`` redirects in all."""
        statuses = [status] * hops if isinstance(status, int) else list(status)
        if len(statuses) != hops:
            raise ValueError(f"need {hops} statuses, got {len(statuses)}")
        stops = [path] + [f"{path}/{n}" for n in range(1, hops)] + [to]
        for n in range(hops):
            self.redirect(stops[n], stops[n + 1], statuses[n])
        return self.url(path)

    def redirect_loop(self, path: str, status: int = 302) -> str:
        """``path`` → ``path/loop`` → ``path``."""
        self.redirect(path, f"{path}/loop", status)
        self.redirect(f"{path}/loop", path, status)
        return self.url(path)

    def hang(self, path: str) -> str:
        """Read the request and never answer (until the server stops)."""
        return self.add(path, Route(hang=True))

    def trickle(self, path: str, body: bytes, *, interval_s: float = 0.2, chunk: int = 1) -> str:
        """Send headers at once, then ``chunk`` bytes of ``body`` every ``interval_s``."""
        return self.add(path, Route(body=body, trickle_s=interval_s, trickle_chunk=chunk))

    def huge(self, path: str, size: int, *, chunked: bool = False) -> str:
        """A feed-looking body of at least ``size`` bytes, streamed (chunked: no Content-Length)."""
        head = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>big</title>'
        block = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
        repeat = max(1, -(-(size - len(head)) // len(block)))  # at least ``size`` bytes
        return self.add(path, Route(body=block, prefix=head, repeat=repeat, chunked=chunked))

    def gzip_bomb(self, path: str, inflated_size: int = 300 * 1024 * 1024) -> str:
        """``Content-Encoding: gzip`` of a small stream that inflates to ``inflated_size`` bytes."""
        return self.add(
            path,
            Route(body=gzip_bomb(inflated_size), headers=(("Content-Encoding", "gzip"),)),
        )

    def truncated(self, path: str, body: bytes | None = None) -> str:
        """Declare a ``Content-Length`` twice the body's, send half the body, close."""
        return self.add(
            path, Route(body=body or rss_feed("Cut short", ["one", "two"]), truncate=True)
        )

    def html(self, path: str, title: str = "Page not found") -> str:
        """An HTML page with status 200."""
        return self.feed(path, html_page(title), content_type="text/html; charset=utf-8")

    def invalid_xml(self, path: str) -> str:
        """An RSS document that breaks off mid-item (well-formedness error)."""
        body = (
            b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            b"<title>Broken</title><item><title>Cut & pasted <b>badly</title></channel>"
        )
        return self.feed(path, body)

    def empty(self, path: str) -> str:
        """Status 200 with an empty body."""
        return self.feed(path, b"")

    def wrong_charset(self, path: str) -> str:
        """A Latin-1 encoded feed served as ``charset=utf-8`` (and declaring utf-8 too)."""
        text = rss_feed("Défense et sécurité", ["Dépenses militaires : le Canada à 2 %"])
        return self.feed(path, text.decode("utf-8").encode("latin-1"))

    # -- inspection --------------------------------------------------------------------------

    def count(self, path: str) -> int:
        """How many requests ``path`` has received (on any host)."""
        with self._state.lock:
            return self._state.counts[path]

    def requests(self, path: str) -> list[RecordedRequest]:
        """The requests ``path`` has received, oldest first."""
        with self._state.lock:
            return list(self._state.log.get(path, ()))

    def total_requests(self) -> int:
        with self._state.lock:
            return sum(self._state.counts.values())

    def max_in_flight(self, host: int | None = None) -> int:
        """The most requests being answered at once so far, on one host or on all of them."""
        with self._state.lock:
            if host is None:
                return self._state.max_in_flight
            return self._state.max_in_flight_host[host]

    def connections(self) -> int:
        """How many TCP connections the server has accepted (keep-alive reuse shows here)."""
        with self._state.lock:
            return self._state.connections

    def reset(self) -> None:
        """Forget counts, recorded requests, connections and in-flight peaks (routes stay)."""
        with self._state.lock:
            self._state.connections = 0
            self._state.counts.clear()
            self._state.log.clear()
            self._state.max_in_flight_host.clear()
            self._state.max_in_flight = 0

    # -- serving -----------------------------------------------------------------------------

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int
    ) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                keep_alive = await self._answer(head, reader, writer, index)
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(
        self,
        head: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        index: int,
    ) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            await self._write(writer, 400, [], b"bad request line\n", False)
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length:
            await reader.readexactly(length)
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        path = target.split("?", 1)[0]
        with self._state.lock:
            self._state.counts[path] += 1
            if self.record:
                self._state.log.setdefault(path, []).append(
                    RecordedRequest(method, target, headers, index, time.monotonic())
                )
        with self._state.lock:
            self._state.in_flight[index] += 1
            self._state.max_in_flight_host[index] = max(
                self._state.max_in_flight_host[index], self._state.in_flight[index]
            )
            self._state.max_in_flight = max(
                self._state.max_in_flight, sum(self._state.in_flight.values())
            )
        try:
            return await self._respond(method, path, headers, writer, keep_alive)
        finally:
            with self._state.lock:
                self._state.in_flight[index] -= 1

    async def _respond(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        route = self._state.routes.get(path)
        if route is None:
            await self._write(writer, 404, [], b"no such path\n", keep_alive)
            return keep_alive
        if method not in ("GET", "HEAD"):
            await self._write(writer, 405, [("Allow", "GET, HEAD")], b"", keep_alive)
            return keep_alive
        if route.delay_s:
            await asyncio.sleep(route.delay_s)
        if route.hang:
            assert self._stopping is not None
            await self._stopping.wait()
            return False

        extra: list[tuple[str, str]] = list(route.headers)
        if route.etag:
            extra.append(("ETag", route.etag))
        if route.last_modified:
            extra.append(("Last-Modified", route.last_modified))
        if route.status == 200 and _not_modified(route, headers):
            await self._write(writer, 304, extra, b"", keep_alive, content_type=None)
            return keep_alive
        body = route.body
        if route.gzip and "gzip" in headers.get("accept-encoding", ""):
            body = gzip_module.compress(body, 6, mtime=0)
            extra.append(("Content-Encoding", "gzip"))
            extra.append(("Vary", "Accept-Encoding"))
        if method == "HEAD":
            body = b""
        if route.repeat > 1:
            await self._write_repeated(writer, route, extra, keep_alive)
            return keep_alive and route.chunked
        if route.truncate:
            # Promise twice the body, send half of it, and hang up.
            await self._write(
                writer,
                route.status,
                extra,
                body[: len(body) // 2],
                False,
                route.content_type,
                length=len(body) * 2,
            )
            return False
        if route.trickle_s > 0:
            await self._write(
                writer, route.status, extra, b"", keep_alive, route.content_type, length=len(body)
            )
            step = max(1, route.trickle_chunk)
            for start in range(0, len(body), step):
                writer.write(body[start : start + step])
                await writer.drain()
                await asyncio.sleep(route.trickle_s)
            return keep_alive
        await self._write(writer, route.status, extra, body, keep_alive, route.content_type)
        return keep_alive

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        keep_alive: bool,
        content_type: str | None = "text/plain; charset=utf-8",
        *,
        length: int | None = None,
    ) -> None:
        out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
        out.append(f"Date: {format_datetime(datetime.now(UTC), usegmt=True)}")
        if content_type and status != 304:
            out.append(f"Content-Type: {content_type}")
        if status != 304:
            out.append(f"Content-Length: {len(body) if length is None else length}")
        out.extend(f"{k}: {v}" for k, v in headers)
        out.append("Connection: keep-alive" if keep_alive else "Connection: close")
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()

    async def _write_repeated(
        self,
        writer: asyncio.StreamWriter,
        route: Route,
        headers: list[tuple[str, str]],
        keep_alive: bool,
    ) -> None:
        total = len(route.prefix) + len(route.body) * route.repeat
        out = [f"HTTP/1.1 {route.status} {_REASONS.get(route.status, 'Unknown')}"]
        if route.content_type:
            out.append(f"Content-Type: {route.content_type}")
        if route.chunked:
            out.append("Transfer-Encoding: chunked")
        else:
            out.append(f"Content-Length: {total}")
        out.extend(f"{k}: {v}" for k, v in headers)
        out.append(
            "Connection: keep-alive" if keep_alive and route.chunked else "Connection: close"
        )
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))

        def frame(data: bytes) -> bytes:
            return b"%x\r\n%s\r\n" % (len(data), data) if route.chunked else data

        writer.write(frame(route.prefix))
        for _ in range(route.repeat):
            writer.write(frame(route.body))
            await writer.drain()
        if route.chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:
        if not route.etag:
            return False
        wanted = {tag.strip().removeprefix("W/") for tag in inm.split(",")}
        return "*" in wanted or route.etag.removeprefix("W/") in wanted
    ims = headers.get("if-modified-since")
    if ims and route.last_modified:
        try:
            return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


def main(argv: Sequence[str] | None = None) -> None:
    """Serve synthetic feeds from a separate process, for benchmarks.

    ``python -m tests.feedserver --feeds 1000 --hosts 13`` serves ``/f0.xml`` … ``/f999.xml``
    on every address, prints the base URLs on one line, and stops when its standard input
    closes. Running the server in its own process keeps its CPU out of the client's figures.
    """
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m tests.feedserver", description=main.__doc__)
    ap.add_argument("--feeds", type=int, default=1000, help="how many feeds (default 1000)")
    ap.add_argument("--items", type=int, default=20, help="items per feed (default 20)")
    ap.add_argument("--hosts", type=int, default=1, help="loopback addresses (default 1)")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument("--gzip", action="store_true", help="compress when the client accepts")
    args = ap.parse_args(argv)
    with FeedServer(hosts=args.hosts, latency_s=args.latency, record=False) as server:
        for n in range(args.feeds):
            body = rss_feed(f"Feed {n}", [f"Story {n}.{k}" for k in range(args.items)])
            server.feed(f"/f{n}.xml", body, gzip=args.gzip)
        print(" ".join(server.base_urls), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
