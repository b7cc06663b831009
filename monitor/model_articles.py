"""Frozen values of article text: what is offered, claimed, fetched and stored.

Owns: the records of the article-text stage (``monitor.articles`` decides, ``monitor.enrich``
runs it, ``monitor.store.articles`` keeps it). Re-exported by ``monitor.model``. Imports
nothing from ``monitor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class ArticleCandidate:
    """A stored item whose article text has not been considered yet (``monitor.articles``
    decides whether to fetch it)."""

    item_id: int
    url: str
    summary: str
    feed_urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArticleJob:
    """An article fetch claimed by a worker: the item, its page, and what a refetch sends."""

    item_id: int
    url: str
    attempts: int = 0
    etag: str | None = None
    last_modified: str | None = None
    feed_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArticleOutcome:
    """What one article fetch gave: its text (``status="ok"``) or why there is none
    (``status="error"``, with ``error_kind`` and ``error``); ``next_attempt_at`` is when a
    failed fetch is tried again (``None``: it is not)."""

    status: Literal["ok", "error", "not_modified"]
    text: str = ""
    cut: bool = False
    title: str | None = None
    final_url: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    error_kind: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ItemText:
    """What an item is scored on again once its article text arrived."""

    item_id: int
    title: str
    summary: str
    body: str
    lang: str | None
    published: datetime | None
    first_seen_at: datetime | None
    backlog: bool = False


@dataclass(frozen=True, slots=True)
class ArticleState:
    """An item's article as stored: whether it was fetched, its text, or why not."""

    item_id: int
    url: str
    status: str
    reason: str | None = None
    text: str | None = None
    cut: bool = False
    error_kind: str | None = None
    error: str | None = None
    attempts: int = 0
    fetched_at: datetime | None = None
