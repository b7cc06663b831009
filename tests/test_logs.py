"""Tests for monitor.logs: the text and JSON line formats and the logging setup."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.logs import JsonFormatter, TextFormatter, setup_logging

_QUIET = ("httpx", "httpcore", "apscheduler", "alembic", "hpack")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """setup_logging changes process-wide state; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in _QUIET}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def record(
    message: str = "feed polled",
    fields: object = None,
    *,
    level: int = logging.INFO,
    exc: bool = False,
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom in the parser")
        except ValueError:
            exc_info = sys.exc_info()
    rec = logging.LogRecord("monitor.pipeline", level, __file__, 1, message, None, exc_info)
    if fields is not None:
        rec.fields = fields
    return rec


# --- text format -------------------------------------------------------------------------------

TEXT_CASES: list[tuple[str, dict[str, object], list[str], list[str]]] = [
    # (why, fields, must appear, must not appear)
    ("plain value", {"feed": "cbc-politics"}, ["feed=cbc-politics"], []),
    ("number", {"items": 12, "elapsed_s": 0.25}, ["items=12", "elapsed_s=0.25"], []),
    ("space quoted", {"title": "NORAD review"}, ['title="NORAD review"'], ["title=NORAD"]),
    ("equals sign quoted", {"query": "a=b"}, ['query="a=b"'], []),
    ("empty quoted", {"etag": ""}, ['etag=""'], []),
    ("none left out", {"error": None, "feed": "x"}, ["feed=x"], ["error="]),
    ("event left out", {"event": "poll", "feed": "x"}, ["feed=x"], ["event="]),
    ("accents kept", {"titre": "Dépenses « militaires »"}, ['titre="Dépenses « militaires »"'], []),
    ("quote inside a quoted value", {"t": 'say "hi" now'}, ['t="say \\"hi\\" now"'], []),
    ("boolean", {"ok": True}, ["ok=True"], []),
]


@pytest.mark.parametrize(
    ("why", "fields", "present", "absent"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES]
)
def test_text_fields(
    why: str, fields: dict[str, object], present: list[str], absent: list[str]
) -> None:
    line = TextFormatter().format(record(fields=fields))
    for text in present:
        assert f" {text}" in line
    for text in absent:
        assert text not in line


def test_text_line_shape() -> None:
    rec = record("feed polled", {"feed": "cbc", "status": 200}, level=logging.WARNING)
    rec.created = datetime(2024, 6, 4, 12, 30, 5, tzinfo=UTC).timestamp()
    line = TextFormatter().format(rec)
    assert line == "2024-06-04T12:30:05Z WARNING monitor.pipeline feed polled feed=cbc status=200"


def test_text_fields_keep_their_order() -> None:
    line = TextFormatter().format(record(fields={"z": 1, "a": 2, "m": 3}))
    assert line.index("z=1") < line.index("a=2") < line.index("m=3")


@pytest.mark.parametrize("fields", [None, "not a dict", ["a", "b"], {}])
def test_text_without_usable_fields(fields: object) -> None:
    line = TextFormatter().format(record("plain message", fields))
    assert line.endswith("monitor.pipeline plain message")


@pytest.mark.parametrize(
    "value",
    ["first\nsecond", "a\rb", "tab\there", "forged\n2024-06-04T00:00:00Z INFO x"],
)
def test_text_one_line_per_event_whatever_the_values(value: str) -> None:
    # A feed title with a line break must not forge a second log line.
    line = TextFormatter().format(record(fields={"title": value, "feed": "f"}))
    assert len(line.splitlines()) == 1
    assert line.endswith("feed=f")


def test_text_includes_the_traceback() -> None:
    text = TextFormatter().format(record("parse failed", {"feed": "x"}, exc=True))
    first, *rest = text.splitlines()
    assert first.endswith("parse failed feed=x")
    assert rest[0].startswith("Traceback (most recent call last)")
    assert rest[-1] == "ValueError: boom in the parser"


# --- JSON format -------------------------------------------------------------------------------


def test_json_object_with_the_fields() -> None:
    rec = record("feed polled", {"feed": "cbc", "items": 3, "title": "NORAD « review »", "x": None})
    rec.created = datetime(2024, 6, 4, 12, 30, 5, 250000, tzinfo=UTC).timestamp()
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    data = json.loads(line)
    assert data == {
        "ts": "2024-06-04T12:30:05.250+00:00",
        "level": "info",
        "logger": "monitor.pipeline",
        "message": "feed polled",
        "feed": "cbc",
        "items": 3,
        "title": "NORAD « review »",
        "x": None,
    }


def test_json_values_that_json_cannot_hold_become_text() -> None:
    when = datetime(2024, 6, 4, tzinfo=UTC)
    data = json.loads(JsonFormatter().format(record(fields={"when": when, "tags": {"a"}})))
    assert data["when"] == str(when)
    assert data["tags"] == str({"a"})


def test_json_is_one_line_even_with_line_breaks_and_a_traceback() -> None:
    line = JsonFormatter().format(record("two\nlines", {"title": "a\nb"}, exc=True))
    assert len(line.splitlines()) == 1
    data = json.loads(line)
    assert data["message"] == "two\nlines"
    assert data["title"] == "a\nb"
    assert data["traceback"].startswith("Traceback (most recent call last)")
    assert "ValueError: boom in the parser" in data["traceback"]


# --- setup_logging -----------------------------------------------------------------------------

_TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARNING|ERROR|DEBUG)\s+\S+ .*$")


def test_setup_text_logging_writes_lines() -> None:
    stream = io.StringIO()
    setup_logging(level="info", fmt="text", stream=stream)
    log = logging.getLogger("monitor.test")
    log.info("feed polled", extra={"fields": {"feed": "cbc", "title": "NORAD review"}})
    log.debug("not shown")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert _TEXT_LINE.match(lines[0])
    assert lines[0].endswith('monitor.test feed polled feed=cbc title="NORAD review"')


def test_setup_json_logging_writes_one_object_a_line() -> None:
    stream = io.StringIO()
    setup_logging(level="DEBUG", fmt="json", stream=stream)
    log = logging.getLogger("monitor.test")
    log.debug("a", extra={"fields": {"n": 1}})
    log.warning("b", extra={"fields": {"n": 2, "event": "poll"}})
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("c")
    objects = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(o["level"], o["message"]) for o in objects] == [
        ("debug", "a"),
        ("warning", "b"),
        ("error", "c"),
    ]
    assert objects[0]["n"] == 1 and objects[1]["event"] == "poll"
    assert "KeyError: 'missing'" in objects[2]["traceback"]


def test_httpx_and_friends_are_kept_at_warning() -> None:
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.DEBUG)
    stream = io.StringIO()
    setup_logging(level="DEBUG", stream=stream)
    for name in _QUIET:
        assert logging.getLogger(name).level == logging.WARNING
    # httpx logs every request URL at INFO, and webhook URLs are secrets.
    logging.getLogger("httpx").info(
        'HTTP Request: POST https://hooks.slack.com/services/T0/B0/XyZ "200"'
    )
    logging.getLogger("httpcore.connection").debug("connect_tcp.started host='hooks.slack.com'")
    assert "hooks.slack.com" not in stream.getvalue()
    logging.getLogger("httpx").warning("pool exhausted")
    assert "pool exhausted" in stream.getvalue()


def test_setup_twice_does_not_duplicate_lines() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging(stream=first)
    setup_logging(stream=second)
    logging.getLogger("monitor.test").warning("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1
    assert len(logging.getLogger().handlers) == 1


def test_setup_level() -> None:
    stream = io.StringIO()
    setup_logging(level="warning", stream=stream)
    assert logging.getLogger().level == logging.WARNING
    logging.getLogger("monitor.test").info("hidden")
    logging.getLogger("monitor.test").error("shown")
    assert "hidden" not in stream.getvalue() and "shown" in stream.getvalue()
