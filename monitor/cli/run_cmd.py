"""``monitor run``: the daemon, and ``monitor digest`` / ``monitor deliveries`` for its outbox."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Callable
from datetime import timedelta

import typer
from rich.markup import escape
from rich.table import Table

from monitor.cli.app import app, config_path, console, err_console, heading, iso, local
from monitor.cli.runtime import (
    load_or_exit,
    make_enricher,
    make_fetcher,
    make_outbox,
    make_pipeline,
    make_senders,
    open_store,
    utcnow,
)
from monitor.config import Config, load_config
from monitor.dbexec import DbExecutor
from monitor.logs import setup_logging
from monitor.model import Digest
from monitor.scrub import Scrubber

log = logging.getLogger("monitor.run")


@app.command()
def run(
    log_format: str = typer.Option("text", "--log-format", help="text or json"),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING, ERROR"),
    tick: float = typer.Option(5.0, help="Seconds between checks for due feeds."),
) -> None:
    """Run the daemon: poll due feeds, score, store, send digests and alerts, until stopped.

    SIGINT or SIGTERM stops new work and lets work in flight finish for a few seconds; a
    second SIGINT exits at once (the database is left consistent either way).
    """
    from monitor.metrics import Metrics
    from monitor.scheduler import Service

    scrub = Scrubber()
    cfg = load_or_exit()  # before logging is set up: problems go to stderr as path:line
    setup_logging(level=log_level, fmt=log_format, scrub=scrub)
    scrub.include(cfg.scrubber())
    store = open_store(cfg.database_url)
    path = config_path()
    crash_at = os.environ.get("MONITOR_TEST_CRASH_AT")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals_seen = 0

        def on_signal(signum: int) -> None:
            nonlocal signals_seen
            signals_seen += 1
            if signals_seen > 1:
                log.warning("second signal: exiting now")
                os._exit(130)
            log.info("signal %s: stopping", signal.Signals(signum).name)
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
        async with make_fetcher(cfg) as fetcher, make_senders(cfg) as senders:
            service: Service | None = None
            metrics = Metrics(lambda: service.gauges() if service else {})
            pipeline = make_pipeline(
                cfg,
                store,
                fetcher,
                lambda: service.current_matcher(),  # type: ignore[union-attr]
                on_poll=metrics.observe_poll,
                db=db,
            )
            outbox = make_outbox(cfg, store, senders, crash_at=crash_at, db=db)
            enricher = make_enricher(
                cfg,
                store,
                fetcher,
                pipeline,
                lambda: service.current_matcher(),  # type: ignore[union-attr]
                lambda: service.cfg.fulltext(),  # type: ignore[union-attr]
            )
            service = Service(
                cfg,
                store,
                pipeline,
                outbox,
                reload_config=lambda: _learning_secrets(load_config(path), scrub),
                metrics=metrics,
                tick_s=tick,
                enricher=enricher,
            )
            try:
                await service.run(stop)
            finally:
                # a close that fails is logged, not turned into the exit status of a stop
                # asked for; the parse workers are closed last, whatever came before
                _close_all(
                    ("the article job", enricher.close), ("the parse workers", pipeline.close)
                )

    db = DbExecutor()  # the one way from async code to the store, for every part
    try:
        asyncio.run(main())
    finally:
        db.close()
    store.close()


def _close_all(*parts: tuple[str, Callable[[], None]]) -> None:
    """Close every part, in order; a part whose close fails is logged with its traceback, and
    the others are closed all the same."""
    for what, close in parts:
        try:
            close()
        except Exception:
            log.exception("stopping: closing %s failed", what)


def _learning_secrets(cfg: Config, scrub: Scrubber) -> Config:
    """``cfg``, once ``scrub`` knows its secrets (a reload may bring new ones)."""
    scrub.include(cfg.scrubber())
    return cfg


@app.command()
def digest(
    channel: str | None = typer.Option(None, help="Only this channel (default: every channel)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the digest without sending it or marking anything."
    ),
    html: str | None = typer.Option(
        None,
        "--html",
        help="With --dry-run: also write the HTML email to this file (one per channel, "
        "named FILE.CHANNEL.html, when several channels are shown).",
    ),
    since: str | None = typer.Option(
        None,
        help="Take undelivered matches from this far back (24h, 7d…); default: since each "
        "channel's previous digest.",
    ),
) -> None:
    """Build each channel's digest now from its undelivered matches, and send it."""
    from monitor.config import parse_duration
    from monitor.render import console_text, email_message

    if html and not dry_run:
        err_console.print("--html writes the email a dry run would send; add --dry-run")
        raise typer.Exit(2)
    cfg = load_or_exit()
    store = open_store(cfg.database_url)
    now = utcnow()
    chosen = [c for c in cfg.channels if channel is None or c.name == channel]
    if channel is not None and not chosen:
        names = ", ".join(c.name for c in cfg.channels) or "none"
        err_console.print(f"no channel named '{channel}'; configured channels: {names}")
        raise typer.Exit(2)
    window_start = None if since is None else now - timedelta(seconds=parse_duration(since))
    if dry_run:
        preview = make_outbox(cfg, store, {})

        async def compose_all() -> list[Digest]:
            return [
                await preview.compose_digest(ch, now, window_start=window_start) for ch in chosen
            ]

        for ch, built in zip(chosen, asyncio.run(compose_all()), strict=True):
            heading(f"{ch.name} ({ch.type}) — dry run, nothing sent")
            typer.echo(console_text(built))
            if html:
                msg = email_message(
                    built,
                    sender="monitor@localhost",
                    to=["reader@localhost"],
                    subject_prefix="[monitor]",
                    links=cfg.web.digest_links(),
                )
                part = msg.get_body(preferencelist=("html",))
                # one file per channel when several are shown: report.html → report.team.html
                target = html
                if len(chosen) > 1:
                    stem, dot, ext = html.rpartition(".")
                    target = f"{stem}.{ch.name}.{ext}" if dot else f"{html}.{ch.name}"
                if part is not None:
                    with open(target, "w", encoding="utf-8") as fh:
                        fh.write(part.get_content())
                    console.print(f"HTML email written to {target}", highlight=False)
        store.close()
        return

    async def go() -> int:
        async with make_senders(cfg) as senders:
            outbox = make_outbox(cfg, store, senders)
            built = 0
            for ch in chosen:
                if await outbox.build_digest(ch, now, window_start=window_start) is not None:
                    built += 1
            reports = await outbox.flush()
            for r in reports:
                console.print(
                    f"{r.channel}: {r.kind} {r.key} {r.outcome} {r.error or ''}", highlight=False
                )
            return built

    n = asyncio.run(go())
    if n == 0:
        console.print("nothing new to send")
    store.close()


@app.command()
def deliveries(
    status: str | None = typer.Option(None, help="pending, sent or dead"),
    retry: int | None = typer.Option(None, help="Queue this delivery id again now."),
    limit: int = typer.Option(50),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """The outbox: every digest and alert, its state, attempts and last error."""
    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    cfg = load_or_exit(needs={"database", "timezone"})
    store = open_store(cfg.database_url)
    if retry is not None:
        ok = store.retry_delivery(retry, utcnow())
        store.close()
        if not ok:
            err_console.print(f"no unsent delivery with id {retry}")
            raise typer.Exit(1)
        console.print(f"delivery {retry} queued again; `monitor run` will send it")
        return
    rows = store.deliveries(status=status, limit=limit)
    store.close()
    scrub = cfg.scrubber()  # errors stored by an older version may still quote a secret
    if fmt == "json":
        typer.echo(
            json.dumps(
                [
                    {
                        "id": d.id,
                        "channel": d.channel,
                        "kind": d.kind,
                        "key": d.key,
                        "status": d.status,
                        "matches": d.match_count,
                        "attempts": d.attempts,
                        "parts_sent": d.parts_sent,
                        "created_at": iso(d.created_at),
                        "window_start": iso(d.window_start),
                        "window_end": iso(d.window_end),
                        "next_attempt_at": iso(d.next_attempt_at),
                        "sent_at": iso(d.sent_at),
                        "last_error": scrub(d.last_error) if d.last_error else None,
                    }
                    for d in rows
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    table = Table(title=f"Deliveries ({len(rows)})")
    for col in ("id", "channel", "kind", "status", "matches", "attempts", "created", "last error"):
        table.add_column(col, overflow="fold")
    for d in rows:
        colour = {"sent": "green", "dead": "red"}.get(d.status, "yellow")
        table.add_row(
            str(d.id),
            d.channel,
            d.kind,
            f"[{colour}]{d.status}[/{colour}]",
            str(d.match_count),
            str(d.attempts),
            local(d.created_at, cfg.timezone) or "",
            escape(scrub(d.last_error or "")),
        )
    console.print(table)


__all__ = ["deliveries", "digest", "run"]
