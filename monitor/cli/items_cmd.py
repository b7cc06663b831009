"""``monitor items``: what was stored from each feed, matched or not.

Owns: argument parsing and printing for this command; the store answers the question.
"""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from monitor.cli.app import app, console, local
from monitor.cli.commands import _since
from monitor.cli.runtime import load_or_exit, open_store


@app.command()
def items(
    feed: str | None = typer.Option(None, help="Only items of the feed with this URL."),
    since: str | None = typer.Option(
        None, help="Only items first seen in 24h, 7d… or since a date."
    ),
    limit: int | None = typer.Option(None, help="At most this many (default: all)."),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """List stored items per feed, matched or not: id, feed, url, title, published, story,
    topics. Shows why something did not match, and what ingest kept."""
    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    cfg = load_or_exit()
    store = open_store(cfg.database_url)
    found = store.items(since=_since(since), feed_url=feed, limit=limit)
    store.close()
    scrub = cfg.scrubber()  # a feed URL may carry a user name, a password or a token
    if fmt == "json":
        listed = [{**i.as_json(), "feed": scrub(i.feed_url)} for i in found]
        typer.echo(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Items ({len(found)})")
    table.add_column("id", justify="right")
    table.add_column("feed", overflow="fold", ratio=1)
    table.add_column("published")
    table.add_column("title", overflow="fold", ratio=3)
    table.add_column("url", overflow="fold", ratio=2)
    table.add_column("story")
    table.add_column("topics", overflow="fold")
    for i in found:
        title = escape(i.title)
        if i.previous_title:
            title += f" [dim](updated; was: {escape(i.previous_title)})[/dim]"
        table.add_row(
            str(i.id),
            escape(i.feed_name or scrub(i.feed_url)),
            local(i.published, cfg.timezone) or "",
            title,
            escape(i.url or ""),
            i.story or "",
            ", ".join(i.topics),
        )
    console.print(table)
