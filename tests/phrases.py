"""News text whose phrases repeat across unrelated items, as real news does."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from monitor import stories

#: Short texts of French and English letters, punctuation and line breaks.
LATIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèêàâçôûïüœæ .,;:'’-—\n", max_size=200)


def common_phrase_with_a_key() -> str:
    """A phrase news repeats whose shingles include a candidate key of any text holding it."""
    phrases = [
        f"officials said in a statement on {day} that the plan would go ahead"
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
    ]
    for phrase in phrases:
        if any(h < stories.KEY_CUT for h in stories.signature(phrase, "").hashes):
            return phrase
    raise AssertionError("no phrase with a key: extend the list")


def filler(n: int, phrase: str) -> tuple[str, str]:
    """Unrelated local news sharing ``phrase``: the shape real feeds have."""
    rng = random.Random(n)
    words = "council budget transit housing school water permit hospital park road".split()
    body = " ".join(rng.choice(words) + str(rng.randint(0, 10**6)) for _ in range(25))
    return f"Item {n} {rng.random()}", f"{body}. {phrase}."


#: Stock sentences that template-written news repeats word for word under unrelated stories.
STOCK = {
    "en": "The decision follows a surprise audit and comes ahead of a vote in Berlin.",
    "fr": "La décision fait suite à un audit surprise et précède un vote prévu à Québec.",
}
_SYLLABLES = "ba ko ri sa mel tor vin lu da pe zan go fi ra sel mo".split()
_CONTENT = {
    "en": (
        "council budget transit housing school water permit hospital park road bridge "
        "library clinic ferry market harbour rink pool zoning tender contract"
    ).split(),
    "fr": (
        "conseil budget transport logement école eau permis hôpital parc route pont "
        "bibliothèque clinique traversier marché port aréna piscine zonage appel contrat"
    ).split(),
}
_VERBS = {
    "en": "approved rejected delayed reviewed expanded cut froze funded".split(),
    "fr": "approuve rejette reporte examine élargit réduit gèle finance".split(),
}


def stock_item(n: int, lang: str = "en") -> tuple[str, str]:
    """A short item of local news of its own, then the stock sentence of ``lang``: a headline
    and one sentence naming their own people, places and figures, as template-written feeds
    send them."""
    rng = random.Random(f"stock-{lang}-{n}")
    name = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()
    place = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()
    content, verbs = _CONTENT[lang], _VERBS[lang]
    words = [rng.choice(content) for _ in range(7)]
    title = f"{name} {rng.choice(verbs)} {' '.join(words[:2])} {place} {rng.randint(2, 900)}"
    body = f"{place} {rng.choice(verbs)} {' '.join(words[2:])} {rng.randint(10, 9000)} {name}."
    return title, f"{body} {STOCK[lang]}"
