"""News text whose phrases repeat across unrelated items, as real news does."""

from __future__ import annotations

import random

from monitor import stories


def common_phrase_with_a_key() -> str:
    """A phrase news repeats whose shingles include a candidate key of any text holding it."""
    phrases = [
        f"officials said in a statement on {day} that the plan would go ahead"
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
    ]
    for phrase in phrases:
        if any(h < stories._KEY_CUT for h in stories.signature(phrase, "").hashes):
            return phrase
    raise AssertionError("no phrase with a key: extend the list")


def filler(n: int, phrase: str) -> tuple[str, str]:
    """Unrelated local news sharing ``phrase``: the shape real feeds have."""
    rng = random.Random(n)
    words = "council budget transit housing school water permit hospital park road".split()
    body = " ".join(rng.choice(words) + str(rng.randint(0, 10**6)) for _ in range(25))
    return f"Item {n} {rng.random()}", f"{body}. {phrase}."
