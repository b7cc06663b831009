"""``monitor demo``: one offline poll cycle over sample feeds served on 127.0.0.1.

The sample feeds ship with the package (``monitor/demo``); they are served by a small HTTP
server on a free loopback port, polled by the real pipeline with the configured watchlists into
a temporary SQLite database, and reported as a matches table and a console digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from monitor.cli.app import app, console, err_console, heading
from monitor.cli.commands import matches_table
from monitor.cli.runtime import (
    load_or_exit,
    make_fetcher,
    make_pipeline,
    matcher_for,
    topic_names,
    utcnow,
)
from monitor.yamlsrc import parse_yaml

if TYPE_CHECKING:
    from monitor.pipeline import CycleReport, PollReport


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


@app.command()
def demo(
    keep: str | None = typer.Option(
        None, "--keep", help="Keep the demo database at this path instead of a temporary one."
    ),
) -> None:
    """Poll the bundled sample feeds offline and show what the watchlists catch."""
    from monitor.digest import build_digest
    from monitor.render import console_text
    from monitor.store import Store

    cfg = load_or_exit()
    feeds = demo_feeds()
    with tempfile.TemporaryDirectory(prefix="monitor-demo-") as tmp, serve_demo() as base:
        db_path = Path(keep) if keep else Path(tmp) / "demo.db"
        store = Store.open(f"sqlite:///{db_path}")
        now = utcnow()
        feeds = [DemoFeed(f.file, f.name, f.lang, url=base + f.file) for f in feeds]
        store.sync_feeds(feeds, now)
        console.print(
            f"Serving {len(feeds)} sample feeds at {base} · database {db_path} · "
            f"{len(cfg.topics)} topics from {', '.join(cfg.watchlist_files)}",
            highlight=False,
        )
        matcher = matcher_for(cfg)

        async def go() -> CycleReport:
            from monitor.poller import Poller

            with Progress(
                TextColumn("[bold]polling[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=False,
            ) as progress:
                task = progress.add_task("", total=len(feeds))

                def on_poll(p: PollReport) -> None:
                    progress.update(
                        task,
                        advance=1,
                        description=f"{p.name}: {p.items} items, {p.new_matches} matches",
                    )

                async with make_fetcher(cfg) as fetcher:
                    pipeline = make_pipeline(
                        cfg, store, fetcher, lambda: matcher, parse_workers=1, on_poll=on_poll
                    )
                    try:
                        poller = Poller(pipeline, capacity=cfg.polling.concurrency)
                        return await poller.run_once(urls=[f.url for f in feeds])
                    finally:
                        pipeline.close()

        report = asyncio.run(go())
        for p in report.failed:
            err_console.print(f"[red]{p.name}: {p.error_kind}: {p.error}[/red]", highlight=False)
        found = store.matches(limit=None)
        items = len({m.item_id for m in found})
        console.print(matches_table(found, title=f"{items} items matched", tz=cfg.timezone))
        digest = build_digest(
            "console",
            found,
            window_start=now,
            window_end=utcnow(),
            timezone=cfg.timezone,
            topic_names=topic_names(cfg),
        )
        heading("console digest")
        typer.echo(console_text(digest))
        store.close()
    if report.failed:
        raise typer.Exit(1)
