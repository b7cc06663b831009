"""Secrets hunted in every output: a standing table of leak cases across every surface.

One scenario runs the real daemon (``monitor run`` as a process) against hostile receivers on
127.0.0.1 that echo secrets back in their error answers: a Slack endpoint answering ``404
Cannot POST /services/…/<token>``, a webhook receiver quoting the signing secret, an SMTP server
(aiosmtpd) refusing the login with the password in its reply. Its feed URL carries a user name,
a password and a query token. While it runs, an edit breaks the configuration in a way whose
error quotes the feed URL, so the rejected reload reaches the log and ``/healthz``.

Then every surface is collected: the daemon's log, ``/healthz``, the delivery errors stored in
the database, ``monitor deliveries`` (table and JSON), ``monitor feeds``, ``monitor check``'s
configuration errors, and ``monitor digest``'s report. Each case asserts its secret appears on
none of them, and each surface is checked to really hold the error that would have carried it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.receiver import Receiver, Reply
from tests.support import ALERTS_FROM_ANY_POLL, wait_for, write_config

SLACK_TOKEN = "xoxbSlackTokenQ7w9e8r7t6y5u4i3"
WEBHOOK_SECRET = "hook-signing-secret-Z9x8c7v6b5n4"
SMTP_PASSWORD = "smtp-pass-K2j3h4g5f6d7"
FEED_PASSWORD = "feedPassword-R4t5y6u7"
FEED_TOKEN = "feedQueryToken-M1n2b3v4c5"


@dataclass(frozen=True)
class Case:
    name: str
    secret: str


CASES = [
    Case("slack token echoed in a receiver's body", SLACK_TOKEN),
    Case("webhook signing secret echoed by the receiver", WEBHOOK_SECRET),
    Case("smtp password echoed in the server's reply", SMTP_PASSWORD),
    Case("feed URL user info", FEED_PASSWORD),
    Case("feed URL query token", FEED_TOKEN),
]

SURFACES = [
    "log",
    "healthz",
    "stored delivery errors",
    "monitor deliveries",
    "monitor deliveries --format json",
    "monitor feeds",
    "config errors",
    "monitor digest",
    "monitor poll --once",
]

ITEM = SampleItem(
    "NORAD: North American Aerospace Defense Command modernization, NORAD radars",
    link="https://news.example.org/norad",
    summary="NORAD and the North American Aerospace Defence Command plan new radars.",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return str(resp.read().decode())
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode())


class _Sink:
    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        return "250 OK"


def _echoing_authenticator(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """Refuses every login, quoting the password it was given (a misconfigured relay does)."""
    given = auth_data.password.decode() if isinstance(auth_data, LoginPassword) else "?"
    return AuthResult(success=False, handled=False, message=f"535 5.7.8 password {given} is wrong")


def _monitor(config: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "COLUMNS": "250", **env},
        cwd=config.parent,
    )


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Run the scenario once; give every surface's text."""
    tmp = tmp_path_factory.mktemp("secrets")
    smtp_port = _free_port()
    smtp = Controller(
        _Sink(),
        hostname="127.0.0.1",
        port=smtp_port,
        authenticator=_echoing_authenticator,
        auth_require_tls=False,
    )
    smtp.start()
    try:
        with FeedServer() as feeds, Receiver() as slack, Receiver() as hook:
            path = f"/services/T000/B000/{SLACK_TOKEN}"
            slack.script(*[Reply(404, f"Cannot POST {path}".encode())] * 5)
            hook.script(*[Reply(401, f"bad signature for key {WEBHOOK_SECRET}".encode())] * 5)
            plain = feeds.feed("/f.xml", rss_feed("F", [ITEM]))
            feed_url = plain.replace("http://", f"http://reader:{FEED_PASSWORD}@") + (
                f"?token={FEED_TOKEN}"
            )
            yield _scenario(tmp, feed_url, slack.url(path), hook.url("/hook"), smtp_port)
    finally:
        smtp.stop()


def _scenario(
    tmp: Path, feed_url: str, slack_url: str, hook_url: str, smtp_port: int
) -> dict[str, str]:
    port = _free_port()
    env = {
        "SLACK_WEBHOOK_URL": slack_url,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SMTP_PASSWORD": SMTP_PASSWORD,
    }
    body = f"""
        status: {{listen: "127.0.0.1:{port}"}}
        {ALERTS_FROM_ANY_POLL}
        feeds:
          - {{url: "{feed_url}"}}
        channels:
          - {{name: team-slack, type: slack, webhook_url: "${{SLACK_WEBHOOK_URL}}", alerts: true}}
          - {{name: hook, type: webhook, url: "{hook_url}", secret: "${{WEBHOOK_SECRET}}",
             alerts: true}}
          - name: analysts
            type: email
            to: [analyst@example.org]
            from: monitor@example.org
            alerts: true
            smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, username: monitor,
                    password: "${{SMTP_PASSWORD}}"}}
        """
    config = write_config(tmp, body)
    good = config.read_text()
    # an edit whose error quotes the feed URL: the same feed listed twice
    broken = good.replace("channels:", f'  - {{url: "{feed_url}"}}\nchannels:', 1)
    assert broken != good
    log = tmp / "run.log"
    out: dict[str, str] = {}
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run", "--tick", "0.5"]
            + ["--log-format", "json"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp,
            env={**os.environ, **env},
        )
        try:
            for what in ("slack channel 'team-slack'", "webhook channel 'hook'", "email channel"):
                # every receiver refuses: each channel's first alert is dead at once
                assert wait_for(log, f"delivery dead: {what}", 90), log.read_text()
            config.write_text(broken)
            assert wait_for(log, "configuration change rejected", 30), log.read_text()
            out["healthz"] = _get(f"http://127.0.0.1:{port}/healthz")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    out["log"] = log.read_text()
    out["config errors"] = _monitor(config, "check", env=env).stderr
    config.write_text(good)
    store = Store.open(f"sqlite:///{tmp / 'monitor.db'}", upgrade=False)
    try:
        out["stored delivery errors"] = "\n".join(d.last_error or "" for d in store.deliveries())
    finally:
        store.close()
    out["monitor deliveries"] = _monitor(config, "deliveries", env=env).stdout
    out["monitor deliveries --format json"] = _monitor(
        config, "deliveries", "--format", "json", env=env
    ).stdout
    out["monitor feeds"] = _monitor(config, "feeds", env=env).stdout
    out["monitor poll --once"] = _monitor(config, "poll", "--once", "--all", env=env).stdout
    # a digest sent now meets the same hostile receivers
    out["monitor digest"] = _monitor(config, "digest", "--since", "7d", env=env).stdout
    return out


# what proves each surface really carried the error a secret could have ridden on
EVIDENCE = {
    "log": ["HTTP 404", "HTTP 401", "refused the login", "configuration change rejected"],
    "healthz": ["config_problems", "is listed twice"],
    "stored delivery errors": ["HTTP 404", "HTTP 401", "refused the login"],
    "monitor deliveries": ["HTTP 404", "HTTP 401", "refused"],
    "monitor deliveries --format json": ["HTTP 404", "HTTP 401", "refused the login"],
    "monitor feeds": ["127.0.0.1"],
    "config errors": ["is listed twice"],
    "monitor digest": ["HTTP 404", "HTTP 401", "refused the login"],
    "monitor poll --once": ["127.0.0.1", "1 feed(s)"],
}


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.slow
def test_each_surface_carried_the_errors(surfaces: dict[str, str], surface: str) -> None:
    text = surfaces[surface]
    for evidence in EVIDENCE[surface]:
        assert evidence in text, f"{surface} does not show {evidence!r}:\n{text}"


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_secret_appears_anywhere(surfaces: dict[str, str], case: Case, surface: str) -> None:
    text = surfaces[surface]
    assert case.secret not in text, f"{case.name}: the secret is in {surface}:\n{text}"


def test_deliveries_json_is_a_list_of_deliveries(surfaces: dict[str, str]) -> None:
    rows = json.loads(surfaces["monitor deliveries --format json"])
    assert {r["channel"] for r in rows} == {"team-slack", "hook", "analysts"}
    assert all(r["status"] == "dead" and r["last_error"] for r in rows if r["kind"] == "alert")
