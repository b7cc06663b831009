"""Loading and validating monitor.yaml and its watchlists."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config, parse_duration, parse_fraction, parse_size
from monitor.errors import ConfigError
from tests.support import TEST_WATCHLIST, write_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15m", 900),
        ("20s", 20),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1w", 604800),
        (90, 90),
        ("500ms", 0.5),
        ("1h 5m", 3900),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["15", "m15", "15 minutes", "", "-5s", True, "1h-5m"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "size"), [("10MB", 10_000_000), ("512KiB", 524288), ("2mb", 2_000_000), (100, 100)]
)
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(("text", "value"), [("10%", 0.1), (0.25, 0.25), ("0%", 0.0)])
def test_fractions(text: str | float, value: float) -> None:
    assert parse_fraction(text) == pytest.approx(value)


def test_shipped_configuration_is_valid() -> None:
    cfg = load_config(ROOT / "config" / "monitor.yaml", environ={})
    ids = {t.id for t in cfg.topics}
    assert ids == {
        "norad",
        "five_eyes",
        "tariffs",
        "defence_spending",
        "arctic_security",
        "border_security",
    }
    assert 12 <= len(cfg.feeds) <= 20
    assert {f.lang for f in cfg.feeds} == {"en", "fr"}
    assert any(c.type == "console" for c in cfg.channels)


def test_valid_config_loads(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        polling: {interval: 10m, jitter: 5%, max_bytes: 2MB}
        feeds:
          - {url: "https://example.org/feed.xml", name: Example, lang: en, interval: 30m}
        channels:
          - {name: console, type: console, digest: "*/30 * * * *"}
        """,
    )
    cfg = load_config(path, environ={})
    assert cfg.polling.interval == 600
    assert cfg.polling.jitter == pytest.approx(0.05)
    assert cfg.polling.max_bytes == 2_000_000
    assert cfg.feeds[0].interval == 1800
    assert [t.id for t in cfg.topics] == ["norad", "tariffs"]
    assert cfg.files == (str(path), str(tmp_path / "watchlists" / "test.yaml"))


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        polling:
          interval: soon
          concurency: 5
        feeds:
          - {url: "ftp://example.org/feed", name: Bad}
          - {url: "https://example.org/ok"}
        channels:
          - {name: c, type: console, topics: [norad, nosuch]}
          - {name: s, type: slack, webhook_url: "${SLACK_URL}"}
        timezone: Mars/Olympus
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    text = str(info.value)
    lines = text.splitlines()
    assert len(lines) >= 6, text
    assert all(line.startswith(str(path) + ":") for line in lines), text
    assert "interval" in text and "not a duration" in text
    assert "unknown key 'concurency'" in text and "did you mean 'concurrency'" in text
    assert "ftp://example.org/feed" in text
    assert "environment variable SLACK_URL is not set" in text
    assert "unknown time zone 'Mars/Olympus'" in text
    assert "unknown topic 'nosuch'" in text
    # the line numbers point at the offending lines of the file
    source = path.read_text().splitlines()
    for line in lines:
        number = int(line.split(":")[1])
        if "concurency" in line:
            assert "concurency" in source[number - 1]
        if "Mars" in line:
            assert "Mars" in source[number - 1]
        if "nosuch" in line:
            assert "nosuch" in source[number - 1]


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        channels:
          - name: hook
            type: webhook
            url: "https://hooks.example.org/x"
            secret: "${HOOK_SECRET}"
        """,
    )
    cfg = load_config(path, environ={"HOOK_SECRET": "s3cr3t-value-of-some-length"})
    channel = cfg.channel("hook")
    assert "s3cr3t-value" not in repr(channel)
    assert "s3cr3t-value" not in repr(cfg)
    assert channel.secret.get_secret_value() == "s3cr3t-value-of-some-length"


def test_database_url_override(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    cfg = load_config(path, environ={"MONITOR_DATABASE_URL": "sqlite:///elsewhere.db"})
    assert cfg.database_url == "sqlite:///elsewhere.db"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "feeds: [\n  {url: x\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert f"{path}:" in str(info.value)
    assert "YAML syntax error" in str(info.value)


def test_broken_watchlist_is_reported_with_file_and_line(tmp_path: Path) -> None:
    broken = TEST_WATCHLIST.replace(
        "threshold: 2\n    alert_at: 6", "threshold: two\n    alert_at: 6"
    )
    path = write_config(tmp_path, watchlist=broken)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    problems = info.value.problems
    assert problems and all(p.path.endswith("test.yaml") for p in problems)
    source = (tmp_path / "watchlists" / "test.yaml").read_text().splitlines()
    assert any(p.line and "threshold" in source[p.line - 1] for p in problems), problems


def test_missing_watchlists_and_duplicate_topics(tmp_path: Path) -> None:
    path = write_config(tmp_path, "watchlists: [watchlists/*.yaml, nowhere/*.yaml]\n")
    (tmp_path / "watchlists" / "again.yaml").write_text(TEST_WATCHLIST, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    text = str(info.value)
    assert "no file matches 'nowhere/*.yaml'" in text
    assert "topic id 'norad' is already defined" in text


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as info:
        load_config("/nonexistent/monitor.yaml", environ={})
    assert "file not found" in str(info.value)


def test_delivery_lease_is_configurable_and_checked(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path), environ={}).delivery.lease == 120
    path = write_config(tmp_path, "delivery: {lease: 30s}\n")
    assert load_config(path, environ={}).delivery.lease == 30
    for bad, says in (
        ("0s", "must be longer than 0"),
        ("2w", "out of range"),
        ("soon", "not a duration"),
    ):
        path = write_config(tmp_path, f"delivery:\n  lease: {bad}\n")
        with pytest.raises(ConfigError) as info:
            load_config(path, environ={})
        [problem] = str(info.value).splitlines()
        assert problem.startswith(f"{path}:") and says in problem, problem
        line = int(problem.split(":")[1])
        assert "lease" in path.read_text().splitlines()[line - 1], problem


def test_a_misspelt_topic_is_reported_with_the_watchlist_problems(tmp_path: Path) -> None:
    """Every topic has a mistake of its own: the channel's unknown topic is still reported
    (the ids of topics with mistakes count as known)."""
    broken = TEST_WATCHLIST.replace("threshold: 2", "threshold: high")
    path = write_config(
        tmp_path,
        "channels: [{name: c, type: console, topics: [norad, canda]}]\n",
        watchlist=broken,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    messages = [p.message for p in info.value.problems]
    assert any("unknown topic 'canda'" in m for m in messages), messages
    assert not any("unknown topic 'norad'" in m for m in messages), messages
    assert any("threshold" in m for m in messages), messages


def test_a_misspelt_topic_is_reported_when_a_watchlist_cannot_be_read(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "channels: [{name: c, type: console, topics: [canda]}]\n",
        watchlist="topics: [\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    text = str(info.value)
    assert "YAML syntax error" in text
    assert "unknown topic 'canda'" in text and "could not be read" in text


def test_one_missing_secret_is_one_problem(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        channels:
          - {name: team, type: slack, webhook_url: "${SLACK_WEBHOOK_URL}"}
          - {name: hook, type: webhook, url: "${HOOK_URL}", secret: "${WEBHOOK_SECRET}"}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    messages = [p.message for p in info.value.problems]
    assert len(messages) == 3, messages
    for name in ("SLACK_WEBHOOK_URL", "HOOK_URL", "WEBHOOK_SECRET"):
        assert sum(f"variable {name} is" in m for m in messages) == 1, messages


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ("", "no feeds and no channels"),
        ("# nothing yet\n", "no feeds and no channels"),
        ("feeds: []\nchannels: []\n", "no feeds and no channels"),
    ],
)
def test_a_configuration_that_would_do_nothing_is_refused(
    tmp_path: Path, body: str, wanted: str
) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert f"{path}:1: " in str(info.value) and wanted in str(info.value)


@pytest.mark.parametrize(
    ("var", "value", "wanted"),
    [
        ("MONITOR_STATUS_LISTEN", "127.0.0.1:99999", "port from 0 to 65535"),
        ("MONITOR_STATUS_LISTEN", "nonsense", "is not host:port"),
        ("MONITOR_DATABASE_URL", "mysql://u:pw@db/x", "not a database this monitor can use"),
    ],
)
def test_settings_from_the_environment_are_checked_too(
    tmp_path: Path, var: str, value: str, wanted: str
) -> None:
    path = write_config(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={var: value})
    assert str(info.value).startswith(f"${var}: ") and wanted in str(info.value)
    assert "pw@" not in str(info.value)


def test_every_accepted_polling_setting_builds_the_fetcher_and_the_cadence(tmp_path: Path) -> None:
    """One validation: what `check` accepts, the daemon's parts accept (edges included)."""
    from monitor.cli.runtime import cadence_policy, make_fetcher

    for settings in (
        "{interval: 1s, min_interval: 1s, max_interval: 1s, max_backoff: 1s}",
        "{timeout: 1ms, deadline: 1ms, lease: 1ms, jitter: 99%, max_bytes: 1}",
        "{interval: 36500d, max_interval: 36500d, max_backoff: 36500d, max_bytes: 1GiB}",
        "{jitter: 0%, concurrency: 1, per_host: 1, parse_workers: 1}",
    ):
        cfg = load_config(write_config(tmp_path, f"polling: {settings}\n"), environ={})
        cadence_policy(cfg)
        make_fetcher(cfg)


def test_a_command_that_needs_less_gets_the_good_parts_and_the_rest_as_warnings(
    tmp_path: Path,
) -> None:
    from monitor.config import load_config_for

    path = write_config(
        tmp_path,
        """
        polling: {timeout: 0}
        feeds:
          - {url: "https://example.org/a.xml"}
          - {url: "ftp://example.org/b"}
        channels:
          - {name: console, type: console}
          - {name: team, type: slack, webhook_url: "${SLACK_WEBHOOK_URL}"}
        """,
    )
    cfg, warnings = load_config_for(path, {"database", "watchlists"}, environ={})
    assert [t.id for t in cfg.topics] == ["norad", "tariffs"]
    assert [c.name for c in cfg.channels] == ["console"]
    assert [f.url for f in cfg.feeds] == ["https://example.org/a.xml"]
    assert cfg.polling.timeout == 20.0  # the broken setting is left at its default
    assert len(warnings) == 3, warnings
    with pytest.raises(ConfigError) as info:
        load_config_for(path, {"database", "watchlists", "channels"}, environ={})
    assert [p.message for p in info.value.problems] == [
        "environment variable SLACK_WEBHOOK_URL is not set (referenced by "
        "channels.1.webhook_url); set it or remove the key"
    ]


def test_article_text_settings_and_the_contact_are_checked(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        polling: {fulltext: never, fulltext_below: 250, robots: false,
                  contact: "mailto:ops@example.org"}
        feeds:
          - {url: "https://example.org/a.xml", fulltext: always}
          - {url: "https://example.org/b.xml", robots: true}
          - {url: "https://example.org/c.xml"}
        channels: [{name: console, type: console}]
        """,
    )
    cfg = load_config(path, environ={})
    settings = cfg.fulltext()
    assert settings.mode_for(["https://example.org/a.xml"]) == "always"
    assert settings.mode_for(["https://example.org/c.xml"]) == "never"
    assert settings.mode_for(["https://example.org/c.xml", "https://example.org/a.xml"]) == (
        "always"
    )
    assert settings.short_below == 250
    assert settings.robots_for(["https://example.org/b.xml"]) is True
    assert settings.robots_for(["https://example.org/c.xml"]) is False
    for line, says in (
        ("polling: {fulltext: sometimes}", "'auto', 'always' or 'never'"),
        ("polling: {contact: ops@example.org}", "is not a contact URL"),
        ('polling: {contact: "https://example.org/a b"}', "is not a contact URL"),
        ("polling: {article_max_bytes: 0}", "more than 0 bytes"),
    ):
        bad = write_config(tmp_path, line + "\n")
        with pytest.raises(ConfigError) as info:
            load_config(bad, environ={})
        [problem] = str(info.value).splitlines()
        assert problem.startswith(f"{bad}:") and says in problem, problem
        assert "polling" in bad.read_text().splitlines()[int(problem.split(":")[1]) - 1]


def test_a_document_source_is_its_own_article(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        # polling.fulltext left at its default (auto)
        feeds:
          - {url: "https://example.org/report.pdf", type: document}
          - {url: "https://example.org/news", type: page}
        channels: [{name: console, type: console}]
        """,
    )
    settings = load_config(path, environ={}).fulltext()
    # its poll keeps the start of its text; the whole of it is read as its body
    assert settings.mode_for(["https://example.org/report.pdf"]) == "always"
    assert settings.mode_for(["https://example.org/news"]) == "auto"  # its links' articles
