"""Logging setup: one line per event, as text or JSON.

Owns: formatting log records. Events pass their structured fields as ``extra={"fields": {...}}``;
the text format prints them as ``key=value`` pairs, the JSON format as one object a line.
httpx and httpcore are kept at WARNING because they log full URLs (webhook URLs hold secrets),
and every line, traceback included, passes through a ``monitor.scrub.Scrubber`` last, so no
secret the configuration holds and no URL credential reaches the log.
Must not import pipeline, store, deliver or cli.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from monitor.scrub import Scrubber

# a value with any of these is written as a JSON string
_NEEDS_QUOTES = re.compile(r'[\s="\x00-\x1f]')


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    value = getattr(record, "fields", None)
    return dict(value) if isinstance(value, dict) else {}


class _ScrubbingFormatter(logging.Formatter):
    """A formatter whose every line is scrubbed of secrets."""

    def __init__(self, scrub: Scrubber | None = None) -> None:
        super().__init__()
        self.scrub = scrub if scrub is not None else Scrubber()

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(self.line(record))

    def line(self, record: logging.LogRecord) -> str:
        raise NotImplementedError


class TextFormatter(_ScrubbingFormatter):
    def line(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\n    ")
        parts = [when, f"{record.levelname:<7}", record.name, message]
        fields = _fields(record)
        fields.pop("event", None)
        for key, value in fields.items():
            if value is None:
                continue
            text = str(value)
            if not text or _NEEDS_QUOTES.search(text):
                text = json.dumps(text, ensure_ascii=False)
            parts.append(f"{key}={text}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(_ScrubbingFormatter):
    def line(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(_fields(record))
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup_logging(
    *,
    level: str = "INFO",
    fmt: str = "text",
    stream: TextIO | None = None,
    scrub: Scrubber | None = None,
) -> None:
    """Configure the root logger once for the process; ``scrub`` hides secrets from every line
    (give it the configuration's secrets as they become known)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(scrub) if fmt == "json" else TextFormatter(scrub))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
