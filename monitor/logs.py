"""Logging setup: one line per event, as text or JSON.

Owns: formatting log records. Events pass their structured fields as ``extra={"fields": {...}}``;
the text format prints them as ``key=value`` pairs, the JSON format as one object a line.
httpx and httpcore are kept at WARNING because they log full URLs (webhook URLs hold secrets).
Must not import pipeline, store, deliver or cli.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

# a value with any of these is written as a JSON string
_NEEDS_QUOTES = re.compile(r'[\s="\x00-\x1f]')


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    value = getattr(record, "fields", None)
    return dict(value) if isinstance(value, dict) else {}


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
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


def setup_logging(*, level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger once for the process."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
