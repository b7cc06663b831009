"""Persistence: the only package that talks to the database.

Owns: tables (``tables``), migrations (``migrations``, applied by ``migrate``) and queries
(``store``; per area: ``listing``, ``feedback``). Returns ``monitor.model`` values; SQLModel
classes never leave this package.
Must not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from monitor.store.feedback import FeedbackStore
from monitor.store.store import PollWrite, PollWritten, SaveResult, Store, make_engine

__all__ = ["FeedbackStore", "PollWrite", "PollWritten", "SaveResult", "Store", "make_engine"]
