"""The transport under :class:`~monitor.fetch.Fetcher`: one HTTP exchange at a time, over
connections kept per host.

Owns: the :class:`Transport` seam (one ``exchange(request) -> response``) and its one real
implementation, :class:`HTTPTransport`, which holds the global and per-host slots, opens
connections (TLS for https) over :class:`monitor.fetch.backend.AsyncioBackend`, sends one
request on a :class:`monitor.fetch.http11.Connection`, reads the body under the request's size
cap, keeps finished connections for reuse, and translates the exceptions the backend and the
connection raise (:mod:`monitor.fetch.errors`) into a :class:`TransportError` with one of the
stable error kinds (``timeout``, ``network``, ``invalid_url``, ``too_large``) and a message fit
for a feed's health.

Decides nothing about redirects, deadlines or what a status means: that is the client's
(:mod:`monitor.fetch.client`). May import httpx (URLs, the default TLS context) and
:mod:`monitor.fetch.backend`, ``http11``, ``errors`` and ``body``.

Why connections are kept here rather than in httpcore's pool: the pool walks every connection
it holds (checking each idle one's socket) whenever a request starts or ends, which for a
thousand feeds that mostly answer 304 cost several times the request itself; a list of idle
connections per host, most recently used first, costs nothing. A host keeps at most
``per_host`` idle connections until their keep-alive runs out; a host idle for
``keepalive_s`` has them closed. HTTP/1.1 only.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from monitor.fetch.backend import AsyncioBackend
from monitor.fetch.body import header_dict
from monitor.fetch.errors import (
    ConnectError,
    ConnectTimeout,
    NetworkError,
    NetworkTimeout,
    ProtocolError,
    ReadTimeout,
    RemoteProtocolError,
    WriteTimeout,
)
from monitor.fetch.http11 import Connection

__all__ = ["HTTPTransport", "Request", "Response", "Transport", "TransportError"]

_ERROR_BODY_DRAIN = 64 * 1024  # read this much of an error page so the connection can be reused
_BACKEND = AsyncioBackend()  # holds no state: opens every host's connections


def _nothing() -> None:
    return None


@dataclass(slots=True)
class Request:
    """One GET, as the client asks the transport to make it.

    ``headers`` are sent as given, after a ``Host`` header the transport adds. ``timeout_s``
    bounds each network step (connecting, each read, each write). A 2xx body longer than
    ``max_bytes`` as sent is a ``too_large`` :class:`TransportError`. ``on_start`` is called
    once the transport holds its slots for this exchange, before it sends anything: the client
    counts a fetch's deadline from there, so time spent queueing for a slot is not counted.
    """

    url: httpx.URL
    headers: list[tuple[bytes, bytes]]
    timeout_s: float
    max_bytes: int
    on_start: Callable[[], None] = _nothing


@dataclass(slots=True)
class Response:
    """One response, read as far as its status requires: the body of a 2xx answer (other than
    204) as sent, still encoded; nothing of any other's. Header names are in lower case, a
    repeated header's values joined by ", "."""

    status: int
    headers: dict[str, str]
    body: bytes = b""


class TransportError(Exception):
    """Raised by a transport when an exchange fails: ``kind`` is one of ``timeout``,
    ``network``, ``invalid_url`` or ``too_large``; ``response`` is what had arrived of the
    answer (the status and headers of a ``too_large`` one), if anything."""

    def __init__(self, kind: str, message: str, response: Response | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.response = response


class Transport(Protocol):
    """What the client sends through: the real :class:`HTTPTransport`, or a test's own."""

    async def exchange(self, request: Request) -> Response:
        """Make one request and return its response; raise :class:`TransportError` for what
        the network or the server did wrong. Calls ``request.on_start()`` before sending."""
        ...

    async def aclose(self) -> None:
        """Let go of every connection."""
        ...


@dataclass(slots=True)
class _Host:
    """One host: its slots, and its open connections not in use (at most ``per_host``)."""

    semaphore: asyncio.Semaphore
    idle: list[Connection] = field(default_factory=list)
    users: int = 0
    idle_since: float = 0.0

    async def connection(self) -> Connection | None:
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


class HTTPTransport:
    """HTTP/1.1 over the network: at most ``concurrency`` exchanges in flight, at most
    ``per_host`` to one host, idle connections kept per host for ``keepalive_s``.
    ``ssl_context`` replaces the default certificate checks (certifi's CAs)."""

    def __init__(
        self,
        *,
        concurrency: int = 50,
        per_host: int = 4,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_s: float = 10.0,
    ) -> None:
        self.per_host = per_host
        #: How long an idle connection is kept for reuse; a host idle this long has them closed.
        self.keepalive_s = keepalive_s
        self.hosts: dict[str, _Host] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._ssl = ssl_context  # None: httpx's default (certifi's CAs), made when first needed
        self._last_sweep = 0.0

    @property
    def open_hosts(self) -> int:
        """How many hosts currently have a connection pool."""
        return len(self.hosts)

    async def aclose(self) -> None:
        hosts = list(self.hosts.values())
        self.hosts.clear()
        for host in hosts:
            await host.aclose()

    async def exchange(self, request: Request) -> Response:
        """One request and its response, holding a global slot and a slot on the host."""
        url = request.url
        try:
            headers = [(b"Host", url.netloc), *request.headers]
            host = self._enter(url.host)
            try:
                async with host.semaphore, self._slots:
                    request.on_start()
                    connection = await host.connection() or await self._connect(
                        url, request.timeout_s
                    )
                    kept = False
                    try:
                        status, raw = await connection.send(
                            url.raw_path, headers, request.timeout_s
                        )
                        answer = Response(status=status, headers=header_dict(raw))
                        whole = await _read(answer, connection, request)
                        if whole:
                            await connection.release()
                            kept = connection.is_idle()
                    finally:
                        if kept:  # the whole answer was read: keep the connection
                            host.idle.append(connection)
                        else:
                            await connection.aclose()
                    return answer
            finally:
                await self._leave(host)
        except NetworkTimeout as exc:
            raise TransportError("timeout", _describe_timeout(exc, request.timeout_s)) from exc
        except httpx.InvalidURL as exc:
            raise TransportError("invalid_url", f"invalid URL: {exc}") from exc
        except (NetworkError, ProtocolError) as exc:
            raise TransportError("network", _describe_network(exc)) from exc

    async def _connect(self, url: httpx.URL, timeout_s: float) -> Connection:
        """A new connection to ``url``'s host, TLS for https (the client lets no other scheme
        through, first URL or redirect)."""
        scheme, host = url.raw_scheme, url.raw_host
        port = url.port or (443 if scheme == b"https" else 80)
        stream = await _BACKEND.connect_tcp(host.decode("ascii"), port, timeout=timeout_s)
        if scheme == b"https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            stream = await stream.start_tls(
                self._ssl, server_hostname=host.decode("ascii"), timeout=timeout_s
            )
        return Connection(stream, self.keepalive_s)

    def _enter(self, name: str) -> _Host:
        host = self.hosts.get(name)
        if host is None:
            host = _Host(asyncio.Semaphore(self.per_host))
            self.hosts[name] = host
        host.users += 1
        return host

    async def _leave(self, host: _Host) -> None:
        host.users -= 1
        now = asyncio.get_running_loop().time()
        if host.users == 0:
            host.idle_since = now
        if now - self._last_sweep < self.keepalive_s / 2:
            return
        self._last_sweep = now
        stale = [
            name
            for name, h in self.hosts.items()
            if h.users == 0 and now - h.idle_since > self.keepalive_s
        ]
        closing = [self.hosts.pop(name) for name in stale]
        for h in closing:
            await h.aclose()


async def _read(answer: Response, connection: Connection, request: Request) -> bool:
    """Read the body of a 2xx answer (other than 204) into ``answer``, at most
    ``request.max_bytes`` of it; drain a small body of any other answer so that its connection
    can be reused. Whether the whole body was read (so the connection may be kept)."""
    status = answer.status
    declared = answer.headers.get("content-length", "")
    if not 200 <= status < 300 or status == 204:
        if declared.isdigit() and int(declared) > _ERROR_BODY_DRAIN:
            return False  # not worth reading to keep the connection
        limit, wanted = _ERROR_BODY_DRAIN, False
    else:
        limit, wanted = request.max_bytes, True
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(answer, f"Content-Length {int(declared):,} bytes", limit)
    parts: list[bytes] = []
    size = 0
    while chunk := await connection.read(request.timeout_s):
        size += len(chunk)
        if size > limit:
            if wanted:
                raise _too_large(answer, f"more than {limit:,} bytes", limit)
            return False  # a big error page: give up on it and on its connection
        if wanted:
            parts.append(chunk)
    if wanted:
        answer.body = b"".join(parts)
    return True


def _too_large(answer: Response, what: str, limit: int) -> TransportError:
    return TransportError(
        "too_large", f"the body is larger than max_bytes ({limit:,} bytes: {what})", answer
    )


def _describe_timeout(exc: NetworkTimeout, timeout_s: float) -> str:
    what = {
        ConnectTimeout: "connecting",
        ReadTimeout: "waiting for data",
        WriteTimeout: "sending the request",
    }.get(type(exc), "waiting")
    return f"timed out after {timeout_s:g} s {what}"


def _describe_network(exc: NetworkError | ProtocolError) -> str:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectError):
        return f"could not connect: {detail}"
    if isinstance(exc, RemoteProtocolError):
        return f"the server broke the HTTP protocol: {detail}"
    return f"{type(exc).__name__}: {detail}"
