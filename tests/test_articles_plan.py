"""The pure decisions about article text (``monitor.articles``): whose article to fetch, how much
text to keep, when to try again, and the snippet shown around a body hit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.articles import (
    MAX_ATTEMPTS,
    FulltextSettings,
    cap_text,
    next_attempt,
    plan,
    snippet,
    wants_article,
)
from monitor.model import ArticleCandidate

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mode", "summary", "url", "fetch"),
    [
        ("auto", "One line.", "https://a.example/1", True),
        ("auto", "x" * 399, "https://a.example/1", True),
        ("auto", "x" * 400, "https://a.example/1", False),
        ("auto", "   " + "x" * 10 + "   ", "https://a.example/1", True),
        ("always", "x" * 5000, "https://a.example/1", True),
        ("never", "", "https://a.example/1", False),
        ("always", "", None, False),  # nothing to fetch
    ],
)
def test_wants_article(mode: str, summary: str, url: str | None, fetch: bool) -> None:
    assert (wants_article(mode, summary, url) is not None) is fetch


def test_plan_takes_the_most_eager_feed_and_says_why() -> None:
    settings = FulltextSettings(
        mode="auto",
        short_below=100,
        feeds={
            "https://never.example/feed": ("never", None),
            "https://all.example/f": ("always", None),
        },
    )
    long = "x" * 200
    candidates = [
        ArticleCandidate(1, "https://a/1", "short", ("https://plain.example/feed",)),
        ArticleCandidate(2, "https://a/2", long, ("https://plain.example/feed",)),
        ArticleCandidate(3, "https://a/3", "short", ("https://never.example/feed",)),
        ArticleCandidate(
            4, "https://a/4", long, ("https://never.example/feed", "https://all.example/f")
        ),
    ]
    assert plan(candidates, settings) == [
        (1, "https://a/1", "pending", "summary of 5 characters (< 100)"),
        (2, "https://a/2", "skipped", "summary of 200 characters (>= 100)"),
        (3, "https://a/3", "skipped", "fulltext: never"),
        (4, "https://a/4", "pending", "always"),
    ]


def test_robots_is_honoured_unless_every_feed_turns_it_off() -> None:
    settings = FulltextSettings(feeds={"a": (None, False), "b": (None, True), "c": (None, None)})
    assert settings.robots_for(["a"]) is False
    assert settings.robots_for(["a", "c"]) is True
    assert FulltextSettings(robots=False).robots_for(["c"]) is False


@given(st.text(), st.integers(min_value=1, max_value=500))
def test_cap_text_never_splits_a_character(text: str, limit: int) -> None:
    kept, cut = cap_text(text, limit)
    assert len(kept.encode("utf-8")) <= limit
    assert text.startswith(kept)
    assert cut == (kept != text)


def test_transient_failures_are_tried_again_a_few_times_only() -> None:
    assert next_attempt("timeout", 1, NOW) == NOW + timedelta(minutes=10)
    assert next_attempt("robots_unreachable", 2, NOW) == NOW + timedelta(minutes=20)
    assert next_attempt("timeout", MAX_ATTEMPTS, NOW) is None
    for final in ("not_found", "robots", "no_text", "too_large", "internal"):
        assert next_attempt(final, 1, NOW) is None


def test_snippet_shows_whole_words_around_the_hit() -> None:
    text = "Ottawa said on Tuesday that the NORAD upgrade, with a new radar, costs billions."
    at = text.index("NORAD")
    shown = snippet(text, at, 5, width=20)
    assert "NORAD" in shown and shown.startswith("…") and shown.endswith("…")
    assert "Tuesday that the NORAD upgrade, with" in shown
    assert snippet("NORAD", 0, 5) == "NORAD"
