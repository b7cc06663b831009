"""Keeping secrets out of every text that is logged, stored or shown.

Owns: the one rule for secrets in text. Every secret the configuration holds (Slack and webhook
URLs, signing secrets, header values, SMTP passwords, the credentials in the database URL and in
feed URLs) is replaced by ``***`` wherever it appears in a text, whole or in the pieces a
receiver may echo back (the path of a webhook URL, its query values, its user info), plain,
percent-encoded or JSON-escaped; and in any URL the user info and the values of query
parameters that carry tokens are hidden (``monitor.urls.redact_url``). Logs, the outbox's
stored delivery errors, ``monitor deliveries``, configuration errors and ``/healthz`` all pass
their text through a :class:`Scrubber`.

Pure: values in, values out. May import ``monitor.urls`` and ``monitor.errors``; must not import
config, store, deliver, pipeline, scheduler or cli (they import this).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from pydantic import BaseModel, SecretStr

from monitor.errors import ConfigError, Problem
from monitor.urls import REDACTED, is_secret_param, redact_text

#: Shorter values cannot be told apart from ordinary words, so they are not searched for.
MIN_SECRET_LENGTH = 4
#: Path segments of a secret URL at least this long (or holding a digit and at least
#: ``MIN_TOKEN_SEGMENT`` long) are treated as tokens in their own right.
LONG_SEGMENT = 16
MIN_TOKEN_SEGMENT = 8

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Scrubber:
    """Replaces known secrets and URL credentials in text by ``***``.

    Calling it on a text returns the scrubbed text. :meth:`add` learns more secrets (a
    reloaded configuration's); secrets are never forgotten, since older text may hold them.
    """

    def __init__(self, secrets: Iterable[str] = (), *, urls: Iterable[str] = ()) -> None:
        self._known: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets, urls=urls)

    def add(self, secrets: Iterable[str] = (), *, urls: Iterable[str] = ()) -> None:
        """Learn ``secrets`` (each hidden whole and in its URL pieces) and the credentials of
        ``urls`` that are not secret as a whole (feed URLs)."""
        found = set(self._known)
        for secret in secrets:
            found.update(_forms(secret, whole=True))
        for url in urls:
            found.update(_forms(url, whole=False))
        self._learn(found)

    def include(self, other: Scrubber) -> None:
        """Learn every secret ``other`` knows."""
        self._learn(self._known | other._known)

    def _learn(self, found: set[str] | frozenset[str]) -> None:
        known = frozenset(s for s in found if len(s) >= MIN_SECRET_LENGTH)
        if known == self._known:
            return
        ordered = sorted(known, key=lambda s: (-len(s), s))  # the longest piece first
        # one assignment: a thread scrubbing now sees the old pattern or the new one
        self._known, self._pattern = known, re.compile("|".join(map(re.escape, ordered)))

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        return redact_text(text)

    def problems(self, problems: Iterable[Problem]) -> list[Problem]:
        """``problems`` with their messages scrubbed."""
        return [Problem(p.path, p.line, self(p.message)) for p in problems]


def _forms(value: str, *, whole: bool) -> Iterator[str]:
    """The pieces of ``value`` to hide, each as written, percent-encoded and JSON-escaped."""
    for piece in _pieces(value, whole=whole):
        yield piece
        yield quote(piece, safe="")
        yield quote(piece, safe="/")
        yield json.dumps(piece, ensure_ascii=False)[1:-1]
        yield json.dumps(piece)[1:-1]


def _pieces(value: str, *, whole: bool) -> Iterator[str]:
    if whole:
        yield value
    if "://" not in value:
        return
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return
    if parts.password:
        yield parts.password
    if "@" in parts.netloc:
        yield parts.netloc.rsplit("@", 1)[0]
    for name, query_value in parse_qsl(parts.query, keep_blank_values=False):
        if whole or is_secret_param(name):
            yield query_value
    if not whole:
        return
    # a receiver may echo the path of the URL it was sent to ("Cannot POST /services/…")
    if len(parts.path) >= MIN_TOKEN_SEGMENT:
        yield parts.path + (f"?{parts.query}" if parts.query else "")
        yield parts.path
    for segment in parts.path.split("/"):
        if len(segment) >= LONG_SEGMENT or (
            len(segment) >= MIN_TOKEN_SEGMENT and any(c.isdigit() for c in segment)
        ):
            yield segment


def model_secrets(value: Any) -> Iterator[str]:
    """Every ``SecretStr`` value held by ``value``: a pydantic model, or mappings and
    sequences of them, searched all the way down (so a secret field added later is found)."""
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from model_secrets(getattr(value, name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from model_secrets(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from model_secrets(item)


def referenced_values(text: str, environ: Mapping[str, str]) -> list[str]:
    """The values of the environment variables that ``${VAR}`` references in ``text`` name:
    whatever a configuration file takes from the environment is treated as secret."""
    return [environ[name] for name in _ENV_REF.findall(text) if name in environ]


def scrubbed_config_error(exc: ConfigError, scrub: Scrubber) -> ConfigError:
    """``exc`` with every problem's message scrubbed."""
    return ConfigError(scrub.problems(exc.problems))
