"""Scoring items against watch-topics: the watchlist language and the matching engine.

Owns: ``spec`` (what a topic may say, and validating it), ``text`` and ``folding`` (folding and
term syntax), ``engine`` (the compiled matcher and its scan), ``compiled`` (a compiled topic and
the pure steps of deciding on it) and ``explain`` (a topic's verdict and its reasons). Pure:
nothing here does I/O or imports ``store``, ``fetch``, ``deliver``, ``config`` or ``cli``.
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
