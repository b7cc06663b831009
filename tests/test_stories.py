"""Tests for monitor.stories: text normalising, signatures, similarity and story assignment.

The news texts below were written for these tests; they describe no real event.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from monitor.stories import (
    KEY_CUT,
    KEY_DEPTH,
    MAX_KEYS,
    MIN_KEYS,
    MIN_SHINGLES,
    SKETCH_SIZE,
    STORY_THRESHOLD,
    StorySignature,
    assign_story,
    fingerprint,
    pick_candidates,
    signature,
    signature_from_bytes,
    signature_to_bytes,
    similarity,
    story_id_for,
)
from monitor.storyplace import cluster
from monitor.storytext import story_text, words
from tests.phrases import LATIN, common_phrase_with_a_key, filler

# --- an invented wire story, two outlets' copies of it, and other stories on the same topic ------

WIRE = (
    "Canada to build Arctic radar station under NORAD upgrade",
    "OTTAWA — Canada will spend $2.1 billion over eight years on a new over-the-horizon radar "
    "station near Inuvik, N.W.T., the defence minister announced Thursday, calling it the largest "
    "single investment in northern air defence since the Cold War. The station will watch the "
    "polar approaches for cruise missiles and long-range bombers and feed its data directly to "
    "NORAD headquarters in Colorado Springs. Construction is expected to begin next summer, with "
    "the first phase operational by 2029. Officials said about 300 workers would be hired "
    "locally during the build, and that the Inuvialuit Regional Corporation had been consulted "
    "on the site.",
)
# Another outlet: new headline, its own dateline, a lightly edited first sentence, the last
# paragraph cut, and a feed trailer.
COPY_EDITED = (
    "Ottawa commits $2.1B for Inuvik over-the-horizon radar",
    "INUVIK, N.W.T. (CP) — Canada will spend $2.1 billion over the next eight years on a new "
    "over-the-horizon radar station near Inuvik, the defence minister said on Thursday, calling "
    "it the largest single investment in northern air defence since the Cold War. The station "
    "will watch the polar approaches for cruise missiles and long-range bombers and feed its data "
    "directly to NORAD headquarters in Colorado Springs. Construction is expected to begin next "
    "summer, with the first phase operational by 2029.\n"
    "The post Ottawa commits $2.1B for Inuvik over-the-horizon radar appeared first on "
    "Northern Example Times.",
)
# A third outlet: a byline line and only the first two sentences.
COPY_SHORT = (
    "New radar station for the North",
    "By Jane Roe, The Canadian Press\n"
    "Canada will spend $2.1 billion over eight years on a new over-the-horizon radar station near "
    "Inuvik, N.W.T., the defence minister announced Thursday, calling it the largest single "
    "investment in northern air defence since the Cold War. The station will watch the polar "
    "approaches for cruise missiles and long-range bombers.",
)
# Same topic, same week, written independently.
COMMITTEE = (
    "Senators question cost of northern radar plan",
    "Members of the Senate defence committee pressed officials on Tuesday over the price of "
    "Canada's planned Arctic radar network, asking why estimates had risen by a third since last "
    "year. Officials said inflation in construction costs and the remote locations explained most "
    "of the increase, and promised a detailed breakdown before the summer. One senator said "
    "northerners had not been told how the sites would affect caribou migration routes.",
)
ANALYSIS = (
    "Analysis: What the Inuvik radar can and cannot see",
    "Over-the-horizon radar bounces signals off the ionosphere to spot aircraft thousands of "
    "kilometres away, but it struggles with low-flying targets and with the aurora that often "
    "lights up the northern sky. Experts say the new Inuvik station will need satellites and "
    "airborne sensors alongside it if NORAD is to track modern cruise missiles reliably. The "
    "defence department has not said how much those additions would cost.",
)
# A column that quotes the minister's line from the wire story word for word.
COLUMN = (
    "Opinion: A radar is not a northern strategy",
    "The minister called it the largest single investment in northern air defence since the "
    "Cold War, and perhaps it is. But a radar station near Inuvik does nothing for the "
    "communities that still wait for year-round runways, reliable broadband and a port that can "
    "take a supply ship before the ice closes in. Sovereignty is exercised by people who live "
    "in the North, not only by equipment that watches it from a hilltop.",
)
FRENCH = (
    "Le Canada investira dans un radar arctique",
    "OTTAWA — Le gouvernement fédéral a confirmé jeudi un investissement de 2,1 milliards de "
    "dollars pour une station radar transhorizon près d'Inuvik, dans les Territoires du "
    "Nord-Ouest. Selon le ministère de la Défense nationale, la station surveillera les approches "
    "polaires et transmettra ses données au NORAD, qui pourra ainsi repérer plus tôt les missiles "
    "de croisière.",
)
# The French story as a second outlet ran it: no accents, another agency tag, a new headline.
FRENCH_COPY = (
    "Radar transhorizon : Ottawa confirme 2,1 milliards",
    "OTTAWA (PC) — LE GOUVERNEMENT FEDERAL a confirme jeudi un investissement de 2,1 milliards de "
    "dollars pour une station radar transhorizon pres d'Inuvik, dans les Territoires du "
    "Nord-Ouest. Selon le ministere de la Defense nationale, la station surveillera les approches "
    "polaires et transmettra ses donnees au NORAD, qui pourra ainsi reperer plus tot les missiles "
    "de croisiere.",
)

COPIES = [("edited", COPY_EDITED), ("short", COPY_SHORT)]
OTHERS = [
    ("committee", COMMITTEE),
    ("analysis", ANALYSIS),
    ("column", COLUMN),
    ("french", FRENCH),
]


@pytest.mark.parametrize(("name", "copy"), COPIES)
def test_copies_of_a_wire_story_are_similar(name: str, copy: tuple[str, str]) -> None:
    assert similarity(signature(*WIRE), signature(*copy)) >= STORY_THRESHOLD, name


@pytest.mark.parametrize(("name", "other"), OTHERS)
def test_other_stories_on_the_same_topic_are_not(name: str, other: tuple[str, str]) -> None:
    sig = signature(*other)
    for _, text in [("wire", WIRE), *COPIES]:
        assert similarity(signature(*text), sig) < STORY_THRESHOLD, name


def test_french_copy_without_accents_matches_its_original() -> None:
    assert similarity(signature(*FRENCH), signature(*FRENCH_COPY)) >= STORY_THRESHOLD
    assert similarity(signature(*FRENCH_COPY), signature(*WIRE)) < STORY_THRESHOLD


def test_cluster_groups_the_copies_and_keeps_the_others_apart() -> None:
    stream = [
        ("wire", WIRE),
        ("committee", COMMITTEE),
        ("edited", COPY_EDITED),
        ("french", FRENCH),
        ("analysis", ANALYSIS),
        ("short", COPY_SHORT),
        ("french-copy", FRENCH_COPY),
    ]
    stories = cluster([(key, signature(*text)) for key, text in stream])
    by_key = dict(zip((key for key, _ in stream), stories, strict=True))
    assert by_key["wire"] == story_id_for("wire")
    assert by_key["edited"] == by_key["short"] == by_key["wire"]
    assert by_key["french-copy"] == by_key["french"] == story_id_for("french")
    assert by_key["committee"] == story_id_for("committee")
    assert by_key["analysis"] == story_id_for("analysis")
    assert len(set(stories)) == 4


def test_copies_share_candidate_keys() -> None:
    wire_keys = set(signature(*WIRE).keys)
    for _, copy in COPIES:
        assert wire_keys & set(signature(*copy).keys)


@given(
    st.sets(st.integers(0, KEY_CUT - 1), max_size=MAX_KEYS + 8),
    st.sets(st.integers(KEY_CUT, (1 << 63) - 1), max_size=SKETCH_SIZE - MAX_KEYS - 8),
)
def test_keys_are_the_hashes_below_the_cut_within_the_bounds(
    below_cut: set[int], above_cut: set[int]
) -> None:
    """A signature's keys: its smallest hashes below the cut, at most MAX_KEYS of them, and
    at least its MIN_KEYS smallest (when it has as many)."""
    hashes = below_cut | above_cut
    sig = StorySignature(tuple(sorted(hashes)), len(hashes))
    below = [h for h in sorted(hashes)[:MAX_KEYS] if h < KEY_CUT]
    assert list(sig.keys) == sorted(hashes)[: max(len(below), MIN_KEYS)]


# --- fingerprints and signatures -----------------------------------------------------------------


def test_fingerprint_ignores_what_outlets_add() -> None:
    title, summary = WIRE
    body = summary.removeprefix("OTTAWA — ")
    base = fingerprint(title, summary)
    assert base == fingerprint(title.upper(), body)
    assert base == fingerprint(title, "WASHINGTON (AP) — " + body + "\nContinue reading")
    assert base == fingerprint(f"<{title}>", body.replace("Inuvik", "Inuvík"))
    assert base != fingerprint(title, body.replace("eight", "nine"))
    assert base != fingerprint(*COPY_EDITED)


@given(st.text(max_size=80), st.text(max_size=200))
def test_fingerprint_fits_a_signed_64_bit_column(title: str, summary: str) -> None:
    value = fingerprint(title, summary)
    assert 0 <= value < 2**63
    assert (value == 0) == (not words(title) and not words(story_text(summary)))


def test_empty_text() -> None:
    empty = signature("", "")
    assert empty == StorySignature((), 0)
    assert empty.keys == ()
    assert similarity(empty, empty) == 0.0
    assert similarity(empty, signature(*WIRE)) == 0.0
    assert fingerprint("", " — ") == 0


@given(LATIN, LATIN)
def test_signature_shape(title: str, summary: str) -> None:
    sig = signature(title, summary)
    assert list(sig.hashes) == sorted(set(sig.hashes))
    assert len(sig.hashes) == min(sig.size, SKETCH_SIZE)
    assert all(0 <= h < 2**63 for h in sig.hashes)
    assert sig.keys == sig.hashes[: len(sig.keys)]
    assert len(sig.keys) <= MAX_KEYS


@given(LATIN, LATIN, LATIN, LATIN)
def test_similarity_is_symmetric_and_bounded(t1: str, s1: str, t2: str, s2: str) -> None:
    a, b = signature(t1, s1), signature(t2, s2)
    assert similarity(a, b) == similarity(b, a)
    assert 0.0 <= similarity(a, b) <= 1.0
    if a.hashes:
        assert similarity(a, a) == pytest.approx(1.0) or a.size < MIN_SHINGLES


_VOCAB = [f"w{i}" for i in range(400)]


@given(
    st.lists(st.sampled_from(_VOCAB), min_size=30, max_size=120),
    st.floats(min_value=0.3, max_value=1.0),
)
def test_a_cut_copy_is_contained_in_its_original(text: list[str], share: float) -> None:
    prefix = text[: max(int(len(text) * share), MIN_SHINGLES + 3)]
    full, cut = signature("", " ".join(text)), signature("", " ".join(prefix))
    assume(cut.size >= MIN_SHINGLES)
    assert similarity(full, cut) == pytest.approx(1.0)


@pytest.mark.parametrize("changed", [0.0, 0.25, 0.5, 0.75])
def test_long_texts_are_estimated_from_their_sketches(changed: float) -> None:
    # 600-word texts have far more shingles than the sketch holds; the estimate must still
    # track the true share of shingles in common.
    original = [f"t{i}" for i in range(600)]
    cut = int(600 * (1 - changed))
    edited = original[:cut] + [f"u{i}" for i in range(600 - cut)]
    a, b = signature("", " ".join(original)), signature("", " ".join(edited))
    assert not a.complete
    assert not b.complete
    shared = max(0, cut - 3)  # 4-word shingles wholly inside the common prefix
    exact = shared / 597
    assert similarity(a, b) == pytest.approx(exact, abs=0.12)


# --- assigning stories ---------------------------------------------------------------------------


def test_assign_story_picks_the_most_similar_recent_story() -> None:
    wire = signature(*WIRE)
    recent = [
        ("committee-story", signature(*COMMITTEE)),
        ("short-story", signature(*COPY_SHORT)),
        ("edited-story", signature(*COPY_EDITED)),
    ]
    best = max(recent, key=lambda r: similarity(wire, r[1]))[0]
    assert assign_story(wire, recent) == best
    assert assign_story(wire, recent[:1]) is None
    assert assign_story(wire, []) is None


def test_assign_story_prefers_the_first_of_equals() -> None:
    sig = signature(*WIRE)
    assert assign_story(sig, [("newer", sig), ("older", sig)]) == "newer"


def test_assign_story_threshold_is_inclusive() -> None:
    a, b = signature(*WIRE), signature(*COPY_SHORT)
    score = similarity(a, b)
    assert assign_story(a, [("s", b)], threshold=score) == "s"
    if score < 1.0:
        assert assign_story(a, [("s", b)], threshold=min(1.0, score + 1e-9)) is None


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5, float("nan")])
def test_bad_threshold_is_a_clear_error(threshold: float) -> None:
    with pytest.raises(ValueError, match="story threshold must be above 0 and at most 1"):
        assign_story(signature(*WIRE), [], threshold)
    with pytest.raises(ValueError, match="story threshold"):
        cluster([], threshold)


def test_story_ids_are_stable_and_distinct() -> None:
    assert story_id_for("item-1") == story_id_for("item-1")
    assert story_id_for("item-1") != story_id_for("item-2")
    assert len(story_id_for("item-1")) == 16
    int(story_id_for("item-1"), 16)


# --- bounded candidate search ----------------------------------------------------------------


def test_pick_candidates_reads_at_most_key_depth_carriers_a_key() -> None:
    taken: Counter[int] = Counter()

    def carriers(key: int) -> Iterator[int]:
        for n in itertools.count():
            taken[key] += 1
            # newest first, without end; the newest of each key also carries the next key
            yield (key + 1) * 10**6 if n == 1 else key * 10**6 - n

    picked = pick_candidates([1, 2, 3], carriers)
    assert taken == {1: KEY_DEPTH, 2: KEY_DEPTH, 3: KEY_DEPTH}
    # every key is a stop-key: only the items sharing two of them are compared
    assert sorted(picked) == [2 * 10**6, 3 * 10**6]


def test_an_item_sharing_only_a_stop_key_is_not_compared_but_one_sharing_a_rare_key_is() -> None:
    common = [5, *range(1000, 1000 + KEY_DEPTH - 1)]  # a phrase carried by KEY_DEPTH items
    by_key = {1: common, 2: [6], 3: [7, 8]}
    # 5 shares only the common phrase, 6 and 7 a rare key each, 8 a rare key too
    assert pick_candidates([1, 2, 3], lambda k: by_key.get(k, [])) == [8, 7, 6]
    # sharing a second key, even another common one, brings an item back
    by_key[4] = [5, *range(2000, 2000 + KEY_DEPTH - 1)]
    assert pick_candidates([1, 2, 3, 4], lambda k: by_key.get(k, []))[0] == 5
    # below KEY_DEPTH carriers a key is not a stop-key: all its carriers are compared
    by_key[1] = common[:-1]
    assert set(pick_candidates([1], lambda k: by_key.get(k, []))) == set(common[:-1])


def test_pick_candidates_prefers_items_sharing_more_keys_over_newer_ones() -> None:
    by_key = {1: [900, 800, 5], 2: [5], 3: [5, 700]}
    assert pick_candidates([1, 2, 3], lambda k: by_key.get(k, []))[0] == 5
    # among items sharing as many keys, the most recent first
    assert pick_candidates([1, 3], lambda k: by_key.get(k, [])) == [5, 900, 800, 700]


def test_a_copy_is_found_behind_hundreds_of_newer_items_sharing_a_common_phrase() -> None:
    phrase = common_phrase_with_a_key()
    original = (WIRE[0], f"{WIRE[1]} {phrase}.")
    stream = [("wire", signature(*original))]
    stream += [(f"f{n}", signature(*filler(n, phrase))) for n in range(400)]
    stream.append(("copy", signature(COPY_EDITED[0], f"{COPY_EDITED[1]} {phrase}.")))
    found = cluster(stream)
    assert found[-1] == found[0] == story_id_for("wire")
    assert len(set(found[1:-1])) == 400  # the fillers stay apart


@given(st.text(max_size=200), st.text(max_size=2000))
def test_a_signature_survives_its_stored_form(title: str, summary: str) -> None:
    sig = signature(title, summary)
    if sig.hashes:
        assert signature_from_bytes(signature_to_bytes(sig)) == sig


@pytest.mark.parametrize("data", [b"", b"\x00" * 7, b"\x01" * 12])
def test_a_damaged_stored_signature_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="stored story signature"):
        signature_from_bytes(data)
