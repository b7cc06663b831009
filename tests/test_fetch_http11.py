"""One HTTP/1.1 connection (``monitor.fetch.http11``) against raw servers on 127.0.0.1 that
answer byte for byte as the test says: keep-alive, informational answers, bodies that end with
the connection, servers that close or talk out of turn."""

from __future__ import annotations

import asyncio

import pytest

from monitor.fetch import Fetcher
from monitor.fetch.backend import AsyncioBackend
from monitor.fetch.errors import RemoteProtocolError
from monitor.fetch.http11 import Connection
from tests.support import until
from tests.test_fetch_backend import FEED, RawServer, _response


async def _connect(server: RawServer, keepalive_s: float = 60.0) -> Connection:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=2)
    return Connection(stream, keepalive_s)


async def _get(connection: Connection, path: bytes = b"/feed.xml") -> tuple[int, bytes]:
    status, _ = await connection.send(path, [(b"Host", b"127.0.0.1")], 2.0)
    parts = []
    while chunk := await connection.read(2.0):
        parts.append(chunk)
    return status, b"".join(parts)


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


async def test_two_requests_share_one_connection_and_the_connection_is_kept() -> None:
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for body in (b"first", b"second"):
            requests.append(await _read_request(reader))
            writer.write(_response(body))
            await writer.drain()
        await reader.read()

    async with RawServer(handler) as server:
        connection = await _connect(server)
        assert await _get(connection, b"/a") == (200, b"first")
        await connection.release()
        assert connection.is_idle() and not connection.has_expired()
        assert await _get(connection, b"/b") == (200, b"second")
        await connection.release()
        await connection.aclose()
    assert server.connections == 1
    assert [r.split(b" ")[1] for r in requests] == [b"/a", b"/b"]
    assert connection.is_closed() and not connection.is_idle()


async def test_informational_answers_are_skipped() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
        writer.write(_response(b"the feed"))
        await writer.drain()
        await reader.read()

    async with RawServer(handler) as server:
        connection = await _connect(server)
        assert await _get(connection) == (200, b"the feed")
        await connection.aclose()


async def test_a_body_that_ends_with_the_connection_is_read_whole_and_not_kept() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()
        writer.close()

    async with RawServer(handler) as server:
        connection = await _connect(server)
        assert await _get(connection) == (200, b"all of it")
        await connection.release()
        assert connection.is_closed() and not connection.is_idle()


async def test_a_server_that_closes_without_answering() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.close()

    async with RawServer(handler) as server:
        connection = await _connect(server)
        with pytest.raises(RemoteProtocolError, match="without sending a response"):
            await _get(connection)
        await connection.aclose()
        async with Fetcher() as fetcher:
            result = await fetcher.fetch(server.url())
    assert (result.outcome, result.error_kind) == ("error", "network")
    assert "without sending a response" in (result.error or "")


@pytest.mark.parametrize(
    ("first", "outcome"),
    [
        # the body stops at 10 of its 100 bytes and the server closes the connection
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes.", ("error", "network")),
        # an error page too large to read through just to keep the connection
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 4096, 404),
    ],
    ids=["body-cut-short", "large-error-page"],
)
async def test_a_connection_whose_answer_was_not_read_whole_is_not_reused(
    first: bytes, outcome: tuple[str, str] | int
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(first if server.connections == 1 else _response(FEED))
        await writer.drain()
        if server.connections == 1 and outcome != 404:
            writer.close()
            return
        await reader.read()

    async with RawServer(handler) as server:
        async with Fetcher(per_host=1) as fetcher:
            spoilt = await fetcher.fetch(server.url())
            whole = await fetcher.fetch(server.url())
    if isinstance(outcome, int):
        assert spoilt.status == outcome
    else:
        assert (spoilt.outcome, spoilt.error_kind) == outcome
        assert "protocol" in (spoilt.error or "")
    assert whole.outcome == "ok" and whole.body == FEED
    assert server.connections == 2


@pytest.mark.parametrize("at_once", [True, False], ids=["with-the-answer", "later"])
async def test_an_idle_connection_is_spent_when_the_server_speaks_out_of_turn(
    at_once: bool,
) -> None:
    released = asyncio.Event()
    timeout = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_response(b"one") + (timeout if at_once else b""))
        await writer.drain()
        if not at_once:
            await released.wait()
            writer.write(timeout)
            await writer.drain()
        await reader.read()

    async with RawServer(handler) as server:
        connection = await _connect(server)
        assert await _get(connection) == (200, b"one")
        await connection.release()
        released.set()
        await until(connection.has_expired, "the 408 sent while the connection was idle")
        await connection.aclose()


async def test_an_idle_connection_is_spent_when_its_keepalive_ends() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(_response(b"one"))
        await writer.drain()
        await reader.read()

    async with RawServer(handler) as server:
        kept = await _connect(server, keepalive_s=60.0)
        lapsed = await _connect(server, keepalive_s=-1.0)
        for connection in (kept, lapsed):
            assert await _get(connection) == (200, b"one")
            await connection.release()
            assert connection.is_idle()
        assert not kept.has_expired() and lapsed.has_expired()
        await kept.aclose()
        await lapsed.aclose()
