"""Commands that touch neither the database nor the network start without loading what only
those need: ``monitor --help``, ``monitor check`` and ``monitor explain --title`` import neither
SQLAlchemy, Alembic, feedparser nor yake (each a large share of start-up time and memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import write_config

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "feedparser", "yake")

# Runs the command line as ``monitor ARGS...`` does, then prints every module it imported.
PROBE = """
import json, sys
from monitor.cli import main
sys.argv = ["monitor", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported(cwd: Path, *args: str) -> tuple[object, list[str], str]:
    """The exit code, the modules imported and the output of ``monitor ARGS...``."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    return report["code"], report["modules"], result.stdout


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("--help",), "check"),
        (("check",), "ok"),
        (("explain", "--title", "Ottawa opens talks on NORAD modernization funding"), "norad"),
        (("seeds", "--help"), "suggest"),
    ],
)
def test_light_commands_do_not_load_the_database_or_the_parsers(
    tmp_path: Path, args: tuple[str, ...], expect: str
) -> None:
    cfg = write_config(tmp_path)
    code, modules, out = imported(tmp_path, "--config", str(cfg), *args)
    assert code in (0, None), out
    assert expect in out
    loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert loaded == [], f"monitor {' '.join(args)} imported {loaded}"


def test_the_probe_sees_what_a_command_that_needs_the_database_loads(tmp_path: Path) -> None:
    """The same probe on ``monitor feeds`` (which opens the store) does see SQLAlchemy."""
    cfg = write_config(tmp_path)
    code, modules, out = imported(tmp_path, "--config", str(cfg), "feeds")
    assert code in (0, None), out
    assert "sqlalchemy" in modules


def test_a_poll_loads_neither_alembic_nor_the_parsers_in_the_daemons_process(
    tmp_path: Path,
) -> None:
    """``monitor poll --once`` on a new database: the schema is made by a separate process
    (Alembic never loads here) and the feed is parsed in the parse workers (feedparser, lxml
    and pysbd never load here), yet the items are stored and matched. The fetcher speaks
    HTTP/1.1 with h11 itself: httpcore (and anyio, trio) never load either. The store runs on
    its Core tables (``monitor.store.schema``): SQLModel and SQLAlchemy's ORM never load."""
    from tests.feedserver import FeedServer, rss_feed
    from tests.test_cli import OFF_TOPIC, ON_TOPIC

    with FeedServer() as server:
        url = server.feed("/news.xml", rss_feed("News", ON_TOPIC + OFF_TOPIC))
        cfg = write_config(tmp_path, f'feeds:\n  - {{url: "{url}", name: News}}\n')
        assert not (tmp_path / "monitor.db").exists()
        code, modules, out = imported(tmp_path, "--config", str(cfg), "poll", "--once")
    assert code in (0, None), out
    assert f"{len(ON_TOPIC + OFF_TOPIC)} new item(s)" in out
    assert f"{len(ON_TOPIC)} new match(es)" in out
    unused = {"alembic", "feedparser", "lxml", "pysbd", "httpcore", "anyio", "trio", "sqlmodel"}
    loaded = sorted({m.split(".")[0] for m in modules} & unused)
    assert loaded == [], f"monitor poll --once imported {loaded}"
    assert "sqlalchemy" in modules and "h11" in modules  # the probe sees what the command loads
    # a store on SQLite does without PostgreSQL's dialect
    assert "sqlalchemy.dialects.sqlite" in modules
    assert "sqlalchemy.dialects.postgresql" not in modules
    assert "sqlalchemy.orm" not in modules


def test_a_poll_with_nothing_to_parse_starts_no_parse_workers(tmp_path: Path) -> None:
    """The second ``monitor poll --once`` of a feed that answers ``304`` has no body to parse:
    the parse workers' pool (pebble) is never loaded, let alone started."""
    from tests.feedserver import FeedServer, rss_feed
    from tests.test_cli import ON_TOPIC

    with FeedServer() as server:
        url = server.feed("/news.xml", rss_feed("News", ON_TOPIC))
        cfg = write_config(tmp_path, f'feeds:\n  - {{url: "{url}", name: News}}\n')
        code, first, out = imported(tmp_path, "--config", str(cfg), "poll", "--once")
        assert code in (0, None), out
        assert "pebble" in first  # the first poll parsed the feed in a worker
        code, modules, out = imported(tmp_path, "--config", str(cfg), "poll", "--once", "--all")
    assert code in (0, None), out
    assert "not_modified" in out and "0 new item(s)" in out
    assert "pebble" not in modules


def test_configuration_files_read_back_from_the_parse_cache_leave_the_yaml_parser_unloaded(
    tmp_path: Path,
) -> None:
    """The first ``monitor check`` parses the configuration and its watchlists (ruamel.yaml
    loads); the second reads them back from the parse cache and never loads the parser, and
    says the same."""
    cfg = write_config(tmp_path)
    env = {"MONITOR_CACHE_DIR": str(tmp_path / "cache")}
    runs = []
    for _ in range(2):
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            runs.append(imported(tmp_path, "--config", str(cfg), "check"))
    (code1, first, out1), (code2, second, out2) = runs
    assert code1 in (0, None) and code2 in (0, None), out1 + out2
    assert "ruamel.yaml" in first and "monitor.yamlparse" in first
    assert "ruamel.yaml" not in second and "monitor.yamlparse" not in second
    assert out1 == out2
