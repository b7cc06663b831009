"""One HTTP/1.1 connection, driven with h11 over a :mod:`monitor.fetch.backend` stream.

Owns: sending a GET and reading its answer, one exchange at a time, on one connection; saying
whether the connection can take another request (:meth:`Connection.is_idle`,
:meth:`Connection.has_expired`). Raises :mod:`monitor.fetch.errors`, as the backend does, so
that :mod:`monitor.fetch.transport` tells every failure apart in one place. Decides nothing
about redirects, sizes or statuses. May import h11, :mod:`monitor.fetch.backend` and
:mod:`monitor.fetch.errors`.

Why not httpcore's ``AsyncHTTP11Connection``, which drives the same h11 state machine: each of
its exchanges takes and releases a lock of anyio's (finding the running async library each
time), opens cancel scopes, and builds request, URL and trace objects; for a thousand feeds
that mostly answer 304 this was a third of the poller's CPU. The fetcher never shares a
connection between two exchanges at once (the transport hands each connection to one
exchange), so no lock is needed.
"""

from __future__ import annotations

import time

import h11

from monitor.fetch.backend import AsyncioStream
from monitor.fetch.errors import LocalProtocolError, RemoteProtocolError, WriteError

#: Bytes asked of the network at each read.
READ_SIZE = 64 * 1024
#: The longest status line and headers accepted, as httpcore allows.
MAX_HEAD = 100 * 1024


class Connection:
    """An HTTP/1.1 client connection: :meth:`send` a GET, then :meth:`read` its body until it
    returns ``b""``, then :meth:`release`. An exchange that ends any other way (an exception, a
    body left unread) must :meth:`aclose` the connection."""

    __slots__ = ("_stream", "_h11", "_busy", "_closed", "_expire_at", "_keepalive_s")

    def __init__(self, stream: AsyncioStream, keepalive_s: float) -> None:
        self._stream = stream
        self._h11 = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._busy = False
        self._closed = False
        self._expire_at: float | None = None
        self._keepalive_s = keepalive_s

    def is_idle(self) -> bool:
        """Whether the connection is open and its last exchange finished cleanly."""
        return not self._busy and not self._closed

    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called (or the connection could not be kept)."""
        return self._closed

    def has_expired(self) -> bool:
        """Whether an idle connection should not be used again: its keep-alive ran out, or
        something arrived while it was idle (usually the server closing it)."""
        if self._expire_at is not None and time.monotonic() > self._expire_at:
            return True
        # bytes past the last answer, read with it or arriving since, would be taken for the
        # answer to the next request
        return bool(self._h11.trailing_data[0]) or self._stream.is_readable()

    async def send(
        self, target: bytes, headers: list[tuple[bytes, bytes]], timeout_s: float
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        """Send ``GET target`` with ``headers`` and wait for the answer's status and headers
        (informational 1xx answers are skipped). ``timeout_s`` bounds each write and read."""
        self._busy = True
        self._expire_at = None
        state = self._h11
        try:
            data = state.send(h11.Request(method=b"GET", target=target, headers=headers)) or b""
            data += state.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise LocalProtocolError(str(exc)) from exc
        try:
            await self._stream.write(data, timeout_s)
        except WriteError:
            # a server may answer (an error, say) and close before reading the whole
            # request: what it answered is read below, and is what the caller is told
            pass
        while True:
            event = await self._next(timeout_s)
            if isinstance(event, h11.Response):
                return event.status_code, event.headers.raw_items()
            if not isinstance(event, h11.InformationalResponse):
                raise RemoteProtocolError(f"no answer to the request: {event!r}")

    async def read(self, timeout_s: float) -> bytes:
        """The next part of the body, ``b""`` once it has all arrived."""
        while True:
            event = await self._next(timeout_s)
            if isinstance(event, h11.Data):
                if event.data:
                    return bytes(event.data)
            elif event is h11.PAUSED or isinstance(event, h11.EndOfMessage):
                return b""
            elif isinstance(event, h11.ConnectionClosed):
                raise RemoteProtocolError("the connection closed within the body")

    async def release(self) -> None:
        """After the body's end: keep the connection for another request if both sides may
        go on, else close it."""
        state = self._h11
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            self._busy = False
            self._expire_at = time.monotonic() + self._keepalive_s
        else:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the connection, whatever state it is in."""
        self._closed = True
        await self._stream.aclose()

    async def _next(self, timeout_s: float) -> h11.Event | type[h11.PAUSED]:
        state = self._h11
        while True:
            try:
                event = state.next_event()
            except h11.RemoteProtocolError as exc:
                raise RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            data = await self._stream.read(READ_SIZE, timeout_s)
            if not data and state.their_state is h11.SEND_RESPONSE:
                raise RemoteProtocolError("Server disconnected without sending a response.")
            state.receive_data(data)
