"""Signals beyond one match: decisions over data the store already holds.

Owns: when a story surges across outlets (``surge``), when a topic spikes against its own
baseline (``spike``), when a source is failing, silent or back (``health``), when an amended
item's matches changed (``amended``), and which channels a signal goes to and when
(``route``). Pure: values in (``now`` is always an argument), values out; no clock, no files,
no environment. Imports ``monitor.model`` and ``monitor.schedule`` only; must not import
store, fetch, deliver, pipeline, scheduler or cli.

Every decision returns :class:`monitor.model.Signal` values whose ``key`` says what makes
them one: a surge of one story at one level, a spike of one topic on one day, one change of
state of one feed, one amendment of one item. The store records a key once, so a decision
taken twice (a second pass, a second worker) fires once.
"""

from __future__ import annotations

import hashlib


def signal_key(kind: str, *parts: object) -> str:
    """The identity of one signal: its kind and what makes it one, hashed to a bounded size
    (a feed URL may be long)."""
    basis = "|".join(str(p) for p in (kind, *parts))
    return f"{kind}:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]
