"""End to end: the ``monitor`` command run as a real process against feeds served on 127.0.0.1
by the project's test feed server, into a SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, SampleItem, atom_feed, rss_feed
from tests.support import wait_for, wait_until, write_config

ROOT = Path(__file__).resolve().parent.parent

ON_TOPIC = [
    SampleItem(
        "Ottawa opens talks on NORAD modernization funding",
        link="https://news.example.org/norad-talks?utm_source=rss",
        summary="Canada and the United States began a review of NORAD and its radars.",
        published=datetime(2026, 11, 20, 12, tzinfo=UTC),
    ),
    SampleItem(
        "Canada answers U.S. steel tariffs with counter-tariffs",
        link="https://news.example.org/tariffs",
        summary="Ottawa announced counter-tariffs on American goods.",
        published=datetime(2026, 11, 20, 13, tzinfo=UTC),
    ),
]
OFF_TOPIC = [
    SampleItem(
        "NORAD Tracks Santa again this Christmas Eve",
        link="https://news.example.org/santa",
        summary="Volunteers answer calls from children about Santa.",
    ),
    SampleItem(
        "Ontario electricity tariffs rise in January",
        link="https://news.example.org/hydro",
        summary="The provincial energy board approved the new rates.",
    ),
]


def monitor(
    config: Path, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=config.parent,
    )


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.mark.slow
def test_poll_once_stores_items_and_matches_then_polls_conditionally(
    server: FeedServer, tmp_path: Path
) -> None:
    rss = server.feed("/news.xml", rss_feed("News", ON_TOPIC + OFF_TOPIC))
    atom = server.feed(
        "/wire.xml", atom_feed("Wire", [ON_TOPIC[0]]), content_type="application/atom+xml"
    )
    cfg = write_config(
        tmp_path,
        f"""
        feeds:
          - {{url: "{rss}", name: News, lang: en}}
          - {{url: "{atom}", name: Wire, lang: en}}
        channels:
          - {{name: console, type: console}}
        """,
    )
    first = monitor(cfg, "poll", "--once")
    assert first.returncode == 0, first.stderr
    assert "0 failed feed(s)" in first.stdout
    out = monitor(cfg, "matches", "--format", "json")
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    titles = {m["title"]: m for m in found}
    assert set(titles) == {ON_TOPIC[0].title, ON_TOPIC[1].title}
    norad = titles[ON_TOPIC[0].title]
    for key in ("item_id", "feed_url", "url", "title", "published", "topic", "score", "reasons"):
        assert key in norad
    assert norad["topic"] == "norad" and norad["score"] > 0 and norad["reasons"]
    assert norad["url"] == "https://news.example.org/norad-talks"  # tracking parameter dropped
    assert norad["published"] == "2026-11-20T12:00:00+00:00"
    # the same article in two feeds is one item, shown with where else it ran
    assert norad["also_in"] == ["Wire"] or norad["feed_url"] == atom
    assert titles[ON_TOPIC[1].title]["topic"] == "tariffs"

    server.reset()
    second = monitor(cfg, "poll", "--once", "--all")
    assert second.returncode == 0, second.stderr
    assert "0 new item(s), 0 new match(es)" in second.stdout
    [request] = server.requests("/news.xml")
    assert request.header("If-None-Match")
    assert request.header("If-Modified-Since")
    again = json.loads(monitor(cfg, "matches", "--format", "json").stdout)
    assert len(again) == len(found)


def test_poll_an_ad_hoc_feed(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed(
        "/adhoc.atom", atom_feed("Ad hoc", ON_TOPIC), content_type="application/atom+xml"
    )
    cfg = write_config(tmp_path, "channels:\n  - {name: console, type: console}\n")
    result = monitor(cfg, "poll", "--once", "--feed", url)
    assert result.returncode == 0, result.stderr
    assert "2 new item(s), 2 new match(es)" in result.stdout
    table = monitor(cfg, "matches", "--topic", "tariffs")
    assert "counter-tariffs" in table.stdout and "NORAD" not in table.stdout


def test_a_failing_feed_does_not_stop_the_others(server: FeedServer, tmp_path: Path) -> None:
    good = server.feed("/good.xml", rss_feed("Good", ON_TOPIC))
    bad = server.error("/bad.xml", 500)
    html = server.html("/page.xml")
    cfg = write_config(
        tmp_path,
        f"""
        feeds:
          - {{url: "{good}", name: Good}}
          - {{url: "{bad}", name: Bad}}
          - {{url: "{html}", name: Page}}
        """,
    )
    result = monitor(cfg, "poll", "--once")
    assert result.returncode == 0, result.stderr
    assert "2 new item(s)" in result.stdout and "2 failed feed(s)" in result.stdout
    feeds = {f["name"]: f for f in json.loads(monitor(cfg, "feeds", "--format", "json").stdout)}
    assert feeds["Good"]["consecutive_failures"] == 0 and feeds["Good"]["last_success_at"]
    assert feeds["Bad"]["consecutive_failures"] == 1 and feeds["Bad"]["last_error_kind"] == "http"
    assert feeds["Page"]["last_error_kind"] == "not_a_feed"
    assert feeds["Bad"]["next_poll_at"] > feeds["Bad"]["last_polled_at"]


def test_check_exit_codes(tmp_path: Path) -> None:
    good = write_config(tmp_path, "channels:\n  - {name: console, type: console}\n")
    ok = monitor(good, "check")
    assert ok.returncode == 0 and "ok" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "watchlists: [watchlists/*.yaml]\npolling: {interval: often}\nfeeds:\n  - {uri: x}\n",
        encoding="utf-8",
    )
    result = monitor(bad, "check")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith(str(bad))]
    assert len(lines) >= 3, result.stderr
    assert any(line.startswith(f"{bad}:2:") and "interval" in line for line in lines)
    assert any(line.startswith(f"{bad}:4:") and "'uri'" in line for line in lines)


def test_shipped_config_checks() -> None:
    result = monitor(ROOT / "config" / "monitor.yaml", "check")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_explain_a_title_and_a_stored_item(server: FeedServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    result = monitor(
        cfg, "explain", "--title", "NORAD Tracks Santa", "--summary", "", "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    topics = {e["topic"]: e for e in json.loads(result.stdout)}
    assert topics["norad"]["decision"] == "vetoed" and not topics["norad"]["matched"]
    url = server.feed("/one.xml", rss_feed("One", ON_TOPIC[:1]))
    monitor(cfg, "poll", "--once", "--feed", url)
    [stored] = json.loads(monitor(cfg, "matches", "--format", "json").stdout)
    by_id = monitor(cfg, "explain", "--item", str(stored["item_id"]))
    assert by_id.returncode == 0 and "MATCH" in by_id.stdout and "norad" in by_id.stdout
    by_url = monitor(cfg, "explain", "--url", ON_TOPIC[0].link)
    assert by_url.returncode == 0 and "MATCH" in by_url.stdout


def test_demo_runs_offline_and_catches_the_right_items() -> None:
    result = monitor(ROOT / "config" / "monitor.yaml", "demo", timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    digest = out.split("console digest", 1)[1]
    # people read topic names (the watchlist's `name:`), not ids
    for topic in (
        "NORAD review",
        "Five Eyes intelligence sharing",
        "US–Canada tariffs and trade",
        "Canadian defence spending",
    ):
        assert topic in digest
    for off in ("Santa", "defenceman", "electricity", "Mexico border"):
        titles = [line for line in digest.splitlines() if line[:4].strip().rstrip(".").isdigit()]
        assert not any(off.lower() in t.lower() for t in titles), (off, titles)
    assert "also reported by:" in digest


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_without_network_keeps_going_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    cfg = write_config(
        tmp_path,
        """
        feeds:
          - {url: "http://127.0.0.1:9/feed.xml", name: Unreachable}
        channels:
          - {name: console, type: console, digest: "* * * * *"}
        """,
    )
    log = tmp_path / "run.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(cfg), "run", "--tick", "1"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        try:
            assert wait_for(log, "poll failed", 30), log.read_text()
            # the daemon goes on ticking after the failure: its heartbeat moves twice more
            # (each tick records it), so the signal comes while its jobs keep running
            beats: set[str] = set()

            def ticked() -> bool:
                with sqlite3.connect(tmp_path / "monitor.db") as db:
                    beats.update(str(r[0]) for r in db.execute("SELECT seen_at FROM workers"))
                return len(beats) >= 3

            wait_until(ticked, 30, "three heartbeats of the daemon")
            assert proc.poll() is None, "the daemon must keep running when feeds fail"
            proc.send_signal(signum)
            # the feed's backoff and the digest's schedule are minutes away: stopping must not
            # wait for them (a bound on the wait, not a measurement)
            code = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text()
    assert code == 0, text
    assert "stopped" in text
    # one failure line per attempt, then backoff: not a line every tick
    assert text.count("poll failed") == 1, text
    assert "Traceback" not in text, text


@pytest.mark.slow
def test_second_sigint_exits_at_once_and_leaves_the_database_sound(
    server: FeedServer, tmp_path: Path
) -> None:
    hanging = server.hang("/slow.xml")
    good = server.feed("/good.xml", rss_feed("Good", ON_TOPIC))
    cfg = write_config(
        tmp_path,
        f"""
        polling: {{timeout: 30s, deadline: 60s}}
        feeds:
          - {{url: "{good}", name: Good}}
          - {{url: "{hanging}", name: Slow}}
        """,
    )
    log = tmp_path / "run.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(cfg), "run", "--tick", "0.5"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        try:
            assert wait_for(log, "outcome=ok", 30), log.read_text()
            proc.send_signal(signal.SIGINT)  # the slow fetch keeps the first stop waiting
            assert wait_for(log, "waiting for", 10), log.read_text()
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=10)  # the hanging fetch would hold a clean stop for 30 s
        finally:
            if proc.poll() is None:
                proc.kill()
    # 130: the second signal ended it, not the first stop's grace running out
    assert code == 130, log.read_text()
    assert "second signal: exiting now" in log.read_text()
    # the parse workers went with it: no process of this configuration is left
    wait_until(lambda: not _processes_using(cfg), 5, "the parse workers to exit")

    with sqlite3.connect(tmp_path / "monitor.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    feeds = {f["name"]: f for f in json.loads(monitor(cfg, "feeds", "--format", "json").stdout)}
    assert feeds["Good"]["last_success_at"]


def test_dry_run_html_for_several_channels_writes_one_file_each(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        """
        channels:
          - {name: first, type: console}
          - {name: second, type: console}
        """,
    )
    result = monitor(cfg, "digest", "--dry-run", "--html", str(tmp_path / "out.html"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.first.html").read_text().lstrip().lower().startswith("<!doctype")
    assert (tmp_path / "out.second.html").exists()
    assert not (tmp_path / "out.html").exists()


def _processes_using(cfg: Path) -> list[int]:
    """Processes whose command line names ``cfg`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if str(cfg).encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("command", ["demo", "check", "run"])
def test_a_command_run_outside_the_project_says_where_it_looked_for_the_configuration(
    tmp_path: Path, command: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", command],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "COLUMNS": "200"},
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "config/monitor.yaml: file not found" in done.stderr
    assert f"looked for in the current directory ({tmp_path})" in done.stderr
    assert "pass --config PATH/monitor.yaml" in done.stderr
    assert not (tmp_path / "monitor.db").exists()  # nothing started


def test_a_named_configuration_that_is_missing_is_reported_without_the_default_hint(
    tmp_path: Path,
) -> None:
    done = monitor(tmp_path / "elsewhere.yaml", "check")
    assert done.returncode == 2
    assert f"{tmp_path / 'elsewhere.yaml'}: file not found" in done.stderr
    assert "looked for in the current directory" not in done.stderr
