"""The network under the fetcher's connections, built on asyncio's own transports and protocols.

Owns: opening TCP connections, TLS upgrades, and the reads and writes an HTTP/1.1 connection
(:mod:`monitor.fetch.http11`) asks for, each under its timeout, failures raised as
:mod:`monitor.fetch.errors`. Imports nothing else from ``monitor``.

Why not httpcore's default backend (what httpx's own connections use): on asyncio it goes
through anyio, which costs, per request, a cancel scope for every read and write, a trip
through the event loop before each send, and, each time a connection is checked for reuse, a
dictionary of socket attributes with a ``getpeername`` call and a ``poll`` system call ("has
the server closed it?"). Here a protocol object keeps what arrived; a read that finds data
returns it without waiting, a write that the kernel takes returns at once, and "has the server
closed it?" is a flag set by asyncio when the peer closes or sends while idle. Measured on
1,000 conditional GETs on loopback: about a fifth less CPU than anyio's backend
(``docs/benchmarks.md``).

Back-pressure both ways: reading pauses when more than :data:`READ_HIGH_WATER` bytes wait to
be read and resumes below :data:`READ_LOW_WATER`; a write waits while asyncio's transport
says its buffer is full.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from typing import Any, cast

from monitor.fetch.errors import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

#: Reading pauses when this many received bytes wait for the reader...
READ_HIGH_WATER = 256 * 1024
#: ...and resumes when fewer than this many do.
READ_LOW_WATER = 64 * 1024


class _Protocol(asyncio.Protocol):
    """Receives for one connection: the bytes not yet read, end of stream, flow control."""

    __slots__ = (
        "transport",
        "chunks",
        "buffered",
        "eof",
        "lost",
        "error",
        "writing_paused",
        "_reader",
        "_reading_paused",
        "_drain",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None
        self.writing_paused = False  # set and cleared by asyncio's transport
        self._reader: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._drain: asyncio.Future[None] | None = None

    # -- asyncio's callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # cast, not isinstance: other event loops' transports do not subclass asyncio's
        self.transport = cast(asyncio.Transport, transport)  # after a TLS upgrade, the TLS one

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > READ_HIGH_WATER and not self._reading_paused:
            self._reading_paused = True
            assert self.transport is not None
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_writer()

    # -- for the stream ----------------------------------------------------------------------

    def _wake_reader(self) -> None:
        _wake(self._reader)
        self._reader = None

    def _wake_writer(self) -> None:
        _wake(self._drain)
        self._drain = None

    def take(self, max_bytes: int) -> bytes:
        """At most ``max_bytes`` of what has arrived (there must be something)."""
        data = self.chunks.popleft()
        if len(data) > max_bytes:
            self.chunks.appendleft(data[max_bytes:])
            data = data[:max_bytes]
        self.buffered -= len(data)
        if self._reading_paused and self.buffered < READ_LOW_WATER and not self.lost:
            self._reading_paused = False
            assert self.transport is not None
            self.transport.resume_reading()
        return data

    async def readable(self) -> None:
        """Wait until there is data, end of stream, or the connection is lost."""
        assert self._reader is None, "only one read at a time"
        self._reader = asyncio.get_running_loop().create_future()
        try:
            await self._reader
        finally:
            self._reader = None

    async def drained(self) -> None:
        """Wait until the transport accepts writes again or the connection is lost."""
        if self._drain is None:
            self._drain = asyncio.get_running_loop().create_future()
        await self._drain


class AsyncioStream:
    """One connection, plain or TLS."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    # A timeout a call (ruff's ASYNC109 would have none): each read and write has its own.
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        protocol = self._protocol
        if not protocol.chunks:
            if protocol.eof:
                return self._ended()
            try:
                async with asyncio.timeout(timeout):  # None: no limit
                    await protocol.readable()
            except TimeoutError:
                raise ReadTimeout(f"no data{_within(timeout)}") from None
            if not protocol.chunks:
                return self._ended()
        return protocol.take(max_bytes)

    def _ended(self) -> bytes:
        error = self._protocol.error
        if error is not None:
            raise ReadError(str(error) or type(error).__name__) from error
        return b""  # the peer closed the connection; the HTTP layer decides what that means

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        protocol = self._protocol
        if protocol.lost or self._transport.is_closing():
            error = protocol.error
            detail = str(error) if error else "the connection is closed"
            raise WriteError(detail) from error
        self._transport.write(buffer)
        if not protocol.writing_paused:
            return
        try:
            async with asyncio.timeout(timeout):
                await protocol.drained()
        except TimeoutError:
            raise WriteTimeout(f"could not send{_within(timeout)}") from None
        if protocol.lost and protocol.error is not None:
            raise WriteError(str(protocol.error)) from protocol.error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                upgraded = await loop.start_tls(
                    self._transport,
                    self._protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                )
        except TimeoutError:
            self._transport.abort()
            raise ConnectTimeout(f"TLS handshake not done{_within(timeout)}") from None
        except (OSError, ssl.SSLError) as exc:  # ssl.SSLError is an OSError; said for clarity
            self._transport.abort()
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        if upgraded is None:  # pragma: no cover - only when the transport closed meanwhile
            raise ConnectError("the connection closed during the TLS handshake")
        return AsyncioStream(upgraded, self._protocol)

    def is_readable(self) -> bool:
        """Whether anything arrived that was not read, or the peer closed: asked of idle
        connections, for which either means they cannot take another request."""
        protocol = self._protocol
        return bool(protocol.chunks) or protocol.eof

    def get_extra_info(self, name: str) -> Any:
        """What asyncio's transport knows by ``name``: ``ssl_object``, ``peername``…"""
        return self._transport.get_extra_info(name)


class AsyncioBackend:
    """Opens connections: :meth:`connect_tcp`, then :meth:`AsyncioStream.start_tls` for TLS."""

    #: Delay before trying the next address of a host name (RFC 8305 "happy eyeballs").
    happy_eyeballs_delay: float = 0.25

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> AsyncioStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, happy_eyeballs_delay=self.happy_eyeballs_delay
                )
        except TimeoutError:
            raise ConnectTimeout(f"not connected{_within(timeout)}") from None
        except OSError as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        return AsyncioStream(transport, protocol)


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _within(timeout: float | None) -> str:
    # A connect can also time out in the kernel (ETIMEDOUT), with no timeout of ours set.
    return f" within {timeout:g} s" if timeout is not None else " (timed out)"
