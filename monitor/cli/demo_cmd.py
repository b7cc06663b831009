"""``monitor demo``: one offline poll cycle over sample feeds served on 127.0.0.1.

The sample feeds ship with the package (``monitor/demo``); they are served by a small HTTP
server on a free loopback port, polled by the real pipeline with the configured watchlists into
a temporary SQLite database, and reported as a matches table and a console digest.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

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

if TYPE_CHECKING:
    from monitor.pipeline import CycleReport, PollReport


@app.command()
def demo(
    keep: str | None = typer.Option(
        None, "--keep", help="Keep the demo database at this path instead of a temporary one."
    ),
) -> None:
    """Poll the bundled sample feeds offline and show what the watchlists catch."""
    from monitor.cli.demo_feeds import DemoFeed, demo_feeds, serve_demo
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
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

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
