"""``monitor digest`` and ``monitor deliveries`` run as real processes: feeds from the test feed
server, a SQLite file, and a webhook channel posting to the test receiver on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.digest import build_digest, digest_to_json
from monitor.ingest import save_items
from monitor.model import Item, Reason, TopicMatch
from monitor.store import Store
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.receiver import Receiver, Reply
from tests.support import write_config

HOOK_SECRET = "digest-cli-signing-secret-0123456789"

NORAD = SampleItem(
    "Ottawa & Washington open NORAD modernization talks",
    link="https://news.example.org/norad-talks",
    summary="Canada and the United States began a review of NORAD and its radars.",
)
TARIFFS = SampleItem(
    "Canada answers U.S. steel tariffs with counter-tariffs",
    link="https://news.example.org/tariffs",
    summary="Ottawa announced counter-tariffs on American goods.",
)
DOUANE = SampleItem(
    "Droits de douane : Ottawa riposte aux mesures américaines",
    link="https://nouvelles.example.org/douane",
    summary="Le gouvernement annonce des droits de douane sur l’acier américain.",
)
TITLES = [NORAD.title, TARIFFS.title, DOUANE.title]


@dataclass
class Setup:
    config: Path
    rx: Receiver
    db_url: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "200", "HOOK_SECRET": HOOK_SECRET},
            cwd=self.config.parent,
        )

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, f"monitor {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result.stdout

    def store(self) -> Store:
        return Store.open(self.db_url, upgrade=False)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with FeedServer() as feeds, Receiver() as rx:
        wire = feeds.feed("/wire.xml", rss_feed("Wire", [NORAD, TARIFFS]))
        cbc = feeds.feed("/cbc.xml", rss_feed("CBC", [NORAD]))  # the same article: "also in"
        radio = feeds.feed("/radio.xml", rss_feed("Radio", [DOUANE]))
        config = write_config(
            tmp_path,
            f"""
            feeds:
              - {{url: "{wire}", name: Wire, lang: en}}
              - {{url: "{cbc}", name: CBC, lang: en}}
              - {{url: "{radio}", name: Radio, lang: fr}}
            channels:
              - {{name: console, type: console}}
              - name: hook
                type: webhook
                url: "{rx.url("/hook")}"
                secret: "${{HOOK_SECRET}}"
            """,
        )
        s = Setup(config, rx, f"sqlite:///{tmp_path / 'monitor.db'}")
        s.ok("poll", "--once")
        yield s


def _stories(printed: str) -> str:
    """The stories of a printed digest, without its heading (which names the time window)."""
    return printed[printed.index("\n1. ") :]


def _sent_titles(rx: Receiver) -> list[str]:
    return sorted(m["title"] for r in rx.requests for m in r.json()["matches"])


def _stored_match_ids(setup: Setup) -> list[int]:
    store = setup.store()
    try:
        return sorted(m.id for m in store.matches(limit=None))
    finally:
        store.close()


@pytest.mark.slow
def test_dry_run_prints_and_marks_nothing_then_a_real_digest_sends_the_same(
    setup: Setup,
) -> None:
    dry = setup.ok("digest", "--channel", "hook", "--dry-run")
    assert "dry run, nothing sent" in dry
    for title in TITLES:
        assert title in dry, dry
    assert "also reported by: CBC" in dry
    assert setup.rx.requests == []
    assert "Deliveries (0)" in setup.ok("deliveries")
    again = setup.ok("digest", "--channel", "hook", "--dry-run")
    assert _stories(again) == _stories(dry)  # nothing was marked

    sent = setup.ok("digest", "--channel", "hook")
    assert " sent" in sent and "hook: digest digest-" in sent
    [request] = setup.rx.requests
    assert _sent_titles(setup.rx) == sorted(TITLES)
    ids = sorted(i for m in request.json()["matches"] for i in m["match_ids"])
    assert ids == _stored_match_ids(setup)
    listed = setup.ok("deliveries")
    assert "Deliveries (1)" in listed and "hook" in listed and "sent" in listed

    # marked: the same matches are not sent again, and a dry run has nothing to show
    assert "nothing new to send" in setup.ok("digest", "--channel", "hook")
    assert len(setup.rx.requests) == 1
    after = setup.ok("digest", "--channel", "hook", "--dry-run")
    assert "No new matches" in after and not any(t in after for t in TITLES)
    # another channel's digest is its own: the console still has all of them
    console = setup.ok("digest", "--channel", "console", "--dry-run")
    assert all(t in console for t in TITLES)


def test_html_writes_the_email_a_reader_would_get(setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "digest.html"
    printed = setup.ok("digest", "--channel", "hook", "--dry-run", "--html", str(out))
    assert f"HTML email written to {out}" in printed
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Ottawa &amp; Washington open NORAD modernization talks" in html  # escaped
    assert "Ottawa & Washington" not in html
    assert DOUANE.title in html and "l’acier" in html
    assert "Also reported by:" in html and "CBC" in html
    assert 'href="https://news.example.org/norad-talks"' in html
    assert setup.rx.requests == []


def test_html_without_dry_run_is_refused(setup: Setup, tmp_path: Path) -> None:
    result = setup.run("digest", "--channel", "hook", "--html", str(tmp_path / "d.html"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--html" in result.stderr and "--dry-run" in result.stderr
    assert setup.rx.requests == [] and not (tmp_path / "d.html").exists()


@pytest.mark.slow
def test_unknown_channel_exits_2_listing_the_channels(setup: Setup) -> None:
    result = setup.run("digest", "--channel", "slak", "--dry-run")
    assert result.returncode == 2
    assert "no channel named 'slak'" in result.stderr
    assert "configured channels: console, hook" in result.stderr
    assert setup.run("digest", "--channel", "slak").returncode == 2
    assert setup.rx.requests == []


@pytest.mark.slow
def test_a_dead_delivery_is_listed_and_retry_sends_it_with_the_same_key(setup: Setup) -> None:
    setup.rx.script(Reply(410, b"this hook is gone"))
    first = setup.ok("digest", "--channel", "hook")
    assert "dead" in first and "HTTP 410" in first
    store = setup.store()
    try:
        [dead] = store.deliveries(status="dead")
    finally:
        store.close()
    listed = setup.ok("deliveries", "--status", "dead")
    assert "Deliveries (1)" in listed and "HTTP 410" in listed and str(dead.id) in listed
    assert "Deliveries (0)" in setup.ok("deliveries", "--status", "sent")

    missing = setup.run("deliveries", "--retry", str(dead.id + 100))
    assert missing.returncode == 1 and f"no unsent delivery with id {dead.id + 100}" in (
        missing.stderr
    )
    assert f"delivery {dead.id} queued again" in setup.ok("deliveries", "--retry", str(dead.id))
    assert "Deliveries (1)" in setup.ok("deliveries", "--status", "pending")

    # the next flush (here `monitor digest`, which builds nothing new) sends it
    again = setup.ok("digest", "--channel", "hook")
    assert f"hook: digest {dead.key} sent" in again
    assert [r.header("Idempotency-Key") for r in setup.rx.requests] == [dead.key, dead.key]
    assert setup.rx.requests[0].body == setup.rx.requests[1].body
    assert "Deliveries (1)" in setup.ok("deliveries", "--status", "sent")
    assert setup.run("deliveries", "--retry", str(dead.id)).returncode == 1  # sent: not requeued


def _store_old_match(setup: Setup, at: datetime) -> None:
    store = setup.store()
    try:
        feed = store.ensure_feed("https://archive.example.org/feed.xml", at, name="Archive")
        item = Item(
            key="old",
            feed_url=feed.url,
            title="NORAD budget hearing from three days ago",
            summary="",
            url="https://archive.example.org/old",
            content_hash="h-old",
        )
        reason = Reason("NORAD", "title", 0, 2.0, "group:norad")
        save_items(
            store, feed.id, [item], [], {"old": [TopicMatch("norad", 4.0, "digest", (reason,))]}, at
        )
    finally:
        store.close()


@pytest.mark.slow
def test_since_limits_the_dry_run_and_the_real_digest_alike(setup: Setup) -> None:
    _store_old_match(setup, datetime.now(UTC) - timedelta(days=3))
    old = "NORAD budget hearing from three days ago"
    assert old in setup.ok("digest", "--channel", "hook", "--dry-run")
    dry = setup.ok("digest", "--channel", "hook", "--dry-run", "--since", "1d")
    assert old not in dry and all(t in dry for t in TITLES)
    setup.ok("digest", "--channel", "hook", "--since", "1d")
    assert _sent_titles(setup.rx) == sorted(TITLES)
    # the older match was not taken: a wider digest later still has it
    setup.ok("digest", "--channel", "hook", "--since", "7d")
    assert _sent_titles(setup.rx) == sorted([*TITLES, old])


@pytest.mark.slow
def test_dry_run_leaves_out_what_was_alerted_when_the_channel_says_so(tmp_path: Path) -> None:
    with FeedServer() as feeds, Receiver() as rx:
        wire = feeds.feed("/wire.xml", rss_feed("Wire", [NORAD, TARIFFS]))
        config = write_config(
            tmp_path,
            f"""
            feeds:
              - {{url: "{wire}", name: Wire, lang: en}}
            channels:
              - name: hook
                type: webhook
                url: "{rx.url("/hook")}"
                secret: "${{HOOK_SECRET}}"
                alerts: true
                include_alerted_in_digest: false
            """,
        )
        setup = Setup(config, rx, f"sqlite:///{tmp_path / 'monitor.db'}")
        setup.ok("poll", "--once")
        store = setup.store()
        try:
            norad = [m for m in store.matches(limit=None) if m.topic == "norad"]
            now = datetime.now(UTC)
            alert = build_digest(
                "hook", norad, window_start=now - timedelta(minutes=1), window_end=now, kind="alert"
            )
            assert store.enqueue_delivery(alert, digest_to_json(alert), now) is not None
        finally:
            store.close()
        dry = setup.ok("digest", "--channel", "hook", "--dry-run")
        assert TARIFFS.title in dry and NORAD.title not in dry
        setup.ok("digest", "--channel", "hook")
        digests = [r.json() for r in rx.requests if r.json()["kind"] == "digest"]
        assert [m["title"] for d in digests for m in d["matches"]] == [TARIFFS.title]
