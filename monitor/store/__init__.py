"""Persistence: the only package that talks to the database.

Owns: tables (declared in ``tables``, run on as the Core tables ``schemagen`` writes to
``schema``; column types in ``coltypes``), migrations (``migrations``, applied by ``migrate``)
and queries, one module per area: ``sql`` (engine and SQL helpers), ``feeds``, ``ingest``
(writing polls), ``storyindex``, ``reads`` (matches and items, retention), ``listing`` and
``deliveries`` (the outbox), composed by the ``Store`` facade of ``store``; ``feedback``,
``pages``, ``articles`` and ``signals`` hang off it. New storage goes in a module of its
own area. Returns ``monitor.model`` values; SQLModel classes never leave this package.
Must not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from monitor.store.feedback import FeedbackStore
from monitor.store.store import SaveResult, Store, make_engine

__all__ = ["FeedbackStore", "SaveResult", "Store", "make_engine"]
