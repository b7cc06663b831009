"""Attacks on delivery: poison items through every channel, and a scheduled job that fails.

The daemon runs in process (``Service`` with its real scheduler and status endpoint) against a
feed on the test feed server, and delivers digests to four channels at once: the console (a
text stream), Slack and a signed webhook (the scriptable receiver on 127.0.0.1) and email
(aiosmtpd). The feed carries items built to break things: a publication date in year 1 read in
a time zone west of UTC, a date past year 9999, a title of 200,000 characters, markup and Slack
control sequences, an item with no title and a ``javascript:`` link, next to an ordinary item.
Every channel must receive every item, none may be held up by another, and the console, Slack,
email and webhook renderings must each stay inert.

The second part breaks the database under a running daemon (the ``deliveries`` table is
renamed away by another connection, as a locked or full database makes every statement fail)
and checks that the digest job keeps its schedule, that ``/healthz`` turns 503 with the job's
reason once it failed three times in a row, that ``/metrics`` counts the failures, that the log
says so once per change of state, and that all returns to 200 and the digest goes out once the
database is back.
"""

from __future__ import annotations

import asyncio
import email
import io
import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from monitor import digest as digests
from monitor.channels import EmailChannel, SlackChannel, WebhookChannel
from monitor.cli.runtime import cadence_policy
from monitor.config import Config, load_config
from monitor.deliver.console import ConsoleSender
from monitor.deliver.email import EmailSender
from monitor.deliver.slack import SlackSender
from monitor.deliver.webhook import WebhookSender, verify_webhook_signature
from monitor.fetch import Fetcher
from monitor.ingest import save_items
from monitor.model import Item, Reason, TopicMatch
from monitor.outbox import Outbox, Sender
from monitor.pipeline import Pipeline
from monitor.scheduler import Service
from monitor.store import Store
from tests.feedserver import FeedServer
from tests.receiver import Receiver
from tests.support import ALERTS_FROM_ANY_POLL, until, write_config

HOOK_SECRET = "attack-test-signing-secret-0123456789"

#: every NORAD item is an alert, so each poisoned item goes out at once on every channel
WATCHLIST = """\
topics:
  - id: norad
    name: NORAD review
    description: NORAD.
    lang: [en, fr]
    threshold: 1
    alert_at: 1
    groups:
      norad:
        weight: 2
        terms: [{term: NORAD, case: sensitive}]
"""

HUGE = "NORAD huge " + "radar " * 40_000
MARKUP = (
    "<b>NORAD</b> markup <script>alert(1)</script> <!channel> @here *bold* `code` "
    "<a href='javascript:alert(2)'>click</a> \u202etxt.exe"
)


@dataclass(frozen=True)
class Poison:
    name: str  # a word that appears in the item's shown text, to find it in every channel
    xml: str


POISON = (
    Poison(
        "year-one",
        "<item><title>NORAD year-one date</title><link>https://news.example.org/y1</link>"
        "<guid>y1</guid><pubDate>Mon, 01 Jan 0001 00:00:00 GMT</pubDate></item>",
    ),
    Poison(
        "far-future",
        "<item><title>NORAD far-future date</title><link>https://news.example.org/ff</link>"
        "<guid>ff</guid><pubDate>Fri, 31 Dec 9999 23:59:59 -1200</pubDate></item>",
    ),
    Poison(
        "huge",
        f"<item><title>{HUGE}</title><link>https://news.example.org/huge</link>"
        "<guid>huge</guid></item>",
    ),
    Poison(
        "markup",
        "<item><title>"
        + MARKUP.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        + "</title><link>https://news.example.org/markup</link><guid>markup</guid></item>",
    ),
    Poison(
        "untitled",
        "<item><description>NORAD untitled item with a bad link</description>"
        "<link>javascript:alert(3)</link><guid>untitled</guid></item>",
    ),
    Poison(
        "ordinary",
        "<item><title>NORAD ordinary news</title><link>https://news.example.org/ok</link>"
        "<guid>ok</guid><pubDate>Tue, 17 Nov 2026 10:00:00 GMT</pubDate></item>",
    ),
)


def poison_feed(items: tuple[Poison, ...] = POISON) -> bytes:
    body = "".join(p.xml for p in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>Poison</title><link>https://news.example.org/</link>"
        f"<description>Poison</description>{body}</channel></rss>\n"
    ).encode()


# --------------------------------------------------------------------------- the servers


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps the messages it receives."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def text(self) -> str:
        out = []
        for msg in self.messages:
            out.extend(str(part.get_content()) for part in msg.iter_parts())
        return "\n".join(out)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as c:
        yield c


def channels_yaml(rx: Receiver, smtp_port: int, *, digest: bool = False) -> str:
    when = 'digest: "* * * * *"' if digest else "alerts: true"
    return f"""
            channels:
              - {{name: console, type: console, {when}}}
              - name: slack
                type: slack
                webhook_url: "{rx.url("/slack/T000/B000/token")}"
                {when}
              - name: hook
                type: webhook
                url: "{rx.url("/hook")}"
                secret: "{HOOK_SECRET}"
                {when}
              - name: mail
                type: email
                to: [analyst@example.org]
                from: monitor@example.org
                smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none}}
                {when}
            """


def senders_for(cfg: Config, client: httpx.AsyncClient, console: io.StringIO) -> dict[str, Sender]:
    out: dict[str, Sender] = {}
    for ch in cfg.channels:
        if isinstance(ch, SlackChannel):
            out[ch.name] = SlackSender(ch, client, pause_s=0)
        elif isinstance(ch, WebhookChannel):
            out[ch.name] = WebhookSender(ch, client)
        elif isinstance(ch, EmailChannel):
            out[ch.name] = EmailSender(ch, local_hostname="test")
        else:
            out[ch.name] = ConsoleSender(console)
    return out


class Daemon:
    """``monitor run`` in process: the service with its scheduler, on a config and a store."""

    def __init__(
        self, cfg: Config, store: Store, fetcher: Fetcher, senders: dict[str, Sender], **kw: Any
    ) -> None:
        self.pipeline = Pipeline(
            store, fetcher, lambda: self.service.current_matcher(), cadence_policy(cfg)
        )
        self.outbox = Outbox(store, senders, cfg.channels, timezone=cfg.timezone)
        self.service = Service(cfg, store, self.pipeline, self.outbox, **kw)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Daemon:
        self.task = asyncio.create_task(self.service.run(self.stop, grace_s=1.0))
        await until(lambda: self.service.status is not None, "the status endpoint")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await self.task
        self.pipeline.close()

    async def get(self, path: str) -> tuple[int, str]:
        assert self.service.status is not None
        url = f"http://127.0.0.1:{self.service.status.port}{path}"

        def fetch() -> tuple[int, str]:
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    return int(resp.status), resp.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()

        return await asyncio.to_thread(fetch)


def store_match(
    store: Store, title: str, at: datetime, *, published: datetime | None = None
) -> None:
    """Store one item of a feed and its NORAD match, made at ``at``."""
    feed = store.ensure_feed("https://old.example.org/feed.xml", at, name="Old")
    item = Item(
        key=title,
        feed_url=feed.url,
        title=title,
        summary="",
        url="https://old.example.org/" + title.replace(" ", "-"),
        published=published,
        lang="en",
        content_hash="h-" + title,
    )
    found = TopicMatch(
        "norad", 2.0, "alert", (Reason("NORAD", "title", 0, 2.0, "group:norad"),), False
    )
    save_items(store, feed.id, [item], [], {title: [found]}, at)


# --------------------------------------------------------------------------- poison items


@pytest.mark.slow
async def test_poison_items_reach_every_channel_and_block_none(
    tmp_path: Path,
    rx: Receiver,
    mailbox: tuple[Mailbox, int],
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, smtp_port = mailbox
    console = io.StringIO()
    with FeedServer() as feeds:
        url = feeds.feed("/poison.xml", poison_feed())
        path = write_config(
            tmp_path,
            f"""
            timezone: America/Toronto
            {ALERTS_FROM_ANY_POLL}
            feeds:
              - {{url: "{url}", name: Poison}}
            """
            + channels_yaml(rx, smtp_port, digest=True),
            watchlist=WATCHLIST,
        )
        cfg = load_config(path, environ={})
        store = Store.open(cfg.database_url)
        try:
            async with Fetcher() as fetcher:
                senders = senders_for(cfg, client, console)
                async with Daemon(cfg, store, fetcher, senders, tick_s=0.2, flush_s=0.5):

                    def all_sent() -> bool:
                        rows = store.deliveries()
                        return {d.channel for d in rows} == {
                            "console",
                            "slack",
                            "hook",
                            "mail",
                        } and all(d.status == "sent" for d in rows)

                    await until(all_sent, "every channel's digest to be sent", within_s=240)
                    # (what the log says while the daemon stops, cancelling work, is not asked)
                    logged = caplog.text
            deliveries = store.deliveries()
            matches = store.matches(limit=None)
        finally:
            store.close()

    # every poisoned item matched, and went out on every channel in one delivery each
    assert len(matches) == len(POISON)
    assert {d.channel: d.status for d in deliveries} == {
        "console": "sent",
        "slack": "sent",
        "hook": "sent",
        "mail": "sent",
    }
    assert all(d.attempts == 1 for d in deliveries), deliveries

    slack = "\n".join(r.body.decode() for r in rx.requests if r.path.startswith("/slack"))
    [hook] = [r for r in rx.requests if r.path == "/hook"]
    shown = {"console": console.getvalue(), "slack": slack, "mail": box.text()}
    for name in ("year-one", "far-future", "huge", "markup", "untitled", "ordinary"):
        for channel, text in shown.items():
            assert name in text, f"{name} missing from {channel}"
    # the impossible dates are unknown: no channel shows year 1 or 9999
    for channel, text in shown.items():
        assert "0001-01-01" not in text and "9999" not in text, channel
    payload = json.loads(hook.body)
    by_title = {m["title"][:30]: m for m in payload["matches"]}
    assert by_title["NORAD year-one date"]["published"] is None
    assert verify_webhook_signature(
        HOOK_SECRET, hook.header("X-Monitor-Signature") or "", hook.body, datetime.now(UTC)
    )
    # markup stays inert: no live mention or link in Slack, no script in the email, no
    # javascript: link anywhere, no bidirectional override
    assert "<!channel>" not in slack and "<script" not in box.text()
    assert "javascript:" not in slack + box.text() + hook.body.decode()
    assert all("\u202e" not in text for text in shown.values())
    for request in (r for r in rx.requests if r.path.startswith("/slack")):
        for block in request.json()["blocks"]:
            text = block.get("text", {}).get("text", "")
            assert len(text) <= 3000
    # the huge title is cut down everywhere
    assert max(len(m["title"]) for m in payload["matches"]) < 10_000
    assert "Traceback" not in logged


def test_matches_and_dry_run_show_a_stored_impossible_date_as_unknown(
    tmp_path: Path,
) -> None:
    """A date that reached the database before it was checked is shown, not fatal."""
    path = write_config(
        tmp_path,
        """
        timezone: America/Toronto
        channels:
          - {name: console, type: console, digest: "0 8 * * *"}
        """,
        watchlist=WATCHLIST,
    )
    cfg = load_config(path, environ={})
    store = Store.open(cfg.database_url)
    store_match(
        store, "NORAD year-one date", datetime.now(UTC), published=datetime(1, 1, 1, tzinfo=UTC)
    )
    store.close()

    for command in (["matches"], ["digest", "--dry-run"]):
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(path), *command],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "COLUMNS": "200"},
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "NORAD year-one date" in done.stdout, done.stdout
        assert "Traceback" not in done.stderr and "0001-01-01" not in done.stdout


# --------------------------------------------------------------------------- a failing job


def _rename(db: Path, old: str, new: str) -> None:
    """Another connection renames a table: every statement on it fails until it is back."""
    with sqlite3.connect(db, timeout=30) as conn:
        conn.execute(f"ALTER TABLE {old} RENAME TO {new}")


async def test_a_failing_digest_job_keeps_its_schedule_reports_itself_and_recovers(
    tmp_path: Path,
    rx: Receiver,
    mailbox: tuple[Mailbox, int],
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="monitor")
    box, smtp_port = mailbox
    console = io.StringIO()
    path = write_config(tmp_path, channels_yaml(rx, smtp_port, digest=True), watchlist=WATCHLIST)
    cfg = load_config(path, environ={})
    db = tmp_path / "monitor.db"
    store = Store.open(cfg.database_url)
    # each channel's last digest window ended three minutes ago, so one is due at start, and
    # a match made two minutes ago waits for it
    now = datetime.now(UTC)
    for ch in cfg.channels:
        old = digests.build_digest(
            ch.name,
            [],
            window_start=now - timedelta(minutes=9),
            window_end=now - timedelta(minutes=3),
        )
        old_id = store.enqueue_delivery(old, digests.digest_to_json(old), now)
        assert old_id is not None
        store.delivery_sent(old_id, now)
    store_match(store, "NORAD ordinary news", now - timedelta(minutes=2))
    # the database fails every statement on deliveries from the start; polling works
    _rename(db, "deliveries", "deliveries_away")
    try:
        async with Fetcher() as fetcher:
            senders = senders_for(cfg, client, console)
            daemon = Daemon(cfg, store, fetcher, senders, tick_s=0.2, flush_s=0.2, retry_s=0.05)
            async with daemon:
                jobs = daemon.service.health.jobs
                await until(
                    lambda: (
                        jobs.get("digest:hook") is not None and jobs["digest:hook"].failures >= 3
                    ),
                    "the hook's digest job to fail three times",
                )
                sched = daemon.service._scheduler
                assert sched is not None and sched.get_job("digest:hook") is not None
                code, body = await daemon.get("/healthz")
                assert code == 503, body
                reason = json.loads(body)["reason"]
                assert "digest:hook" in reason and "deliveries" in reason, reason
                code, metrics = await daemon.get("/metrics")
                assert 'monitor_job_failures{job="digest:hook"}' in metrics

                _rename(db, "deliveries_away", "deliveries")
                await until(
                    lambda: all(s.failures == 0 for s in jobs.values()),
                    "every job to succeed again",
                    within_s=120,
                )
                code, body = await daemon.get("/healthz")
                assert code == 200, body
                await until(
                    lambda: len([d for d in store.deliveries() if d.status == "sent"]) == 8,
                    "each channel's digest to be sent",
                    within_s=120,
                )
    finally:
        store.close()

    # the digest went out on every channel once the database was back
    assert "NORAD ordinary news" in console.getvalue()
    assert "NORAD ordinary news" in box.text()
    assert any("NORAD ordinary news" in r.body.decode() for r in rx.requests if r.path == "/hook")
    # one log line per change of state of each job, not one per failure
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.run"]
    failing = [m for m in lines if m.startswith("job digest:hook failed")]
    unhealthy = [m for m in lines if m.startswith("job 'digest:hook' failed")]
    recovered = [m for m in lines if m.startswith("job digest:hook succeeds again")]
    assert (len(failing), len(unhealthy), len(recovered)) == (1, 1, 1), lines
