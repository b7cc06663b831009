"""Story clustering: telling when items from different outlets are copies of one story.

Owns: story signatures (of the text ``monitor.storytext`` normalises), their
similarity, the candidate keys a store indexes to find similar recent items, and the choice of
story for a new item. Pure: takes values, returns values; no clock, no I/O. Imports only the
standard library; must not import fetch, store, deliver, pipeline, scheduler or cli.

The method
----------
Syndicated copies (a wire story run by five papers, a press release carried by several sites)
share long runs of words even when the headline is rewritten, a dateline is added and the first
paragraph is lightly edited. Independent reports of the same event share facts and quotes but
few long runs. So a story is compared by its *word shingles*:

1. **Normalise** (``monitor.storytext``: :func:`~monitor.storytext.story_text` and
   :func:`~monitor.storytext.words`): drop a byline on its own first line and a
   leading dateline (``OTTAWA —``, ``WASHINGTON (AP) —``, ``TOKYO, June 5 (Reuters) -``), drop
   feed trailers (``The post … appeared first on …``, ``Continue reading``, copyright lines,
   ``(AP Photo/…)`` credits), fold case and accents (``Défense`` → ``defense``, ``Œuvre`` →
   ``oeuvre``) and split into words of letters and digits.
2. **Shingle**: every run of :data:`SHINGLE_WORDS` consecutive words of the title, and of the
   summary, is one shingle (a field shorter than that is one shingle). Each word is hashed
   once with BLAKE2b to 64 bits; a shingle's hash is a polynomial of its words' hashes modulo
   2**64 (order matters), mixed once (xor-shift and multiply) and cut to 63 bits, so it fits a
   signed 64-bit database column. Word hashes are uniform, so shingle hashes are too, at a
   third of the cost of hashing each shingle's text.
3. **Sketch** (:class:`StorySignature`): the :data:`SKETCH_SIZE` smallest shingle hashes (a
   *bottom-k* MinHash sketch, Broder 1997) plus the number of distinct shingles. Texts of a
   few paragraphs, which is what feeds carry, have fewer shingles than that, so their sketch is
   the whole set and every comparison is exact. For longer texts the hashes below both sketches'
   cut-off are a uniform sample of the union, from which the shared fraction is estimated.
4. **Similarity** (:func:`similarity`): the estimated number of shared shingles divided by the
   size of the smaller text, where a text counts as at least :data:`MIN_SHINGLES` shingles. This
   is the overlap coefficient: a copy that a feed cut to its first two sentences still scores
   high against the full text, while the floor stops two short headlines that share a phrase
   from looking like copies.
5. **Assignment** (:func:`assign_story`, and ``monitor.storyplace``, which also weighs how common
   the shared phrases are in the window): a new item joins the story of its most similar recent
   item when the similarity reaches the threshold (:data:`STORY_THRESHOLD`, tuned on labelled
   real news: see ``docs/benchmarks.md``); otherwise it starts a story whose id comes from its
   own key (:func:`story_id_for`). This is incremental single-link clustering.

Finding candidates without comparing with everything
-----------------------------------------------------
:attr:`StorySignature.keys` are the item's smallest shingle hashes that fall in the lowest
1/:data:`KEY_RATE` of the hash range (at least :data:`MIN_KEYS`, at most :data:`MAX_KEYS`).
Because the cut is fixed, a shingle that two texts share is a key of both or of neither, so
copies share keys even when one is much shorter. A store keeps ``(key, item)`` rows for recent
items in an indexed table, looks up the new item's keys, recomputes the signatures of the items
found from their stored title and summary (cheap), and passes them to :func:`assign_story`.
Keys are non-negative and below 2**63, so they fit a signed BIGINT on SQLite and PostgreSQL.

Bounded work per new item
-------------------------
Real news repeats phrases ("said in a statement", "the city council approved"), so some keys
are carried by thousands of unrelated items in the window. Gathering every item behind every
key would make placing one item cost more as the window grows. Two cuts keep it constant:

* the index is asked for the :data:`KEY_DEPTH` most recent items of each key only (a key that
  has more in the window is a common phrase: its most recent carriers are compared, the rest
  never read);
* a key with :data:`KEY_DEPTH` carriers or more is a *stop-key* (the document-frequency cut
  of near-duplicate detection): an item found through it alone, sharing no other key with the
  new one, is not compared. A copy shares most of its keys (the real copies of the labelled
  sets share 5 to 19); a common phrase, one. An item sharing a single rare key is still
  compared: a heavily edited copy may share no more;
* of the items left, :func:`pick_candidates` keeps the :data:`STORY_CANDIDATES` that share the
  most keys with the new item, the most recent first among equals.

So placing an item reads at most ``MAX_KEYS * KEY_DEPTH`` index rows and compares at most
``STORY_CANDIDATES`` signatures, however many items the window holds.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import heapq
import struct
import sys
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, TypeVar

from monitor.storytext import story_text, words

__all__ = [
    "KEY_CUT",
    "KEY_DEPTH",
    "KEY_RATE",
    "MAX_KEYS",
    "MIN_KEYS",
    "MIN_SHINGLES",
    "SHINGLE_WORDS",
    "SKETCH_SIZE",
    "STORY_CANDIDATES",
    "STORY_THRESHOLD",
    "StorySignature",
    "assign_story",
    "carrier_queue",
    "check_threshold",
    "features",
    "fingerprint",
    "int64s",
    "pick_candidates",
    "scorer",
    "signature",
    "signature_from_bytes",
    "signature_to_bytes",
    "similarity",
    "story_id_for",
]

#: Words per shingle.
SHINGLE_WORDS = 4
#: Shingle hashes kept in a signature (bottom-k sketch size).
SKETCH_SIZE = 128
#: The smallest size a text counts as when dividing shared shingles by the smaller text.
MIN_SHINGLES = 20
#: Default similarity at or above which a new item joins an existing story.
STORY_THRESHOLD = 0.3
#: A shingle hash is a candidate key when it falls in the lowest 1/KEY_RATE of the range.
KEY_RATE = 6
#: Fewest and most candidate keys per item.
MIN_KEYS = 4
MAX_KEYS = 24
#: Most recent items looked at for each candidate key of a new item.
KEY_DEPTH = 16
#: Most items a new item is compared with: those sharing the most keys with it.
STORY_CANDIDATES = 48


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


T = TypeVar("T", bound=_Ordered)

_HASH_LIMIT = 1 << 63
#: Shingle hashes below this are candidate keys (the lowest 1/KEY_RATE of the range).
KEY_CUT = _HASH_LIMIT // KEY_RATE


def _title_and_summary_words(title: str, summary: str) -> tuple[list[str], list[str]]:
    return words(title), words(story_text(summary))


# --- signatures ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StorySignature:
    """What story clustering keeps of an item's text.

    ``hashes`` are the smallest :data:`SKETCH_SIZE` shingle hashes, ascending; ``size`` is the
    number of distinct shingles. When ``size <= len(hashes)`` the sketch is the whole set.
    """

    hashes: tuple[int, ...]
    size: int

    def __reduce__(self) -> tuple[type[StorySignature], tuple[tuple[int, ...], int]]:
        # signatures cross from the parse workers by pickle: see monitor.model.Item
        return (StorySignature, (self.hashes, self.size))

    @property
    def complete(self) -> bool:
        """Whether ``hashes`` holds every shingle of the text (not only a sample)."""
        return self.size <= len(self.hashes)

    @property
    def keys(self) -> tuple[int, ...]:
        """Candidate keys for an index of recent items: see the module docstring."""
        # the hashes ascend: those below the cut are a prefix
        below = bisect.bisect_left(self.hashes, KEY_CUT, 0, min(MAX_KEYS, len(self.hashes)))
        return self.hashes[: max(below, MIN_KEYS)]


_MASK = (1 << 64) - 1
_BASE = 0x100000001B3  # an odd multiplier: the 64-bit FNV prime
_MIX = 0x94D049BB133111EB  # the last multiplier of SplitMix64's finaliser
_WORD_HASHES: dict[str, int] = {}
_WORD_HASHES_MAX = 200_000


def _word_hash(word: str) -> int:
    h = _WORD_HASHES.get(word)
    if h is None:
        if len(_WORD_HASHES) >= _WORD_HASHES_MAX:
            _WORD_HASHES.clear()
        digest = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        h = _WORD_HASHES[word] = int.from_bytes(digest, "big")
    return h


def _shingles(tokens: list[str]) -> set[int]:
    """The 63-bit hashes of the shingles of ``tokens`` (see the module docstring)."""
    if not tokens:
        return set()
    get = _WORD_HASHES.get
    hs = [get(w) or _word_hash(w) for w in tokens]
    if len(hs) <= SHINGLE_WORDS:
        x = 0
        for h in hs:
            x = (x * _BASE + h) & _MASK
        grams = [x]
    else:
        b = _BASE
        grams = [
            (((w0 * b + w1) * b + w2) * b + w3) & _MASK
            for w0, w1, w2, w3 in zip(hs, hs[1:], hs[2:], hs[3:], strict=False)
        ]
    return {(((x ^ (x >> 31)) * _MIX) & _MASK) >> 1 for x in grams}


def _sketch(title_words: list[str], summary_words: list[str]) -> StorySignature:
    shingles = _shingles(title_words) | _shingles(summary_words)
    if len(shingles) <= SKETCH_SIZE:
        return StorySignature(tuple(sorted(shingles)), len(shingles))
    return StorySignature(tuple(heapq.nsmallest(SKETCH_SIZE, shingles)), len(shingles))


def _fingerprint(title_words: list[str], summary_words: list[str]) -> int:
    if not title_words and not summary_words:
        return 0
    text = " ".join(title_words) + "\n" + " ".join(summary_words)
    value = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
    return (value >> 1) or 1


def signature(title: str, summary: str) -> StorySignature:
    """The story signature of an item's plain-text title and summary."""
    return _sketch(*_title_and_summary_words(title, summary))


def signature_to_bytes(sig: StorySignature) -> bytes:
    """``sig`` as bytes for a database column: the size, then the hashes, 64-bit little-endian.

    Stored with the item, so that placing a later item never has to normalise and shingle an
    earlier one's text again (see :func:`signature_from_bytes`)."""
    values = array("q", (sig.size, *sig.hashes))
    if sys.byteorder != "little":  # pragma: no cover - every supported machine is little-endian
        values.byteswap()
    return values.tobytes()


def signature_from_bytes(data: bytes) -> StorySignature:
    """The signature :func:`signature_to_bytes` wrote.

    Raises:
        ValueError: when ``data`` is not a whole number of 64-bit values, at least one.
    """
    if not data or len(data) % 8:
        raise ValueError(f"a stored story signature has {len(data)} bytes, not a multiple of 8")
    values = int64s(len(data) // 8).unpack(data)  # a third faster than an array's tuple
    return StorySignature(values[1:], values[0])


@functools.lru_cache(maxsize=256)
def int64s(count: int) -> struct.Struct:
    """``count`` 64-bit little-endian signed integers: how signatures here and event profiles
    (``monitor.events``) are stored, read with one precompiled struct a length."""
    return struct.Struct(f"<{count}q")


def fingerprint(title: str, summary: str) -> int:
    """A 63-bit hash of the normalised words of title and summary; ``0`` when there are none.

    Equal fingerprints mean the same words in the same order once case, accents, markup,
    datelines, bylines and feed trailers are set aside: a verbatim copy. It fits a signed
    64-bit column. Near (not verbatim) copies are the job of :func:`signature`.
    """
    return _fingerprint(*_title_and_summary_words(title, summary))


def features(title: str, summary: str) -> tuple[int, StorySignature]:
    """:func:`fingerprint` and :func:`signature` together, normalising the text once."""
    title_words, summary_words = _title_and_summary_words(title, summary)
    return _fingerprint(title_words, summary_words), _sketch(title_words, summary_words)


def similarity(a: StorySignature, b: StorySignature) -> float:
    """How much of the smaller text the two share, from 0.0 (nothing) to 1.0 (all of it).

    Exact when both signatures are complete, an estimate otherwise (see the module docstring).
    A text smaller than :data:`MIN_SHINGLES` shingles counts as that many.
    """
    if not a.hashes or not b.hashes:
        return 0.0
    if a.complete and b.complete:  # both sketches hold every shingle: count exactly
        shared = len(set(a.hashes).intersection(b.hashes))
        if shared == 0:
            return 0.0
        return min(1.0, shared / max(min(a.size, b.size), MIN_SHINGLES))
    cut = min(
        _HASH_LIMIT if a.complete else a.hashes[-1],
        _HASH_LIMIT if b.complete else b.hashes[-1],
    )
    sample_a = {h for h in a.hashes if h <= cut}
    sample_b = {h for h in b.hashes if h <= cut}
    shared = len(sample_a & sample_b)
    if shared == 0:
        return 0.0
    jaccard = shared / len(sample_a | sample_b)
    common = jaccard * (a.size + b.size) / (1.0 + jaccard)
    return min(1.0, common / max(min(a.size, b.size), MIN_SHINGLES))


# --- assigning stories ---------------------------------------------------------------------------


def story_id_for(item_key: str) -> str:
    """The id of a new story started by the item with key ``item_key`` (stable, 16 hex digits)."""
    return hashlib.blake2b(b"story\x00" + item_key.encode("utf-8"), digest_size=8).hexdigest()


def check_threshold(threshold: float) -> None:
    """Raise ``ValueError`` unless ``threshold`` is a similarity threshold, in (0, 1]."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(
            f"story threshold must be above 0 and at most 1 (a share of the smaller text), "
            f"got {threshold!r}"
        )


def scorer(candidate: StorySignature) -> Callable[[StorySignature], float]:
    """:func:`similarity` with ``candidate``, for comparing it with many signatures: its set of
    hashes is built once, not once a comparison (the same arithmetic)."""
    exact = set(candidate.hashes) if candidate.complete and candidate.hashes else None
    if exact is None:
        return functools.partial(similarity, candidate)
    size = candidate.size

    def score(other: StorySignature) -> float:
        if not other.complete:
            return similarity(candidate, other)
        shared = len(exact.intersection(other.hashes)) if other.hashes else 0
        if shared == 0:
            return 0.0
        return min(1.0, shared / max(min(size, other.size), MIN_SHINGLES))

    return score


def assign_story(
    candidate: StorySignature,
    recent: Iterable[tuple[str, StorySignature]],
    threshold: float = STORY_THRESHOLD,
) -> str | None:
    """The story the ``candidate`` belongs to, or ``None`` when it starts a new one, by
    similarity alone (``monitor.storyplace.choose_story`` also weighs how common what they
    share is in the window).

    Args:
        candidate: the new item's signature.
        recent: ``(story_id, signature)`` of recent items, best first when it matters: of equally
            similar items the first wins (pass the most recent first).
        threshold: the least similarity that makes a copy, in (0, 1].

    Raises:
        ValueError: when ``threshold`` is outside (0, 1].
    """
    check_threshold(threshold)
    best_story: str | None = None
    best = threshold
    score = scorer(candidate)
    for story, other in recent:
        found = score(other)
        if found >= best and (best_story is None or found > best):
            best_story, best = story, found
    return best_story


def carrier_queue() -> deque[Any]:
    """Where to keep a key's carriers as they come: the last :data:`KEY_DEPTH` of them."""
    return deque(maxlen=KEY_DEPTH)


def pick_candidates(
    keys: Iterable[int],
    carriers: Callable[[int], Iterable[T]],
    limit: int = STORY_CANDIDATES,
) -> list[T]:
    """The earlier items a new item with candidate ``keys`` is compared with, best first.

    ``carriers(key)`` gives the items carrying ``key``, at most :data:`KEY_DEPTH` of them are
    used: pass the most recent (items order by recency: a larger one is more recent). A key
    with that many is a stop-key: an item sharing only it with the new one is left out. Of
    the rest, the ``limit`` items sharing the most keys are returned, the most recent first
    among equals. The work is bounded by the number of keys times :data:`KEY_DEPTH`, whatever
    the window holds (see the module docstring).
    """
    shared: Counter[T] = Counter()
    rare: set[T] = set()  # found through a key that is not a stop-key
    for key in keys:
        found = list(islice(carriers(key), KEY_DEPTH))
        shared.update(found)  # counted in C
        if len(found) < KEY_DEPTH:
            rare.update(found)
    pairs = [(n, item) for item, n in shared.items() if n > 1 or item in rare]
    # (count, item) pairs are distinct (each item once), so their order is total
    if len(pairs) <= limit:
        ranked = sorted(pairs, reverse=True)
    else:
        ranked = heapq.nlargest(limit, pairs)
    return [item for _, item in ranked]
