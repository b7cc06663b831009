"""Events: telling when items from different outlets report the same thing.

Owns: the terms an item is compared by at the event level (content words and names, English
and French), their weighting by rarity in the window, the similarity of two items' terms, the
choice of candidates and the choice of event for a new item. Pure: takes values, returns
values; no clock, no I/O. Imports only the standard library and :mod:`monitor.stories`; must
not import fetch, store, deliver, pipeline, scheduler or cli.

Two levels
----------
:mod:`monitor.stories` groups *copies*: the same text carried by several outlets, found by
shared runs of words. An *event* is one level looser: outlets' own reports of one happening
(a minister's announcement, a tariff taking effect) share few runs of words but many rare
words and names: the minister's name, the place, the figures, the programme. Every copy of a
story belongs to the event of that story; independent reports join an event when their terms
overlap enough.

The method
----------
1. **Terms** (:func:`profile`): the title and the summary (without byline, dateline and feed
   trailers, see :func:`monitor.storytext.story_text`) are split into words. Common words of
   English and French (:data:`STOPWORDS`) and words shorter than three letters are dropped;
   the rest are folded (case, accents), a plural ``s`` or ``x`` is dropped and the word is cut
   to :data:`STEM_LETTERS` letters, so ``tariffs``/``tariff`` and ``défense``/``defence`` share
   a term. A word that starts with a capital letter anywhere but at the start of a sentence,
   an acronym, or a number of at least two digits is a *name*. Two names in a row also make a
   name of both (``Anita Anand``). Each term is hashed to 62 bits; a name's hash is marked.
2. **Weights**: a term's weight is its BM25 inverse document frequency in the window,
   ``log(1 + (N - df + 0.5) / (df + 0.5))``, where ``N`` is the number of items in the window
   and ``df`` the number carrying the term. Names weigh :data:`NAME_BOOST` times more. A term
   carried by :data:`EVENT_DEPTH` items or more is a common word of the moment and weighs 0.
3. **Similarity** (:func:`similarity`): the weight of the terms both items share divided by
   the geometric mean of the two items' total weights (the cosine of their weighted term sets),
   counted only when they share at least :data:`MIN_SHARED_NAMES` names or figures. Two
   reports on one topic share the topic's words, but not the event's names and figures.
4. **Assignment** (:func:`assign_event`): a new item joins the event of its most similar
   candidate published within :data:`EVENT_WINDOW` of it, when the similarity reaches
   :data:`EVENT_THRESHOLD` (tuned on labelled pairs: see ``docs/benchmarks.md``); otherwise it
   starts an event of its own, whose id is its story's id.

Bounded work per new item
-------------------------
An item keeps at most :data:`MAX_TERMS` terms (the title's first, then the summary's). A store
indexes ``(term, item)`` for recent items; for a new item it reads at most
:data:`EVENT_DEPTH` most recent carriers of each term (which also gives the term's ``df``,
capped: a term with that many carriers weighs nothing), then compares the new item with the
:data:`EVENT_CANDIDATES` carriers sharing the most rare terms. So placing an item reads at most
``MAX_TERMS * EVENT_DEPTH`` index rows and compares at most ``EVENT_CANDIDATES`` profiles,
however many items the window holds.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from monitor.stories import T, int64s  # T: an item id, ordered by recency
from monitor.storytext import fold, story_text

__all__ = [
    "EVENT_CANDIDATES",
    "EVENT_DEPTH",
    "EVENT_THRESHOLD",
    "EVENT_WINDOW",
    "MAX_TERMS",
    "MIN_SHARED_NAMES",
    "NAME_BOOST",
    "STEM_LETTERS",
    "STOPWORDS",
    "EventCandidate",
    "EventProfile",
    "assign_event",
    "idf",
    "is_name",
    "pick_event_candidates",
    "profile",
    "profile_from_bytes",
    "profile_to_bytes",
    "similarity",
    "total_weight",
    "window_weights",
]

#: Longest gap between two reports' times for them to be one event.
EVENT_WINDOW = timedelta(hours=36)
#: Weighted overlap at or above which a new item joins an event.
EVENT_THRESHOLD = 0.4
#: How many times more a name or figure weighs than a plain word of the same rarity.
NAME_BOOST = 2.0
#: Fewest names (or figures) two reports must share to be one event.
MIN_SHARED_NAMES = 3
#: Most terms kept per item.
MAX_TERMS = 48
#: Most recent carriers read per term; a term carried by this many is too common to count.
EVENT_DEPTH = 24
#: Most items a new item is compared with at the event level.
EVENT_CANDIDATES = 32
#: Letters a word is cut to, so that inflections and spellings share a term.
STEM_LETTERS = 5


_NAME_BIT = 1
_HASH_BITS = 62

#: Common words of English and French, folded (no accents), that say nothing of an event.
STOPWORDS = frozenset(
    """
    about above after again against all also although among and another any are around
    because been before being below between both but can could did does doing down during
    each even every few for from further had has have having her here hers herself him
    himself his how however into its itself just last least less like made make many may
    more most much must near new next not now off once one only other our ours out over
    own per said same says see she should since some still such than that the their
    theirs them themselves then there these they this those though three through thus
    today too two under until upon very was way week were what when where whether which
    while who whom whose why will with within without would year years yet you your
    yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday told tell
    according including include includes including first second take takes taken took
    get gets got give given going back well long time times part set day days month
    months news report reports reported reporting statement spokesperson people
    le la les un une des du de d l au aux et ou mais donc car ni que qui quoi dont ou
    ce cet cette ces son sa ses leur leurs notre nos votre vos mon ma mes ton ta tes
    il elle ils elles on nous vous je tu lui eux se sur sous dans par pour avec sans
    entre vers chez contre depuis pendant avant apres selon lors ainsi aussi plus moins
    tres tout tous toute toutes autre autres meme memes est sont etait etaient ete etre
    avoir avait avaient ont eu fait faire faut peut peuvent doit doivent pourrait
    serait seront sera sont cela ceci celui celle ceux celles dit selon annonce semaine
    lundi mardi mercredi jeudi vendredi samedi dimanche hier demain aujourd hui ans annee
    annees jour jours mois premier premiere deux trois quand comme alors encore deja
    non oui pas plus bien fois lorsque puis tandis afin car donc
    """.split()
)

_TOKEN = re.compile(r"[^\W_]+(?:[’'.\-][^\W_]+)*|[.!?:;«»\"“”]")
_SENTENCE_END = frozenset('.!?:;«»"“”')
_DIGITS = re.compile(r"\d")
_HASHES: dict[str, int] = {}
_HASHES_MAX = 200_000


def _hash(term: str, name: bool) -> int:
    h = _HASHES.get(term)
    if h is None:
        if len(_HASHES) >= _HASHES_MAX:
            _HASHES.clear()
        digest = hashlib.blake2b(
            b"event\x00" + term.encode("utf-8", "surrogatepass"), digest_size=8
        )
        h = _HASHES[term] = int.from_bytes(digest.digest(), "big") >> (64 - _HASH_BITS)
    return (h << 1) | (_NAME_BIT if name else 0)


def is_name(term: int) -> bool:
    """Whether a term of a profile is a name or a figure (not a plain word)."""
    return bool(term & _NAME_BIT)


def _stem(word: str) -> str:
    if len(word) > 4 and word[-1] in "sx":
        word = word[:-1]
    return word[:STEM_LETTERS]


@dataclass(frozen=True, slots=True)
class EventProfile:
    """The terms an item is compared by at the event level: distinct 63-bit term hashes in
    the order they came (title first); :func:`is_name` tells names from words."""

    terms: tuple[int, ...]

    def __reduce__(self) -> tuple[type[EventProfile], tuple[tuple[int, ...]]]:
        return (EventProfile, (self.terms,))


_ELISION = re.compile(r"[’'\-]")


class _Spelling(NamedTuple):
    """What a token's spelling alone says, worked out once a spelling (news repeats its
    words): whether it is a name wherever it stands (a figure, an acronym), whether it starts
    with a capital (a name unless it starts a sentence), whether it is too common or too
    short to be a term (``short``: unless it is a name), and its term and term hash as a name
    and as a plain word (0 where it can never be one)."""

    always_name: bool
    capital: bool
    stop: bool
    short: bool
    name_term: str
    name_hash: int
    word_hash: int


#: each token's :class:`_Spelling`, or ``None`` for one with no letters or digits once folded
_TOKENS: dict[str, _Spelling | None] = {}
_TOKENS_MAX = 200_000


def _spelling(token: str) -> _Spelling | None:
    if len(_TOKENS) >= _TOKENS_MAX:
        _TOKENS.clear()
    word = token
    parts = _ELISION.split(word)
    # "l'Arctique", "d'Ottawa": the word after an elided article
    if len(parts) > 1 and len(parts[0]) <= 2:
        word = word[len(parts[0]) + 1 :]
    folded = fold(word).replace(".", "")
    info: _Spelling | None = None
    if folded:
        digits = bool(_DIGITS.search(folded))
        acronym = len(word) >= 2 and word.replace(".", "").isupper() and not digits
        capital = word[0].isupper()
        always_name = (digits and len(folded) >= 2) or acronym
        stop = folded in STOPWORDS
        short = len(folded) < 3
        name_term = folded if digits or acronym else _stem(folded)
        can_be_name = not stop and (always_name or capital)
        can_be_word = not stop and not short and not always_name
        info = _Spelling(
            always_name,
            capital,
            stop,
            short,
            name_term,
            _hash(name_term, True) if can_be_name else 0,
            _hash(_stem(folded), False) if can_be_word else 0,
        )
    _TOKENS[token] = info
    return info


def _terms(text: str, out: dict[int, None]) -> None:
    start = True  # at the start of a sentence
    previous_name: str | None = None
    known = _TOKENS
    for token in _TOKEN.findall(text):
        if len(out) >= MAX_TERMS:
            return
        if token in _SENTENCE_END:
            start, previous_name = True, None
            continue
        info = known[token] if token in known else _spelling(token)
        if info is None:
            continue
        always_name, capital, stop, short, term, name_hash, word_hash = info
        name = always_name or (capital and not start)
        start = False
        if stop or (short and not name):
            previous_name = None
            continue
        if name:
            out.setdefault(name_hash, None)
            if previous_name is not None:
                out.setdefault(_hash(previous_name + " " + term, True), None)
            previous_name = term
        else:
            # a capitalised first word of a sentence may be a name or not: a word either way
            previous_name = None
            out.setdefault(word_hash, None)


def profile(title: str, summary: str) -> EventProfile:
    """The event profile of an item's plain-text title and summary (see the module docstring)."""
    out: dict[int, None] = {}
    _terms(title, out)
    _terms(story_text(summary), out)
    return EventProfile(tuple(out))


def profile_to_bytes(p: EventProfile) -> bytes:
    """``p`` as bytes for a database column: its terms, 64-bit little-endian."""
    values = array("q", p.terms)
    if sys.byteorder != "little":  # pragma: no cover - every supported machine is little-endian
        values.byteswap()
    return values.tobytes()


def profile_from_bytes(data: bytes) -> EventProfile:
    """The profile :func:`profile_to_bytes` wrote.

    Raises:
        ValueError: when ``data`` is not a whole number of 64-bit values.
    """
    if len(data) % 8:
        raise ValueError(f"a stored event profile has {len(data)} bytes, not a multiple of 8")
    # one precompiled struct a length: half the cost of an array made into a tuple, and a
    # batch decodes the profiles of tens of thousands of candidates
    return EventProfile(int64s(len(data) // 8).unpack(data))


def idf(df: int, n: int) -> float:
    """BM25's inverse document frequency of a term carried by ``df`` of ``n`` items; 0 for a
    term carried by :data:`EVENT_DEPTH` items or more (a common word of the moment)."""
    if df >= EVENT_DEPTH:
        return 0.0
    n = max(n, df, 1)
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def window_weights(profiles: Iterable[EventProfile]) -> dict[int, float]:
    """Each term's :func:`idf` over ``profiles`` taken as the whole window (for a window held
    in memory: a store counts carriers in its index instead)."""
    df: dict[int, int] = {}
    n = 0
    for p in profiles:
        n += 1
        for t in p.terms:
            df[t] = df.get(t, 0) + 1
    return {t: idf(count, n) for t, count in df.items()}


def _weights_of(terms: Sequence[int], weights: Mapping[int, float]) -> list[float]:
    """Each term's weight in a comparison, in order: its rarity weight from ``weights`` (0 when
    missing), :data:`NAME_BOOST` times that for a name."""
    get = weights.get
    return [w * NAME_BOOST if t & _NAME_BIT else w for t in terms for w in (get(t, 0.0),)]


def total_weight(p: EventProfile, weights: Mapping[int, float]) -> float:
    """The total weight of ``p``'s terms: what :func:`similarity` divides by."""
    return sum(_weights_of(p.terms, weights))


def similarity(a: EventProfile, b: EventProfile, weights: Mapping[int, float]) -> float:
    """How much term weight the two share, from 0.0 to 1.0: the weight of the shared terms
    over the geometric mean of the two items' total weights (a weighted cosine of 0/1 vectors).

    ``weights`` gives each term's rarity weight (:func:`idf`); a term missing from it weighs 0.
    Two items sharing fewer than :data:`MIN_SHARED_NAMES` names score 0.
    """
    own = _weights_of(a.terms, weights)
    return _similarity(dict(zip(a.terms, own, strict=True)), sum(own), b, weights, {})


def _similarity(
    own: dict[int, float],
    total_a: float,
    b: EventProfile,
    weights: Mapping[int, float],
    totals: MutableMapping[EventProfile, float],
) -> float:
    """:func:`similarity`, given ``a``'s terms with their weights and its total weight (made
    once for many comparisons), and the total weights of profiles already weighed (``b``'s is
    added when it is needed)."""
    shared = own.keys() & b.terms
    names = 0
    for t in shared:
        names += t & _NAME_BIT
    if names < MIN_SHARED_NAMES:
        return 0.0
    # the shared weights in the set's order, as before: the same sum to the last bit
    common = sum(map(own.__getitem__, shared))
    if common <= 0.0:
        return 0.0
    total_b = totals.get(b)
    if total_b is None:
        total_b = totals[b] = total_weight(b, weights)
    return min(1.0, common / math.sqrt(total_a * total_b))


@dataclass(frozen=True, slots=True)
class EventCandidate:
    """An earlier item a new one may join: its event, profile and time (published, else
    first seen; ``None`` when unknown)."""

    event: str
    profile: EventProfile
    at: datetime | None = None


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(
            f"event threshold must be above 0 and at most 1 (a weighted cosine of the two items' "
            f"terms), got {threshold!r}"
        )


def assign_event(
    candidate: EventProfile,
    at: datetime | None,
    recent: Iterable[EventCandidate],
    weights: Mapping[int, float],
    threshold: float = EVENT_THRESHOLD,
    window: timedelta = EVENT_WINDOW,
    totals: MutableMapping[EventProfile, float] | None = None,
) -> str | None:
    """The event the new item belongs to, or ``None`` when it starts one.

    Args:
        candidate: the new item's profile; ``at`` its time (published, else first seen).
        recent: earlier items, best first when it matters: of equally similar ones the first
            wins. One whose time is more than ``window`` from ``at`` is never joined.
        weights: each term's weight (:func:`idf`).
        threshold: the least similarity that makes one event, in (0, 1].
        totals: the total weights (:func:`total_weight`) of earlier items' profiles under
            ``weights``, kept by a caller that compares many new items with the same earlier
            ones; those weighed here are added to it.

    Raises:
        ValueError: when ``threshold`` is outside (0, 1].
    """
    _check_threshold(threshold)
    # an item sharing fewer than MIN_SHARED_NAMES names scores 0 (see similarity): counted
    # first, the new item's names looked up among the other's terms, as it ends nearly every
    # comparison (a set of each candidate's names, made once, costs more than it saves where
    # a batch is a poll and each stored candidate is met once or twice)
    own_names = {t for t in candidate.terms if t & _NAME_BIT}
    if len(own_names) < MIN_SHARED_NAMES:
        return None
    best_event: str | None = None
    best = threshold
    weighed = _weights_of(candidate.terms, weights)
    own = dict(zip(candidate.terms, weighed, strict=True))
    total = sum(weighed)
    if totals is None:
        totals = {}
    for other in recent:
        if at is not None and other.at is not None and abs(at - other.at) > window:
            continue
        if len(own_names.intersection(other.profile.terms)) < MIN_SHARED_NAMES:
            continue
        score = _similarity(own, total, other.profile, weights, totals)
        if score >= best and (best_event is None or score > best):
            best_event, best = other.event, score
    return best_event


def pick_event_candidates(
    terms: Sequence[int],
    carriers: Callable[[int], Sequence[T]],
    weights: Mapping[int, float],
    limit: int = EVENT_CANDIDATES,
) -> list[T]:
    """The earlier items a new item with ``terms`` is compared with, best first.

    ``carriers(term)`` gives at most :data:`EVENT_DEPTH` most recent items carrying ``term``
    (items order by recency: a larger one is more recent). Terms weighing nothing are skipped;
    the ``limit`` items sharing the most term weight are returned, the most recent first among
    equals.
    """
    shared: dict[T, float] = {}
    get = shared.get
    for term, w in zip(terms, _weights_of(terms, weights), strict=True):
        if w <= 0.0:
            continue
        for item in carriers(term)[:EVENT_DEPTH]:
            shared[item] = get(item, 0.0) + w
    # (weight, item) pairs are distinct (each item once) and rank as that key ranked them
    return [item for _, item in heapq.nlargest(limit, [(w, i) for i, w in shared.items()])]
