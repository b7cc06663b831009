"""The status endpoint: ``/healthz`` and ``/metrics`` over plain HTTP.

Owns: a small asyncio HTTP/1.1 server that answers GET requests for the two paths. What is
healthy is decided by the ``health`` callable it is given; the metrics text comes from
``monitor.metrics``; the ``/healthz`` body is scrubbed of secrets (``monitor.scrub``).
Must not import cli.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from monitor.metrics import CONTENT_TYPE
from monitor.scrub import Scrubber

log = logging.getLogger("monitor.server")

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]


class StatusServer:
    def __init__(
        self,
        host: str,
        port: int,
        health: HealthCheck,
        metrics: Callable[[], bytes],
        *,
        scrub: Callable[[str], str] | None = None,
    ):
        self.host = host
        self.port = port
        self.health = health
        self.metrics = metrics
        self.scrub = scrub or Scrubber()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        sock = self._server.sockets[0].getsockname()
        self.port = int(sock[1])
        log.info(
            "status endpoint listening", extra={"fields": {"listen": f"{self.host}:{self.port}"}}
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, *_ = (line.split(" ") + ["", ""])[:3]
            path = target.split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, ctype, body = 405, "text/plain", b"method not allowed\n"
            elif path == "/healthz":
                ok, details = await self.health()
                status = 200 if ok else 503
                ctype = "application/json"
                # reasons quote errors, and errors may quote what they were given
                text = json.dumps({"status": "ok" if ok else "unhealthy", **details})
                body = self.scrub(text).encode()
            elif path == "/metrics":
                status, ctype, body = 200, CONTENT_TYPE, self.metrics()
            else:
                status, ctype, body = 404, "text/plain", b"not found: try /healthz or /metrics\n"
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            )
            if method != "HEAD":
                writer.write(body)
            await writer.drain()
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
        ):
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass
