"""``monitor signals``: what fired and why (story surges, topic spikes, source notices,
updated items), with the figures behind each.

Owns: argument parsing and printing for this command; the store answers, and
``monitor.render_signals`` words each signal.
"""

from __future__ import annotations

import json
from datetime import timedelta

import typer
from rich.markup import escape
from rich.table import Table

from monitor.cli.app import app, console, local
from monitor.cli.commands import _since
from monitor.cli.runtime import READING, load_or_exit, open_store, topic_names, utcnow
from monitor.model import SIGNAL_KINDS
from monitor.render_signals import signal_json, signal_view
from monitor.schedule import resolve_zone


@app.command()
def signals(
    since: str = typer.Option("7d", help="Signals fired in the last 24h, 7d… or since a date."),
    kind: str | None = typer.Option(None, help="Only this kind: " + ", ".join(SIGNAL_KINDS) + "."),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """What fired and why: each surge with its outlets, each spike with its counts and
    baseline, each source notice, each updated item with what changed."""
    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    if kind is not None and kind not in SIGNAL_KINDS:
        raise typer.BadParameter(f"--kind must be one of {', '.join(SIGNAL_KINDS)} (got '{kind}')")
    cfg = load_or_exit(needs=READING)
    store = open_store(cfg.database_url)
    start = _since(since) or utcnow() - timedelta(days=7)
    found = store.signals.fired(since=start, kinds=[kind] if kind else None)
    store.close()
    scrub = cfg.scrubber()  # a feed URL may carry a token
    if fmt == "json":
        listed = [json.loads(scrub(json.dumps(signal_json(s), ensure_ascii=False))) for s in found]
        typer.echo(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    zone = resolve_zone(cfg.timezone)
    names = topic_names(cfg)
    counts: dict[str, int] = {}
    table = Table(title=f"Signals since {local(start, cfg.timezone)} ({len(found)})")
    for col in ("fired", "kind", "what", "why"):
        table.add_column(col, overflow="fold")
    for s in found:
        counts[s.kind] = counts.get(s.kind, 0) + 1
        view = signal_view(s, zone, lambda t: names.get(t, t))
        table.add_row(
            local(s.fired_at, cfg.timezone) or "",
            view.word,
            escape(scrub(view.headline)),
            escape(scrub("\n".join(view.facts))),
        )
    console.print(table)
    if counts:
        console.print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
