"""Serving the web application with uvicorn inside the running event loop.

Owns: binding the listening socket (so an address that cannot be served is an ``OSError``,
``ValueError`` or ``OverflowError`` here, for the caller to report, instead of uvicorn's exit
of the process), running uvicorn's server as a task of the loop it is started in, and
stopping it. Signals stay the daemon's: uvicorn's handlers are not installed. Must not import
scheduler or cli.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger("monitor.web")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # SIGTERM and SIGINT stop the daemon, which stops this server in its turn
        yield


class WebServer:
    """The application ``app`` on ``host:port`` (port 0: any free port, known after start)."""

    def __init__(self, host: str, port: int, app: ASGIApp) -> None:
        self.host = host
        self.port = port
        self.app = app
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
            server_header=False,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="web")
        log.info(
            "web pages, /healthz and /metrics listening",
            extra={"fields": {"listen": f"{self.host}:{self.port}"}},
        )

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = self._sock = None
