"""Broken configurations, each tried three ways: ``monitor check``, starting ``monitor run``,
and a running daemon reloading it.

Every case must give exit code 2 with a ``path:line: message`` naming what is wrong (check
and start alike, without a traceback), and a reload must keep the last good configuration
running. The figures of this table are in docs/operations.md.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import commands as _commands  # noqa: F401  (registers `check` on the app)
from monitor.cli import run_cmd as _run_cmd  # noqa: F401  (registers `run`)
from monitor.cli.app import app
from monitor.cli.runtime import cadence_policy
from monitor.config import Config, load_config
from monitor.fetch import Fetcher
from monitor.outbox import Outbox
from monitor.pipeline import Pipeline
from monitor.scheduler import Service
from monitor.store import Store
from tests.support import TEST_WATCHLIST, until

MONITOR = "monitor.yaml"
WATCHLIST = "watchlists/test.yaml"

GOOD = """\
database: sqlite:///@DIR@/monitor.db
timezone: UTC
status: {listen: '127.0.0.1:0'}
watchlists: [watchlists/*.yaml]
polling: {interval: 15m, timeout: 20s}
retention: {unmatched_items: 30d, schedule: '17 3 * * *'}
feeds:
  - {url: 'http://127.0.0.1:9/a.xml', name: A}
channels:
  - {name: console, type: console, digest: '0 8 * * *'}
"""

# 6 levels of nine aliases each: 9**6 = 531,441 values from a few hundred bytes
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [*{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}]\n"
    for a, b in zip("abcde", "bcdef", strict=True)
)


@dataclass(frozen=True)
class Case:
    """A broken configuration and where its error must point."""

    id: str
    monitor: Callable[[str], str | bytes] = lambda text: text
    watchlist: Callable[[str], str | bytes] = lambda text: text
    file: str = MONITOR
    line: int | None = 1
    message: str = ""


def line(n: int, new: str) -> Callable[[str], str]:
    """Replace line ``n`` (1-based) of the text with ``new`` (which may hold several lines)."""

    def edit(text: str) -> str:
        lines = text.splitlines()
        lines[n - 1] = new
        return "\n".join(lines) + "\n"

    return edit


def whole(new: str | bytes) -> Callable[[str], str | bytes]:
    return lambda _text: new


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def polling(settings: str) -> Callable[[str], str]:
    return line(5, f"polling: {{{settings}}}")


CASES = [
    # the file as a whole
    Case("empty file", whole(""), message="no feeds and no channels"),
    Case("only comments", whole("# to be written\n"), message="no feeds and no channels"),
    Case(
        "settings but no feeds or channels",
        lambda t: "\n".join(t.splitlines()[:6]) + "\n",
        message="no feeds and no channels",
    ),
    Case(
        "cut off in the middle of an edit",
        lambda t: t[: t.index("a.xml")],
        line=8,
        message="YAML syntax error",
    ),
    Case("a list, not a mapping", whole("- feeds\n- channels\n"), message="must be a mapping"),
    Case("a lone word", whole("monitor\n"), message="must be a mapping"),
    Case(
        "a tab for indentation",
        line(5, "polling:\n\tinterval: 15m"),
        line=6,
        message="indent with spaces, not tabs",
    ),
    Case(
        "a key given twice",
        line(2, "timezone: UTC\ntimezone: UTC"),
        line=3,
        message='duplicate key "timezone"',
    ),
    Case(
        "an unknown top-level key", line(9, "chanels:"), line=9, message="did you mean 'channels'"
    ),
    Case("a value with no key", line(2, "UTC"), line=3, message="YAML syntax error"),
    Case(
        "a file that is not UTF-8",
        whole(b"timezone: UTC\nfeeds: \xff\xfe\n"),
        line=2,
        message="not UTF-8",
    ),
    Case("a file over 4 MiB", whole("#" * (5 * 2**20)), line=None, message="larger than 4 MiB"),
    # polling
    Case("timeout 0", polling("timeout: 0"), line=5, message="polling.timeout: must be longer"),
    Case("deadline 0", polling("deadline: 0"), line=5, message="polling.deadline: must be longer"),
    Case("interval 0", polling("interval: 0"), line=5, message="polling.interval: must be longer"),
    Case("interval 1e400", polling("interval: 1e400"), line=5, message="finite number"),
    Case("interval .nan", polling("interval: .nan"), line=5, message="finite number"),
    Case("interval negative", polling("interval: -5"), line=5, message="cannot be negative"),
    Case("interval in words", polling("interval: soon"), line=5, message="is not a duration"),
    Case("interval of centuries", polling("interval: 40000d"), line=5, message="100 years"),
    Case(
        "interval of 5,000 digits",
        polling("interval: " + "9" * 5000),
        line=5,
        message="more than 1000 digits",
    ),
    Case("max_bytes -1", polling("max_bytes: -1"), line=5, message="more than 0 bytes"),
    Case("max_bytes in words", polling("max_bytes: lots"), line=5, message="is not a size"),
    Case("min_interval 0", polling("min_interval: 0"), line=5, message="must be longer than 0"),
    Case(
        "min_interval above max_interval",
        polling("min_interval: 1h, max_interval: 1s"),
        line=5,
        message="min_interval (3600s) is longer than max_interval (1s)",
    ),
    Case("jitter 150%", polling("jitter: 150%"), line=5, message="between 0% and 100%"),
    Case("jitter 100%", polling("jitter: 100%"), line=5, message="below 100%"),
    Case("concurrency 0", polling("concurrency: 0"), line=5, message="polling.concurrency"),
    Case(
        "unknown polling key", polling("intervall: 5m"), line=5, message="did you mean 'interval'"
    ),
    Case("polling not a mapping", line(5, "polling: 15m"), line=5, message="polling"),
    # status, retention, database, timezone
    Case(
        "listen port 99999",
        line(3, "status: {listen: '127.0.0.1:99999'}"),
        line=3,
        message="port from 0 to 65535",
    ),
    Case(
        "listen without a port",
        line(3, "status: {listen: localhost}"),
        line=3,
        message="is not host:port",
    ),
    Case(
        "retention schedule in words",
        line(6, "retention: {schedule: 'every day at noon'}"),
        line=6,
        message="retention.schedule",
    ),
    Case(
        "retention of 0",
        line(6, "retention: {unmatched_items: 0}"),
        line=6,
        message="retention.unmatched_items: must be longer than 0",
    ),
    Case(
        "an unknown database",
        line(1, "database: mysql://root:hunter2@db/monitor"),
        message="not a database this monitor can use",
    ),
    Case("an unknown time zone", line(2, "timezone: Mars/Olympus"), line=2, message="time zone"),
    # feeds
    Case(
        "a feed that is not http",
        replace("'http://127.0.0.1:9/a.xml'", "'ftp://127.0.0.1/a.xml'"),
        line=8,
        message="is not an http(s) URL",
    ),
    Case(
        "a feed listed twice",
        line(8, "  - {url: 'http://127.0.0.1:9/a.xml'}\n  - {url: 'http://127.0.0.1:9/a.xml'}"),
        line=9,
        message="listed twice",
    ),
    Case(
        "a feed polled every 0s",
        replace("name: A}", "name: A, interval: 0}"),
        line=8,
        message="feeds[0].interval: must be longer than 0",
    ),
    Case(
        "feeds as one string",
        replace("feeds:\n  - {url: 'http://127.0.0.1:9/a.xml', name: A}", "feeds: http://x.org/"),
        line=7,
        message="feeds: Input should be a valid list",
    ),
    # channels
    Case(
        "an unknown channel type",
        replace("type: console", "type: pager"),
        line=10,
        message="channels[0]",
    ),
    Case(
        "two channels of one name",
        line(10, "  - {name: console, type: console}\n  - {name: console, type: console}"),
        line=11,
        message="is used twice",
    ),
    Case(
        "a misspelt topic",
        replace("type: console,", "type: console, topics: [canda],"),
        line=10,
        message="unknown topic 'canda'",
    ),
    Case(
        "a cron with minute 61",
        replace("'0 8 * * *'", "'61 * * * *'"),
        line=10,
        message="61",
    ),
    Case(
        "quiet hours in words",
        replace("type: console,", "type: console, quiet_hours: nights,"),
        line=10,
        message="quiet hours",
    ),
    Case(
        "min_score .inf",
        replace("type: console,", "type: console, min_score: .inf,"),
        line=10,
        message="finite number",
    ),
    Case(
        "a Slack secret that is not set",
        line(10, "  - {name: team, type: slack, webhook_url: '${ATTACK_UNSET_SLACK_URL}'}"),
        line=10,
        message="environment variable ATTACK_UNSET_SLACK_URL is not set",
    ),
    Case(
        "a webhook secret too short",
        line(10, "  - {name: hook, type: webhook, url: 'https://h.example.org/', secret: abc}"),
        line=10,
        message="shorter than 16 characters",
    ),
    Case(
        "an email channel with a bad address",
        line(
            10,
            "  - {name: mail, type: email, to: [nobody], from: m@example.org, smtp: {host: h}}",
        ),
        line=10,
        message="is not an email address",
    ),
    Case(
        "an SMTP port of 70000",
        line(
            10,
            "  - {name: mail, type: email, to: [a@example.org], from: m@example.org, "
            "smtp: {host: h, port: 70000}}",
        ),
        line=10,
        message="port",
    ),
    # YAML bombs and depth, in monitor.yaml
    Case("an alias bomb", whole(ALIAS_BOMB), line=6, message="through aliases"),
    Case(
        "20,000 nested lists",
        line(4, "watchlists: " + "[" * 20000 + "]" * 20000),
        line=4,
        message="nested more than 64 levels",
    ),
    Case(
        "200 nested mappings",
        line(4, "".join("  " * i + "k:\n" for i in range(200)).rstrip("\n")),
        line=68,
        message="nested more than 64 levels",
    ),
    # watchlists
    Case(
        "no watchlist file matches",
        line(4, "watchlists: [lists/*.yaml]"),
        line=4,
        message="no file matches 'lists/*.yaml'",
    ),
    Case(
        "an unquoted {a,b} term in a [...] list",
        watchlist=replace(
            "terms: [tariff*, droits de douane, counter-tariff*]",
            "terms: [tariff*, droit{,s} de douane, counter-tariff*]",
        ),
        file=WATCHLIST,
        line=26,
        message='must be quoted, e.g. "droit{,s} de douane"',
    ),
    Case(
        "a threshold of .inf",
        watchlist=replace("threshold: 2\n    alert_at: 6", "threshold: .inf\n    alert_at: 6"),
        file=WATCHLIST,
        line=6,
        message="finite number",
    ),
    Case(
        "a threshold in words",
        watchlist=replace("threshold: 2\n    alert_at: 6", "threshold: high\n    alert_at: 6"),
        file=WATCHLIST,
        line=6,
        message="threshold",
    ),
    Case(
        "a regex that does not compile",
        watchlist=replace("[Santa, Père Noël]", "[Santa, {regex: '(unclosed'}]"),
        file=WATCHLIST,
        line=16,
        message="invalid regular expression",
    ),
    Case(
        "a rule naming a missing group",
        watchlist=replace("require: {all: [tariff, canada]}", "require: {all: [tariff, canda]}"),
        file=WATCHLIST,
        line=30,
        message="unknown group 'canda'; did you mean 'canada'?",
    ),
    Case(
        "a watchlist without topics",
        watchlist=whole("norad: {}\n"),
        file=WATCHLIST,
        message="needs a top-level 'topics:' list",
    ),
    Case(
        "an empty watchlist",
        watchlist=whole(""),
        file=WATCHLIST,
        message="needs a top-level 'topics:' list",
    ),
    Case(
        "a topic id used twice",
        watchlist=replace("  - id: tariffs", "  - id: norad"),
        file=WATCHLIST,
        line=18,
        message="topic id 'norad' is already used at line 2",
    ),
    Case(
        "an alias bomb in a watchlist",
        watchlist=whole(ALIAS_BOMB),
        file=WATCHLIST,
        line=6,
        message="through aliases",
    ),
    Case(
        "20,000 nested lists in a watchlist",
        watchlist=whole("topics: " + "[" * 20000 + "]" * 20000 + "\n"),
        file=WATCHLIST,
        message="nested more than 64 levels",
    ),
]


def _write(folder: Path, case: Case | None) -> Path:
    """Write the good configuration, or the case's broken one, into ``folder``."""
    (folder / "watchlists").mkdir(exist_ok=True)
    good = GOOD.replace("@DIR@", str(folder))
    files = {MONITOR: good, WATCHLIST: TEST_WATCHLIST}
    if case is not None:
        files = {MONITOR: case.monitor(good), WATCHLIST: case.watchlist(TEST_WATCHLIST)}
    for name, content in files.items():
        target = folder / name
        before = target.stat().st_mtime_ns if target.exists() else 0
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        # a new modification time even within the file system's clock resolution
        stamp = max(target.stat().st_mtime_ns, before + 1_000_000_000)
        os.utime(target, ns=(stamp, stamp))
    return folder / MONITOR


def _expected(case: Case, folder: Path | None = None) -> str:
    """How the problem's line starts: its file (under ``folder`` when given) and line."""
    file = str(folder / case.file) if folder is not None else case.file
    return f"{file}:{case.line}: " if case.line is not None else f"{file}: "


def _unwrapped(text: str) -> str:
    """Output as one line per message: the terminal may wrap long lines at a space."""
    return " ".join(part.strip() for part in text.splitlines())


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # so that paths in messages are the short relative ones
    for name in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL", "MONITOR_STATUS_LISTEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_broken_config_is_refused_alike_by_check_start_and_reload(
    case: Case, folder: Path
) -> None:
    good = load_config(_write(folder, None), environ={})
    service, close = await _service(good)
    try:
        _write(folder, case)
        wanted = _expected(case)

        # 1. monitor check: exit 2, the problem as path:line: message
        checked = CliRunner().invoke(app, ["--config", MONITOR, "check"])
        output = _unwrapped(checked.output)
        assert checked.exit_code == 2, checked.output
        assert isinstance(checked.exception, SystemExit), checked.exception
        assert wanted in output, checked.output
        assert case.message in output[output.index(wanted) :], checked.output

        # 2. starting the daemon: refused with the same message, no traceback
        started = CliRunner().invoke(app, ["--config", MONITOR, "run"])
        assert started.exit_code == 2, started.output
        assert isinstance(started.exception, SystemExit), started.exception
        assert _unwrapped(started.output) == output

        # 3. a running daemon that reloads it keeps the last good configuration
        await service.check_reload()
        assert service.cfg is good
        wanted = _expected(case, folder)
        assert any(p.startswith(wanted) for p in service.health.reload_errors), (
            service.health.reload_errors
        )
        ok, details = await service.check_health()
        assert ok and details["config_problems"], details
    finally:
        await close()


async def _service(cfg: Config) -> tuple[Service, Callable[[], object]]:
    """A daemon's service on ``cfg`` (not started: reloads are driven by the test)."""
    store = Store.open(cfg.database_url)
    fetcher = Fetcher()
    pipeline = Pipeline(store, fetcher, lambda: service.current_matcher(), cadence_policy(cfg))
    service = Service(
        cfg,
        store,
        pipeline,
        Outbox(store, {}, cfg.channels),
        reload_config=lambda: load_config(cfg.path, environ={}),
    )
    await service.poll_tick()  # the scheduler has ticked: health is judged on the rest

    async def close() -> None:
        pipeline.close()
        await fetcher.aclose()
        store.close()

    return service, close


def test_the_table_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


STARTED = [
    c
    for c in CASES
    if c.id
    in {
        "empty file",
        "timeout 0",
        "interval 1e400",
        "listen port 99999",
        "retention schedule in words",
        "an alias bomb",
        "20,000 nested lists",
        "a threshold of .inf",
    }
]


@pytest.mark.parametrize("case", STARTED, ids=[c.id for c in STARTED])
def test_the_daemon_process_refuses_to_start_on_a_broken_config(case: Case, folder: Path) -> None:
    """The configurations that used to pass ``check`` and then crash ``run`` (and the bombs),
    as a real ``monitor run`` process: exit 2 with the problem, never a traceback."""
    _write(folder, case)
    started = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", MONITOR, "run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert started.returncode == 2, started.stderr
    assert "Traceback" not in started.stderr, started.stderr
    wanted = _expected(case)
    assert any(
        ln.startswith(wanted) and case.message in ln for ln in started.stderr.splitlines()
    ), started.stderr


async def test_a_status_address_that_cannot_be_served_does_not_stop_the_daemon(
    folder: Path,
) -> None:
    """A host name that passes the check but cannot be resolved at all (a label over 63
    letters makes the resolver raise ValueError, not OSError): the daemon runs on without
    /healthz and says why."""
    listen = "a" * 64 + ".example:8787"
    _write(folder, None)
    path = folder / MONITOR
    path.write_text(
        path.read_text().replace("'127.0.0.1:0'", f"'{listen}'"),
        encoding="utf-8",
    )
    # not a loopback address: the web pages need a login there
    cfg = load_config(path, environ={"MONITOR_WEB_TOKEN": "t" * 32})
    assert cfg.status.listen == listen
    service, close = await _service(cfg)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    try:
        await until(
            lambda: service._scheduler is not None or running.done(), "the jobs to be scheduled"
        )
        assert not running.done(), running.exception()
        assert service.status is None
    finally:
        stop.set()
        await running
        await close()
