"""Scoring items against watch-topics: the watchlist language and the matching engine.

Owns: ``spec`` (what a topic may say, and validating it), ``text`` (folding and term syntax) and
``engine`` (the compiled matcher). Pure: nothing here does I/O or imports ``store``, ``fetch``,
``deliver``, ``config`` or ``cli``.
"""

from __future__ import annotations

from monitor.score.engine import Matcher, TopicExplanation, compile_topics
from monitor.score.spec import TopicSpec, WatchlistFile, validate_watchlist

__all__ = [
    "Matcher",
    "TopicExplanation",
    "TopicSpec",
    "WatchlistFile",
    "compile_topics",
    "validate_watchlist",
]
