"""The Fetcher's network backend (asyncio transports under its HTTP/1.1 connections) against
real servers on 127.0.0.1: HTTPS with a private CA, keep-alive connections the server drops,
TLS handshakes that never finish, back-pressure both ways, timeouts and errors as
``monitor.fetch.errors``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from monitor.fetch import Fetcher
from monitor.fetch.backend import READ_HIGH_WATER, AsyncioBackend, AsyncioStream
from monitor.fetch.errors import ConnectError, ReadTimeout, WriteError, WriteTimeout
from tests.feedserver import FeedServer, rss_feed
from tests.support import until
from tests.tlscerts import Certs, make_certs

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Connect = Callable[["RawServer"], Awaitable[AsyncioStream]]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def https(certs: Certs) -> Iterator[FeedServer]:
    with FeedServer(tls=certs.server_context()) as s:
        yield s


class RawServer:
    """A TCP server on 127.0.0.1 whose every connection runs ``handler``; counts connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.get_running_loop().create_task(self._run(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def url(self, scheme: str = "http", path: str = "/feed.xml") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def stream_to() -> AsyncIterator[Connect]:
    """Opens backend streams to a raw server and closes them after the test."""
    opened: list[AsyncioStream] = []

    async def connect(server: RawServer) -> AsyncioStream:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=2)
        opened.append(stream)
        return stream

    yield connect
    for stream in opened:
        await stream.aclose()


FEED = rss_feed("Backend", ["One", "Two"])


def _response(body: bytes) -> bytes:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


# ------------------------------------------------------------------------------ the Fetcher


async def test_connections_are_kept_per_host_and_closed_with_the_fetcher(
    https: FeedServer, certs: Certs
) -> None:
    https.reset()
    urls = [https.feed(f"/many/{n}.xml", FEED) for n in range(8)]
    async with Fetcher(ssl_context=certs.client_context(), per_host=2) as f:
        results = await asyncio.gather(*(f.fetch(url) for url in urls))
        (host,) = f._hosts.values()
        kept = list(host.idle)
        assert all(connection.is_idle() for connection in kept)
    assert [r.outcome for r in results] == ["ok"] * 8
    assert https.total_requests() == 8
    assert 1 <= len(kept) <= https.connections() <= 2
    assert all(connection.is_closed() for connection in kept)


async def test_https_feed_from_a_private_ca_over_one_connection(
    https: FeedServer, certs: Certs
) -> None:
    https.reset()
    url = https.feed("/tls.xml", FEED, etag='"t1"')
    async with Fetcher(ssl_context=certs.client_context(), per_host=1) as f:
        first = await f.fetch(url)
        second = await f.fetch(url, etag=first.etag)
        third = await f.fetch(url)
    assert url.startswith("https://")
    assert (first.outcome, first.body, first.status) == ("ok", FEED, 200)
    assert second.outcome == "not_modified"
    assert third.body == FEED
    assert https.connections() == 1  # kept alive across requests, TLS included


async def test_an_untrusted_certificate_is_a_network_error(https: FeedServer) -> None:
    url = https.feed("/untrusted.xml", FEED)
    async with Fetcher(timeout_s=2) as f:  # certifi's CAs do not include the test's own
        result = await f.fetch(url)
    assert (result.outcome, result.error_kind) == ("error", "network")
    assert "could not connect" in (result.error or "")
    assert "certificate verify failed" in (result.error or "")


async def test_a_tls_handshake_that_never_finishes_times_out(certs: Certs) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the client hello arrives; no answer ever comes
        await asyncio.sleep(10)

    async with RawServer(silent) as server:
        async with Fetcher(timeout_s=0.3, deadline_s=5, ssl_context=certs.client_context()) as f:
            result = await f.fetch(server.url("https"))
    assert (result.outcome, result.error_kind) == ("error", "timeout")
    assert result.error == "timed out after 0.3 s connecting"


async def test_a_keep_alive_connection_the_server_drops_is_not_reused() -> None:
    answered = asyncio.Event()

    async def once_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_response(FEED))  # keep-alive by default in HTTP/1.1...
        await writer.drain()
        await answered.wait()
        writer.close()  # ...but the server closes it while the client holds it idle

    async with RawServer(once_then_close) as server:
        async with Fetcher(timeout_s=2, per_host=1) as f:
            first = await f.fetch(server.url())
            (host,) = f._hosts.values()
            (idle,) = host.idle
            answered.set()
            await until(idle.has_expired, "the client to see the server close the connection")
            second = await f.fetch(server.url())
    assert (first.outcome, second.outcome) == ("ok", "ok"), second.error
    assert second.body == FEED
    assert server.connections == 2


async def test_a_server_that_stops_mid_body_is_a_network_error() -> None:
    with FeedServer() as server:
        url = server.truncated("/half.xml", FEED)
        async with Fetcher(timeout_s=2) as f:
            result = await f.fetch(url)
    assert (result.outcome, result.error_kind) == ("error", "network")
    assert "the server broke the HTTP protocol" in (result.error or "")


# ------------------------------------------------------------------------------ the backend


async def test_reading_pauses_while_nobody_reads_and_loses_nothing(
    stream_to: Connect,
) -> None:
    payload = os.urandom(6 * 1024 * 1024)

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async with RawServer(flood) as server:
        stream = await stream_to(server)
        first = await stream.read(1000, timeout=2)
        protocol = stream._protocol  # type: ignore[attr-defined]
        await until(lambda: protocol._reading_paused, "reading to pause")
        held = protocol.buffered
        assert 0 < held <= READ_HIGH_WATER + 256 * 1024, held
        parts = [first]
        while chunk := await stream.read(7919, timeout=2):  # odd sizes: chunks are split
            assert len(chunk) <= 7919
            parts.append(chunk)
    received = b"".join(parts)
    assert len(received) == len(payload)
    assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()


async def _idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(10)  # neither reads nor writes


async def test_a_write_the_peer_never_reads_times_out(stream_to: Connect) -> None:
    async with RawServer(_idle) as server:
        stream = await stream_to(server)
        await stream.write(b"x" * 1000, timeout=0.5)  # small writes go straight out
        with pytest.raises(WriteTimeout, match="could not send within 0.3 s"):
            await stream.write(b"x" * (64 * 1024 * 1024), timeout=0.3)


async def test_a_read_without_data_times_out_then_eof_reads_empty(
    stream_to: Connect,
) -> None:
    closing = asyncio.Event()

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await closing.wait()
        writer.write(b"bye")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async with RawServer(late) as server:
        stream = await stream_to(server)
        assert stream.is_readable() is False
        with pytest.raises(ReadTimeout, match="no data within 0.2 s"):
            await stream.read(100, timeout=0.2)
        closing.set()
        assert await stream.read(100, timeout=2) == b"bye"
        assert await stream.read(100, timeout=2) == b""
        assert stream.is_readable() is True  # closed: not reusable
        with pytest.raises(WriteError):
            await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=1)


async def test_connecting_where_nobody_listens_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(ConnectError, match="refused|Connect call failed"):
            await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)


async def test_addresses_and_tls_upgrade(certs: Certs) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(5))
        await writer.drain()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=certs.server_context())
    port = server.sockets[0].getsockname()[1]
    try:
        plain = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=2)
        assert plain.get_extra_info("peername") == ("127.0.0.1", port)
        assert plain.get_extra_info("ssl_object") is None
        stream = await plain.start_tls(certs.client_context(), "localhost", timeout=2)
        try:
            assert stream.get_extra_info("ssl_object") is not None
            await stream.write(b"hello", timeout=2)
            assert await stream.read(100, timeout=2) == b"hello"
        finally:
            await stream.aclose()
    finally:
        server.close()
        await server.wait_closed()
