"""Commands that inspect and exercise the configuration: check, poll, matches, explain, feeds.

Owns: argument parsing and printing for these commands; the work is done by the pipeline,
the store and the matcher.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from monitor.articles import snippet
from monitor.cadence import describe_reason
from monitor.cli.app import app, config_path, console, err_console, iso, local
from monitor.cli.runtime import (
    READING,
    load_or_exit,
    make_enricher,
    make_fetcher,
    make_pipeline,
    matcher_for,
    open_store,
    utcnow,
)
from monitor.cli.tables import LineTable
from monitor.config import Config, parse_duration
from monitor.dbexec import DbExecutor
from monitor.model import ArticleState, FeedState, MatchRecord, plausible_date

if TYPE_CHECKING:
    from monitor.enrich import EnrichReport
    from monitor.pipeline import CycleReport


@app.command()
def check() -> None:
    """Validate monitor.yaml and every watchlist; print each problem as path:line: message."""
    cfg = load_or_exit()
    console.print(
        f"[green]ok[/green] {cfg.path}: {len(cfg.feeds)} feeds, {len(cfg.channels)} channels, "
        f"{len(cfg.topics)} topics from {len(cfg.watchlist_files)} watchlist file(s)",
        highlight=False,
    )
    fetching = cfg.polling.fulltext != "never" or any(
        f.fulltext not in (None, "never") for f in cfg.feeds
    )
    if fetching and cfg.polling.contact is None:
        console.print(
            f"[yellow]note[/yellow] {cfg.path}: polling.contact is not set; article pages are "
            "fetched from many sites, and their operators should be able to reach you: set it "
            "to a page about this installation or a mailto: address, e.g. "
            "contact: mailto:ops@example.org",
            highlight=False,
        )


def _print_cycle(report: CycleReport, cfg: Config) -> None:
    table = LineTable(
        f"Poll cycle: {len(report.polls)} feed(s) in {report.duration_s:.1f}s",
        ("feed", "outcome", "status", "items", "new", "matches", "next poll", "error"),
    )
    scrub = cfg.scrubber()  # a feed URL may carry a user name, a password or a token
    for p in sorted(report.polls, key=lambda p: (p.outcome != "error", p.name or p.url)):
        table.add_row(
            escape(p.name or scrub(p.url)),
            p.outcome if p.outcome != "error" else f"[red]{escape(p.error_kind or '')}[/red]",
            str(p.status or ""),
            str(p.items),
            str(p.new_items),
            str(p.new_matches),
            local(p.next_poll_at, cfg.timezone) or "",
            escape(scrub(p.error or "")),
        )
    console.print(table)


@app.command()
def poll(
    once: bool = typer.Option(
        True, "--once/--no-once", help="Run one cycle and exit (the only mode of this command)."
    ),
    feed: list[str] = typer.Option(
        None, "--feed", help="Poll this feed URL instead of the configured ones (repeatable)."
    ),
    all_feeds: bool = typer.Option(
        False, "--all", help="Poll every configured feed now, due or not."
    ),
    backlog_articles: bool = typer.Option(
        True,
        "--backlog-articles/--no-backlog-articles",
        help="Fetch the article text of items that came with a feed's first poll (its "
        "backlog) too; with --no-backlog-articles they are left for `monitor run`.",
    ),
) -> None:
    """Poll feeds once with the configured watchlists, store what is new, then exit."""
    if not once:
        err_console.print("use `monitor run` for continuous polling")
        raise typer.Exit(2)
    cfg = load_or_exit()
    store = open_store(cfg.database_url)
    now = utcnow()
    store.sync_feeds([f for f in cfg.feeds if f.enabled], now)
    urls: list[str] | None = None
    if feed:
        urls = [store.ensure_feed(url, now).url for url in feed]
    elif all_feeds:
        urls = [f.url for f in cfg.feeds if f.enabled]
    matcher = matcher_for(cfg)
    left = 0

    async def go() -> tuple[CycleReport, EnrichReport]:
        nonlocal left
        from monitor.poller import Poller

        async with make_fetcher(cfg) as fetcher:
            pipeline = make_pipeline(cfg, store, fetcher, lambda: matcher, db=db)
            enricher = make_enricher(cfg, store, fetcher, pipeline, lambda: matcher)
            try:
                with console.status("polling…"):
                    # next polls stored under other settings (with --all, every configured
                    # feed's next poll is decided anew by its poll)
                    if not all_feeds:
                        await pipeline.replan()
                    poller = Poller(pipeline, capacity=cfg.polling.concurrency)
                    cycle = await poller.run_once(urls=urls)
                with console.status("fetching article text…"):
                    enriched = await enricher.drain(backlog=backlog_articles)
                if not backlog_articles:
                    left = await db(store.articles.backlog_waiting, enricher.since())
                return cycle, enriched
            finally:
                enricher.close()  # owns nothing here: it runs on the pipeline's executor
                pipeline.close()

    db = DbExecutor()
    try:
        report, enriched = asyncio.run(go())
    finally:
        db.close()
    _print_cycle(report, cfg)
    console.print(
        f"{report.new_items} new item(s), {report.new_matches} new match(es), "
        f"{len(report.failed)} failed feed(s)",
        highlight=False,
    )
    if enriched.fetched:
        kinds = Counter(r.error_kind or "?" for r in enriched.fetched if r.status == "error")
        why = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        console.print(
            f"article text: {len(enriched.fetched) - kinds.total()} fetched, "
            f"{kinds.total()} not{f' ({why})' if why else ''}; "
            f"{enriched.new_matches} new match(es) from the body",
            highlight=False,
        )
    if left:
        console.print(
            f"article text: {left} item(s) from feeds' first polls left for `monitor run` "
            "to consider (or a `monitor poll --once` without --no-backlog-articles)",
            highlight=False,
        )
    store.close()


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return utcnow() - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is neither a duration (24h, 7d) nor an ISO date (2026-11-20)"
        ) from None
    return when if when.tzinfo else when.astimezone()


def _published(value: datetime | None, zone: ZoneInfo) -> str:
    """The publication time in ``zone``, or ``unknown`` (none given, or an impossible one
    stored before dates were checked)."""
    known = plausible_date(value)
    return known.astimezone(zone).strftime("%Y-%m-%d %H:%M") if known else "unknown"


def matches_table(records: list[MatchRecord], title: str = "Matches", tz: str = "UTC") -> Table:
    """One row per item (newest first): its topics with scores, ``!`` marking alerts."""
    zone = ZoneInfo(tz)
    table = Table(title=title)
    table.add_column("item", justify="right")
    table.add_column(f"published ({tz})")
    table.add_column("topics (score)", overflow="fold")
    table.add_column("title", overflow="fold", ratio=3)
    table.add_column("feed", overflow="fold", ratio=1)
    table.add_column("also in", overflow="fold", ratio=1)
    by_item: dict[int, list[MatchRecord]] = {}
    for m in records:
        by_item.setdefault(m.item_id, []).append(m)
    for group in by_item.values():
        first = group[0]
        topics = ", ".join(
            f"{m.topic} {m.score:g}" + ("[bold red]![/bold red]" if m.severity == "alert" else "")
            for m in sorted(group, key=lambda m: -m.score)
        )
        table.add_row(
            str(first.item_id),
            _published(first.published, zone),
            topics,
            escape(first.title),
            escape(first.feed_name or first.feed_url),
            escape(", ".join(first.also_in)),
        )
    return table


@app.command()
def matches(
    topic: str | None = typer.Option(None, help="Only this topic id."),
    since: str | None = typer.Option(None, help="Only matches newer than 24h, 7d… or a date."),
    limit: int = typer.Option(200, help="At most this many, newest first."),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """List stored matches, newest first."""
    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    cfg = load_or_exit(needs=READING)
    store = open_store(cfg.database_url)
    found = store.matches(since=_since(since), topic=topic, limit=limit)
    store.close()
    if fmt == "json":
        typer.echo(json.dumps([m.as_json() for m in found], ensure_ascii=False, indent=2))
        return
    console.print(matches_table(found, tz=cfg.timezone))


def feeds(
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Health of every feed: last success, last error, failures in a row, next poll (the
    ``feeds`` group's own action, registered in ``monitor.cli.feeds_cmd``)."""
    cfg = load_or_exit(needs={"database", "timezone", "feeds"})
    store = open_store(cfg.database_url)
    store.sync_feeds([f for f in cfg.feeds if f.enabled], utcnow())
    states = store.feeds()
    store.close()
    scrub = cfg.scrubber()  # a feed URL may carry a user name, a password or a token
    if fmt == "json":
        typer.echo(
            json.dumps(
                [
                    {
                        "url": scrub(s.url),
                        "name": s.name,
                        "last_success_at": iso(s.last_success_at),
                        "last_polled_at": iso(s.last_polled_at),
                        "next_poll_at": iso(s.next_poll_at),
                        "next_poll_reason": s.next_poll_reason,
                        "status": _health(s),
                        "consecutive_failures": s.consecutive_failures,
                        "last_error_kind": s.last_error_kind,
                        "last_error": scrub(s.last_error) if s.last_error else None,
                        "disabled_reason": s.disabled_reason,
                        "items_per_day": s.items_per_day,
                        "entries_cut": s.entries_cut,
                    }
                    for s in states
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    table = Table(title=f"Feeds ({len(states)})")
    for col in (
        "feed",
        "status",
        "last success",
        "failures",
        "last error",
        "next poll",
        "why",
        "items/day",
    ):
        table.add_column(col, overflow="fold")
    colours = {"ok": "green", "failing": "yellow", "unhealthy": "red", "disabled": "red"}
    for s in states:
        health = (
            f"disabled: {s.disabled_reason}"
            if s.disabled_reason
            else (f"{s.last_error_kind}: {s.last_error}" if s.last_error_kind else "")
        )
        if s.entries_cut:
            cut = f"{s.entries_cut:,} entries past polling.max_entries not read"
            health = f"{health}; {cut}" if health else cut
        status = _health(s)
        table.add_row(
            escape(s.name or scrub(s.url)),
            f"[{colours[status]}]{status}[/{colours[status]}]",
            local(s.last_success_at, cfg.timezone) or "never",
            str(s.consecutive_failures),
            escape(scrub(health)),
            local(s.next_poll_at, cfg.timezone) or "now",
            describe_reason(s.next_poll_reason, s.consecutive_failures),
            f"{s.items_per_day:.1f}" if s.items_per_day is not None else "",
        )
    console.print(table)


def _health(s: FeedState) -> str:
    """ok, failing (the last poll failed), unhealthy (failing for long, or gone missing) or
    disabled (the server said 410 Gone); unhealthy and failing feeds are still polled."""
    if s.disabled_reason:
        return "disabled"
    if s.unhealthy:
        return "unhealthy"
    return "failing" if s.consecutive_failures else "ok"


@app.command()
def explain(
    title: str | None = typer.Option(None, help="A title to score."),
    summary: str = typer.Option("", help="A summary to score with the title."),
    body: str = typer.Option("", help="An article's text to score with them, as the body."),
    item: int | None = typer.Option(None, help="A stored item id (see `monitor matches`)."),
    url: str | None = typer.Option(None, help="The URL of a stored item."),
    lang: str | None = typer.Option(None, help="Language of the text (en, fr)."),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Score a title and summary (and body), or a stored item with its article text, against
    every topic and say why; a hit in the body is shown with the words around it."""
    cfg = load_or_exit(needs=READING)
    if title is None and item is None and url is None:
        raise typer.BadParameter("give --title (and --summary), --item ID or --url URL")
    if title is None:
        store = open_store(cfg.database_url)
        from monitor.urls import canonical_url

        stored = (
            store.item(item)
            if item is not None
            else store.item(url=canonical_url(url or "") or url)
        )
        from monitor.cli.explain_source import fetched_text, watched_change

        if stored is None and url is not None:  # a page watched for its text: its last change
            change = watched_change(cfg, store, url)
            stored = store.item(change) if change is not None else None
        article = store.articles.state(stored.id) if stored is not None else None
        store.close()
        if stored is None and url is not None:  # a page or a PDF as served now: its text is
            # scored as the body, as an article's would be
            title, body = fetched_text(cfg, url)
            if fmt != "json":
                console.print(
                    f"[bold]{escape(title)}[/bold] {url} (as served now)", highlight=False
                )
        elif stored is None:
            err_console.print(f"no stored item id {item}")
            raise typer.Exit(1)
        else:
            title, summary, lang = stored.title, stored.summary, lang or stored.lang
            body = article.text or "" if article is not None and article.status == "ok" else ""
            if fmt != "json":
                console.print(f"[bold]item {stored.id}[/bold] {stored.url or ''}", highlight=False)
                console.print(escape(_article_line(article)), highlight=False)
    explanations = matcher_for(cfg).explain(title, summary, lang, body)
    if fmt == "json":
        typer.echo(
            json.dumps(
                [
                    {
                        "topic": e.topic,
                        "name": e.name,
                        "matched": e.matched,
                        "decision": e.decision,
                        "score": e.score,
                        "threshold": e.threshold,
                        "severity": e.severity,
                        "urgent": e.urgent,
                        "detail": e.detail,
                        "reasons": [
                            {
                                "term": r.term,
                                "field": r.field,
                                "position": r.position,
                                "weight": r.weight,
                                "rule": r.rule,
                                **(
                                    {"snippet": snippet(body, r.position, len(r.term))}
                                    if r.field == "body"
                                    else {}
                                ),
                            }
                            for r in e.reasons
                        ],
                    }
                    for e in explanations
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for e in sorted(explanations, key=lambda e: (not e.matched, -e.score)):
        mark = "[green]MATCH[/green]" if e.matched else "[dim]no match[/dim]"
        sev = f" · {e.severity}" + (" · urgent" if e.urgent else "") if e.matched else ""
        console.print(
            f"{mark} [bold]{escape(e.topic)}[/bold] ({escape(e.name)}): score {e.score:g} / "
            f"threshold {e.threshold:g}{sev} — {escape(e.detail)}",
            highlight=False,
        )
        for r in e.reasons:
            console.print(f"    {escape(str(r))}", highlight=False)
            if r.field == "body":
                shown = snippet(body, r.position, len(r.term))
                console.print(f"        [dim]{escape(shown)}[/dim]", highlight=False)


def _article_line(article: ArticleState | None) -> str:
    """One line on an item's article text: fetched, waiting, skipped, or why not."""
    if article is None:
        return "article: not considered yet"
    if article.status == "ok":
        cut = " (cut at the storage cap)" if article.cut else ""
        return f"article: {len(article.text or ''):,} characters of text, scored as body{cut}"
    if article.status == "pending":
        tried = f", tried {article.attempts} time(s): {article.error}" if article.error else ""
        return f"article: waiting to be fetched ({article.reason}){tried}"
    if article.status == "skipped":
        return f"article: not fetched ({article.reason})"
    return f"article: not fetched: {article.error_kind}: {article.error}"


__all__ = ["check", "config_path", "explain", "feeds", "matches", "matches_table", "poll"]
