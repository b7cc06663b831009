"""The exception tree of Policy Monitor.

Owns: every exception the package raises on purpose. Imports nothing from ``monitor``.

::

    MonitorError
    ├── ConfigError            configuration or watchlist is invalid (carries every problem)
    ├── FetchError             one feed could not be fetched (kind says why)
    ├── ParseError             a body is not a usable feed
    │   ├── ParseTimeout       parsing it took longer than the parse deadline
    │   ├── ParseCrash         the worker parsing it died
    │   ├── PageError          a web page gives nothing to watch (no links, no text)
    │   ├── ExtractError       an article page holds no text to extract
    │   └── DocumentError      a PDF document is broken
    │       ├── NotAPdf        the body is not a PDF
    │       ├── PdfEncrypted   it needs a password
    │       └── PdfEmpty       it has no text layer
    ├── StoreError             the database failed or is out of date
    └── DeliveryError          a channel refused or could not be reached

Third-party errors are translated into this tree in exactly one module each: httpx in
``fetch`` and ``deliver``, SQLAlchemy in ``store``, smtplib in ``deliver.email``.
"""

from __future__ import annotations

from dataclasses import dataclass


class MonitorError(Exception):
    """Root of every error raised on purpose by Policy Monitor."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a configuration file, with where it is."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class ConfigError(MonitorError):
    """Raised when configuration or watchlists are invalid; holds every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FetchError(MonitorError):
    """Raised when a feed could not be fetched.

    ``kind`` is a short stable word stored with the feed's health: ``timeout``, ``network``,
    ``http``, ``too_large``, ``not_a_feed``, ``redirect_loop``, ``gone``, ``invalid_url``.
    """

    def __init__(self, kind: str, message: str, *, status: int | None = None) -> None:
        self.kind = kind
        self.status = status
        super().__init__(message)


class ParseError(MonitorError):
    """Raised when a fetched body cannot be used as a feed."""

    kind = "not_a_feed"


class ParseTimeout(ParseError):
    """Raised when parsing one body took longer than the parse deadline (its worker was
    stopped and replaced)."""

    kind = "parse_timeout"


class ParseCrash(ParseError):
    """Raised when the worker parsing a body died before it answered (killed for its memory,
    say); a new worker takes its place."""

    kind = "parse_crashed"


class PageError(ParseError):
    """Raised when a web page gives nothing to watch: no list of links, a selector that
    picks nothing, no text."""

    kind = "no_items"


class DocumentError(ParseError):
    """Raised when a document is damaged past reading."""

    kind = "pdf_broken"


class NotAPdf(DocumentError):
    """Raised when a document's body is not a PDF (an HTML error page, say)."""

    kind = "not_a_pdf"


class PdfEncrypted(DocumentError):
    """Raised when a PDF cannot be read without a password."""

    kind = "pdf_encrypted"


class PdfEmpty(DocumentError):
    """Raised when a PDF holds no text to read (a scan without a text layer, say)."""

    kind = "pdf_empty"


class ExtractError(ParseError):
    """Raised when an article's page gives no main text (not HTML, empty, or markup the
    extractor cannot read)."""

    kind = "no_text"


class StoreError(MonitorError):
    """Raised when the database cannot be reached, written, or migrated."""


class DeliveryError(MonitorError):
    """Raised when a channel could not deliver a message.

    ``retry_after`` is the delay the receiver asked for, in seconds, when it said so.
    ``permanent`` marks refusals that retrying cannot fix (a 4xx other than 408/429).
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(message)


class InputError(MonitorError):
    """Raised when a data file given to a command (labelled items, briefing documents) is
    unusable; holds every problem found, each with its line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
