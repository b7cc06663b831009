"""Building the running parts from a configuration: store, fetcher, matcher, pipeline.

Owns: the wiring the commands share. Nothing here decides anything about feeds or matches.
The store, fetcher, pipeline and senders are imported when first built, not when this module
is: commands that need none of them (``--help``, ``check``, ``explain``) start without loading
SQLAlchemy, Alembic, httpx or feedparser.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from monitor import USER_AGENT, cadence, user_agent
from monitor.channels import ConsoleChannel, EmailChannel, SlackChannel, WebhookChannel
from monitor.cli.app import config_path, default_config_hint, err_console
from monitor.config import Config, load_config, load_config_for
from monitor.errors import ConfigError, StoreError
from monitor.score.engine import Matcher, compile_topics

if TYPE_CHECKING:
    from monitor.articles import FulltextSettings
    from monitor.dbexec import DbExecutor
    from monitor.enrich import ArticleEnricher
    from monitor.fetch import Fetcher
    from monitor.outbox import Outbox, Sender
    from monitor.pipeline import Pipeline, PollReport
    from monitor.store import Store


def utcnow() -> datetime:
    return datetime.now(UTC)


#: What commands that only read need: the database and the watchlists (and the time zone
#: they show times in). Problems elsewhere, such as a channel's secret that is not set in
#: this shell, are printed as warnings.
READING = frozenset({"database", "timezone", "watchlists"})


def load_or_exit(path: str | None = None, *, needs: Collection[str] | None = None) -> Config:
    """The configuration, or exit 2 printing every problem as ``path:line: message``.

    With ``needs`` (parts of ``monitor.config.AREAS``), only problems in those parts stop the
    command; the others are printed as warnings and their parts left out.
    """
    try:
        if needs is None:
            return load_config(path or config_path())
        cfg, elsewhere = load_config_for(path or config_path(), needs)
    except ConfigError as exc:
        for problem in exc.problems:  # one line each, whatever the width: grep and editors
            err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        hint = default_config_hint(exc.problems)
        if hint is not None:
            err_console.print(hint, markup=False, highlight=False)
        err_console.print(
            f"[red]configuration is invalid: {len(exc.problems)} problem(s)[/red]", highlight=False
        )
        raise typer.Exit(2) from None
    for problem in elsewhere:
        err_console.print(f"warning: {problem}", markup=False, highlight=False)
    if elsewhere:
        err_console.print(
            f"[yellow]warning: {len(elsewhere)} configuration problem(s) in parts this command "
            "does not use; it runs without them (`monitor check` lists every problem)[/yellow]",
            highlight=False,
        )
    return cfg


def open_store(url: str) -> Store:
    from monitor.store import Store

    try:
        return Store.open(url)
    except StoreError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from None


def cadence_policy(cfg: Config) -> cadence.CadencePolicy:
    return cadence.policy_from_settings(cfg.polling)


def make_fetcher(cfg: Config) -> Fetcher:
    from monitor.fetch import Fetcher

    p = cfg.polling
    return Fetcher(
        timeout_s=p.timeout,
        deadline_s=p.deadline,
        max_bytes=p.max_bytes,
        concurrency=p.concurrency,
        per_host=p.per_host,
        user_agent=user_agent(p.contact),
    )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def make_pipeline(
    cfg: Config,
    store: Store,
    fetcher: Fetcher,
    matcher: Callable[[], Matcher],
    *,
    parse_workers: int | None = None,
    on_poll: Callable[[PollReport], None] | None = None,
    db: DbExecutor | None = None,
) -> Pipeline:
    """The poller, reaching the store through ``db`` (the process's one executor). The
    process's garbage collector runs less often from then on (``monitor.memory``)."""
    from monitor.fetch.robots import RobotsCache
    from monitor.memory import collect_less_often
    from monitor.parse_pool import ParsePool
    from monitor.pipeline import Pipeline

    collect_less_often()
    return Pipeline(
        store,
        fetcher,
        matcher,
        cadence_policy(cfg),
        parse_pool=ParsePool(
            parse_workers or cfg.polling.parse_workers, deadline_s=cfg.polling.parse_deadline
        ),
        owner=worker_name(),
        lease_s=cfg.polling.lease,
        on_poll=on_poll,
        max_entries=cfg.polling.max_entries,
        alert_max_age_s=cfg.polling.alert_max_age,
        first_poll_alerts=cfg.polling.first_poll_alerts,
        sources=cfg.sources(),
        robots=RobotsCache(fetcher),
        db=db,
    )


def make_enricher(
    cfg: Config,
    store: Store,
    fetcher: Fetcher,
    pipeline: Pipeline,
    matcher: Callable[[], Matcher],
    settings: Callable[[], FulltextSettings] | None = None,
) -> ArticleEnricher:
    """The article-text rounds, sharing the poller's fetcher, parse workers and executor."""
    from monitor.enrich import ArticleEnricher
    from monitor.fetch.robots import RobotsCache

    p = cfg.polling
    return ArticleEnricher(
        store,
        fetcher,
        pipeline.parse_pool,
        matcher,
        settings or cfg.fulltext,
        # one cache of robots.txt for the pages polled and the articles fetched
        robots=pipeline.robots
        if isinstance(pipeline.robots, RobotsCache)
        else RobotsCache(fetcher),
        max_bytes=p.article_max_bytes,
        concurrency=p.article_concurrency,
        alert_max_age_s=p.alert_max_age,
        first_poll_alerts=p.first_poll_alerts,
        db=pipeline.db,
    )


def make_outbox(cfg: Config, store: Store, senders: Mapping[str, Sender], **options: Any) -> Outbox:
    """The outbox of the configuration's channels, zone, topic names and delivery lease."""
    from monitor.outbox import Outbox

    return Outbox(
        store,
        senders,
        cfg.channels,
        timezone=cfg.timezone,
        topic_names=topic_names(cfg),
        lease_s=cfg.delivery.lease,
        **options,
    )


def topic_names(cfg: Config) -> dict[str, str]:
    """Each topic's name by its id: digests show names, not ids."""
    return {t.id: t.name for t in cfg.topics}


def matcher_for(cfg: Config) -> Matcher:
    return compile_topics(cfg.topics)


@contextlib.asynccontextmanager
async def make_senders(cfg: Config) -> AsyncIterator[dict[str, Sender]]:
    """One sender per configured channel, sharing one HTTP client for Slack and webhooks."""
    import httpx

    from monitor.deliver.console import ConsoleSender
    from monitor.deliver.email import EmailSender
    from monitor.deliver.slack import SlackSender
    from monitor.deliver.webhook import WebhookSender

    async with httpx.AsyncClient(
        timeout=httpx.Timeout(15.0, connect=10.0),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    ) as client:
        senders: dict[str, Sender] = {}
        links = cfg.web.digest_links()
        for ch in cfg.channels:
            if isinstance(ch, ConsoleChannel):
                senders[ch.name] = ConsoleSender()
            elif isinstance(ch, SlackChannel):
                senders[ch.name] = SlackSender(ch, client, links=links)
            elif isinstance(ch, WebhookChannel):
                senders[ch.name] = WebhookSender(ch, client)
            elif isinstance(ch, EmailChannel):
                senders[ch.name] = EmailSender(ch, links=links)
        yield senders
