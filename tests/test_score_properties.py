"""Properties of matching that must hold for any text: insensitivity where promised,
case-sensitivity of acronyms, and scores that never drop when a matching term is added."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.score.engine import compile_topics
from monitor.score.spec import GroupSpec, TermSpec, TopicSpec

WORDS = ["defense", "arctique", "securite", "tariff", "frontiere", "canada", "alliance", "eyes"]
ACCENTED = {"e": "éèêë", "a": "àâä", "i": "îï", "o": "ô", "u": "ùû", "c": "ç"}
FILLER = st.lists(st.sampled_from(["the", "and", "of", "new", "pour", "les", "2025", "—", ","]))


def topic(groups: dict[str, list[str]], weights: dict[str, float] | None = None) -> TopicSpec:
    weights = weights or {}
    return TopicSpec(
        id="t",
        name="T",
        description="property topic",
        threshold=0.5,
        groups={
            name: GroupSpec(weight=weights.get(name, 1.0), terms=[TermSpec(term=t) for t in terms])
            for name, terms in groups.items()
        },
    )


@st.composite
def disguised(draw: st.DrawFn, word: str) -> str:
    """``word`` with random case, accents, and apostrophes or hyphens around it."""
    out = []
    for ch in word:
        if ch in ACCENTED and draw(st.booleans()):
            ch = draw(st.sampled_from(ACCENTED[ch]))
        out.append(ch.upper() if draw(st.booleans()) else ch)
    text = "".join(out)
    if draw(st.booleans()):
        text = unicodedata.normalize("NFD", text)
    before = draw(st.sampled_from(["", "l’", "l'", "d‘", "(", "«\u00a0", "-"]))
    after = draw(st.sampled_from(["", "’s", "'s", ".", ",", ")", "\u00a0»", "-"]))
    return before + text + after


@settings(max_examples=200, deadline=None)
@given(data=st.data(), word=st.sampled_from(WORDS), left=FILLER, right=FILLER)
def test_matching_ignores_case_accents_and_apostrophes(
    data: st.DataObject, word: str, left: list[str], right: list[str]
) -> None:
    m = compile_topics([topic({"g": [word]})])
    shown = data.draw(disguised(word))
    text = " ".join([*left, shown, *right])
    (match,) = m.score(text, "")
    assert match.score == 2
    (reason,) = match.reasons
    # the reason points at the word as written in the item
    assert (
        unicodedata.normalize("NFC", text[reason.position :])
        .casefold()
        .startswith(unicodedata.normalize("NFC", reason.term).casefold())
    )


@settings(max_examples=200, deadline=None)
@given(
    acronym=st.sampled_from(["NORAD", "CUSMA", "NATO", "OTAN", "GRC"]),
    flips=st.lists(st.booleans(), min_size=5, max_size=5),
    left=FILLER,
)
def test_acronyms_match_only_in_capitals(acronym: str, flips: list[bool], left: list[str]) -> None:
    m = compile_topics([topic({"g": [acronym]})])
    written = "".join(c.lower() if f else c for c, f in zip(acronym, flips, strict=False))
    text = " ".join([*left, written])
    found = m.score(text, "")
    assert bool(found) == (written == acronym)


@settings(max_examples=200, deadline=None)
@given(
    terms=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True),
    extra=st.sampled_from(WORDS),
    weights=st.lists(st.floats(min_value=0.1, max_value=5), min_size=3, max_size=3),
    title=st.lists(st.sampled_from([*WORDS, "x", "y"]), max_size=8),
    summary=st.lists(st.sampled_from([*WORDS, "x", "y"]), max_size=12),
    group=st.sampled_from(["a", "b", "c"]),
)
def test_adding_a_matching_term_never_lowers_the_score(
    terms: list[str],
    extra: str,
    weights: list[float],
    title: list[str],
    summary: list[str],
    group: str,
) -> None:
    groups = {"a": terms[:1], "b": terms[1:] or ["zzz"], "c": ["yyy"]}
    w = dict(zip("abc", weights, strict=True))
    t, s = " ".join(title), " ".join(summary)
    before = compile_topics([topic(groups, w)]).explain(t, s)[0].score
    if extra in groups[group]:
        return
    grown = {**groups, group: [*groups[group], extra]}
    after = compile_topics([topic(grown, w)]).explain(t, s)[0].score
    assert after >= before


@settings(max_examples=100, deadline=None)
@given(title=st.text(max_size=60), summary=st.text(max_size=120))
def test_any_text_is_scored_without_error_and_reasons_add_up(title: str, summary: str) -> None:
    m = compile_topics([topic({"g": ["canada", "tariff*"], "h": ["eyes"]}, {"h": 2})])
    for verdict in m.explain(title, summary):
        assert abs(sum(r.weight for r in verdict.reasons) - verdict.score) < 1e-9
        for r in verdict.reasons:
            text = title if r.field == "title" else summary
            assert 0 <= r.position <= len(text)
