"""The sample feeds of ``monitor demo``: which they are, and a server for them on 127.0.0.1.

Imported by the ``demo`` command when it runs, so that other commands do not load an HTTP
server and the YAML parser at start.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from monitor.yamlparse import parse_yaml


@dataclass(frozen=True)
class DemoFeed:
    file: str
    name: str
    lang: str
    url: str = ""
    interval: float | None = None


def demo_feeds() -> list[DemoFeed]:
    folder = resources.files("monitor") / "demo"
    doc, problems = parse_yaml(folder.joinpath("demo.yaml").read_text("utf-8"), "demo.yaml")
    if doc is None:  # the file ships with the package; this is a packaging bug
        raise RuntimeError(f"monitor/demo/demo.yaml is broken: {problems}")
    return [DemoFeed(f["file"], f["name"], f["lang"]) for f in doc.data["feeds"]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        name = self.path.lstrip("/").split("?", 1)[0]
        folder = resources.files("monitor") / "demo"
        target = folder.joinpath(name)
        if "/" in name or not name.endswith(".xml") or not target.is_file():
            self.send_error(404)
            return
        body = target.read_bytes()
        ctype = "application/atom+xml" if b"<feed" in body[:500] else "application/rss+xml"
        self.send_response(200)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextlib.contextmanager
def serve_demo() -> Iterator[str]:
    """Serve the sample feeds on a free port of 127.0.0.1; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
