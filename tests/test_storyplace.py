"""Tests for monitor.storyplace: placing items in stories with common phrases weighed.

The news texts are invented for these tests (see tests/phrases.py and tests/test_stories.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime

import pytest

from monitor.ingest import save_items
from monitor.model import Item
from monitor.store import Store
from monitor.stories import (
    STORY_THRESHOLD,
    signature,
    similarity,
    story_id_for,
)
from monitor.storyplace import choose_story, cluster, common_share
from tests.phrases import STOCK, stock_item
from tests.test_stories import FRENCH, WIRE

WIRES = {"en": WIRE, "fr": FRENCH}
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def wire_copy(lang: str, outlet: int) -> tuple[str, str]:
    """Outlet ``outlet``'s copy of the wire story of ``lang``, edited as outlets edit."""
    title, summary = WIRES[lang]
    body = re.sub(r"\A[A-ZÉ]+ — ", "", summary)
    sentences = re.split(r"(?<=\.)\s+", body)
    match outlet % 5:
        case 0:
            return title, summary
        case 1:
            return f"{title} (update)", "OTTAWA (CP) — " + body
        case 2:
            return title, " ".join(sentences[:2])
        case 3:
            return title, f"{summary}\nThe post {title} appeared first on Outlet {outlet}."
        case _:  # accents and case dropped, as some outlets' systems do
            plain = unicodedata.normalize("NFKD", summary).encode("ascii", "ignore").decode()
            return title.upper(), plain


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_short_items_sharing_a_stock_sentence_do_not_join(lang: str) -> None:
    items = [(f"s{n}", signature(*stock_item(n, lang))) for n in range(40)]
    # the shape of the problem: by similarity alone, two of them look like copies
    assert similarity(items[0][1], items[1][1]) >= STORY_THRESHOLD
    assert max(Counter(cluster(items, phrases=False)).values()) >= 30  # they chain
    found = cluster(items)
    # the first items to carry the sentence see nothing common in it yet; once a few other
    # texts carry it, every later item starts a story of its own
    assert max(Counter(found).values()) <= 3
    assert found[8:] == [story_id_for(key) for key, _ in items[8:]]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_wire_story_run_by_many_outlets_still_joins(lang: str) -> None:
    title, summary = WIRES[lang]
    wire = (title, f"{summary} {STOCK[lang]}")  # the wire story carries the stock sentence too
    # the window already holds a few items carrying the stock sentence
    stream = [(f"s{n}", signature(*stock_item(n, lang))) for n in range(60, 68)]
    stream.append(("wire", signature(*wire)))
    for n in range(60):
        stream.append((f"s{n}", signature(*stock_item(n, lang))))
        if n % 2:
            copy_title, copy_summary = wire_copy(lang, n)
            stream.append((f"copy{n}", signature(copy_title, f"{copy_summary} {STOCK[lang]}")))
    copies = [key for key, _ in stream if key.startswith("copy")]
    assert len(copies) == 30
    found = dict(zip((key for key, _ in stream), cluster(stream), strict=True))
    assert {found[key] for key in copies} == {found["wire"]} == {story_id_for("wire")}
    stock = [found[key] for key, _ in stream if key.startswith("s")]
    assert found["wire"] not in stock
    assert len(set(stock)) >= len(stock) - 4


def test_a_phrase_is_common_when_other_texts_carry_it() -> None:
    new = signature(*stock_item(100))
    mates = [signature(*stock_item(n)) for n in range(3)]
    picked = [(n, f"story{n}", sig) for n, sig in enumerate(mates)]
    shared = set(new.keys) & set(mates[0].keys)
    assert shared  # the stock sentence holds a key of both

    def carriers(key: int) -> list[int]:
        return [n for n, sig in enumerate(mates) if key in sig.keys]

    # two other texts besides the candidate carry every key the pair shares
    assert common_share(new, 0, picked, carriers) == 1.0
    assert choose_story(new, picked, carriers) is None
    # the same others, but one story (a copy that joined its original): counted once
    as_one = [(0, "story0", mates[0]), (1, "other", mates[1]), (2, "other", mates[2])]
    assert common_share(new, 0, as_one, carriers) == 0.0
    assert choose_story(new, as_one, carriers) == "story0"
    # an item not picked to compare counts as another text, its own story
    unread = [(0, "story0", mates[0])]
    assert common_share(new, 0, unread, carriers) == 1.0


def test_copies_carrying_a_key_are_one_text_not_a_common_phrase() -> None:
    copies = [signature(*wire_copy("en", n)) for n in range(0, 20, 5)]  # verbatim copies
    new = signature(*wire_copy("en", 1))
    picked = [(n, "wire", sig) for n, sig in enumerate(copies)]

    def carriers(key: int) -> list[int]:
        return [n for n, sig in enumerate(copies) if key in sig.keys]

    assert common_share(new, 0, picked, carriers) == 0.0
    assert choose_story(new, picked, carriers) == "wire"


# --- through a store: carriers read back from its index ------------------------------------------


class _Spec:
    def __init__(self, url: str) -> None:
        self.url, self.name, self.lang, self.interval = url, None, "en", None


def test_a_store_keeps_stock_sentences_apart_and_wire_copies_together(store: Store) -> None:
    """Each poll written on its own, so each item's carriers come from the store's index."""
    store.sync_feeds([_Spec(f"https://o{n}.example/feed") for n in range(30)], NOW)
    feeds = [f.id for f in sorted(store.feeds(), key=lambda f: f.url)]
    title, summary = WIRE

    def save(n: int, key: str, text: tuple[str, str]) -> None:
        url = f"https://o{n}.example/{key}"
        new = Item(
            key=key,
            feed_url=f"https://o{n}.example/feed",
            title=text[0],
            summary=text[1],
            url=url,
            published=NOW,
            content_hash=f"h-{key}",
        )
        save_items(store, feeds[n], [new], [], {}, NOW)

    for n in range(40):
        save(n % 30, f"s{n}", stock_item(n, "fr" if n % 3 == 0 else "en"))
        if n % 2 and n > 10:  # a wire story with a stock sentence, run by 14 outlets
            copy_title, copy_summary = wire_copy("en", n) if n < 37 else (title, summary)
            save(n % 30, f"w{n}", (copy_title, f"{copy_summary} {STOCK['en']}"))

    def story(n: int, key: str) -> str:
        stored = store.item(url=f"https://o{n % 30}.example/{key}")
        assert stored is not None and stored.story is not None
        return stored.story

    wire = {story(n, f"w{n}") for n in range(11, 40, 2)}
    assert len(wire) == 1
    stock = [story(n, f"s{n}") for n in range(40)]
    assert not wire & set(stock)
    assert stock[10:] == list(dict.fromkeys(stock[10:]))  # each a story of its own
