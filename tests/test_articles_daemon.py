"""``monitor run``: a topic found only in an article's body goes out as an alert, once.

The daemon polls a feed of one-line summaries from the test feed server, stores the items
(no match on title and summary), fetches the articles in its own job, finds the topic in one
body and alerts it through a webhook channel posting to the test receiver.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.receiver import Receiver
from tests.support import wait_until, write_config
from tests.test_articles import WATCHLIST, article

ALERTING = WATCHLIST.replace("threshold: 2\n", "threshold: 2\n    alert_at: 2\n")


def _alerted(rx: Receiver) -> list[str]:
    return [
        m["title"]
        for r in rx.requests
        if r.json().get("kind") == "alert"
        for m in r.json()["matches"]
    ]


@pytest.mark.slow
def test_the_daemon_alerts_a_match_found_only_in_the_body_once(
    tmp_path: Path, rx: Receiver
) -> None:
    with FeedServer() as server:
        budget = server.feed(
            "/news/budget",
            article(
                "Budget day",
                "The NORAD upgrade includes an over-the-horizon radar in the Arctic.",
            ),
            content_type="text/html; charset=utf-8",
        )
        roads = server.feed(
            "/news/roads", article("Roads", "Crews start in the spring."), content_type="text/html"
        )
        feed = server.feed(
            "/feed.xml",
            rss_feed(
                "Capital News",
                [
                    SampleItem("Budget day", link=budget, summary="The budget is out."),
                    SampleItem("Roads", link=roads, summary="Crews get ready."),
                ],
            ),
        )
        cfg = write_config(
            tmp_path,
            f"""
            polling: {{fulltext: auto, first_poll_alerts: true, alert_max_age: 36500d}}
            feeds:
              - {{url: "{feed}", name: Capital News, lang: en}}
            channels:
              - name: hook
                type: webhook
                url: "{rx.url("/hook")}"
                secret: "${{HOOK_SECRET}}"
                alerts: true
            """,
            ALERTING,
        )
        log = tmp_path / "run.log"
        env = {**os.environ, "HOOK_SECRET": "daemon-articles-secret-0123456789"}
        with log.open("w") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(cfg), "run", "--tick", "0.5"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
                env=env,
            )
            try:
                alerted = wait_until(lambda: _alerted(rx), 90, "an alert", detail=log.read_text)
                assert alerted == ["Budget day"], log.read_text()[-3000:]
                # the roads article was fetched too (and matched nothing)
                wait_until(lambda: server.count("/news/roads"), 90, "the roads article's fetch")
            finally:
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]
    assert _alerted(rx) == ["Budget day"]  # once
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", upgrade=False)
    try:
        [match] = store.matches(limit=None)
        assert match.severity == "alert" and {r.field for r in match.reasons} == {"body"}
        assert [d.kind for d in store.deliveries()] == ["alert"]
    finally:
        store.close()
