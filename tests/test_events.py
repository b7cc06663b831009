"""Events: outlets' own reports of one happening grouped, other happenings kept apart.

The news texts below were written for these tests; they describe no real event. A window of
unrelated local news (``background``) stands for what a real window holds, so that term
weights are what they would be in use.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor import events
from monitor.events import (
    EVENT_CANDIDATES,
    EVENT_DEPTH,
    EVENT_THRESHOLD,
    EVENT_WINDOW,
    EventCandidate,
    EventProfile,
    assign_event,
    idf,
    is_name,
    pick_event_candidates,
    profile,
    profile_from_bytes,
    profile_to_bytes,
    similarity,
    window_weights,
)
from tests.phrases import common_phrase_with_a_key, filler

T0 = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)

# One happening, six outlets, each in its own words: a defence minister announces money to
# replace the Arctic early-warning radars, at an air base, with a deadline for a NORAD decision.
RADAR_REPORTS = [
    (
        "Ottawa commits $7.3B to replace Arctic radar line",
        "Defence Minister Marie Tremblay announced $7.3 billion on Thursday to replace the North "
        "Warning System, the chain of Arctic radars that feeds NORAD, speaking at 5 Wing Goose "
        "Bay. Tremblay said a decision on the new over-the-horizon sites would come by March.",
    ),
    (
        "Tremblay unveils North Warning System replacement",
        "GOOSE BAY, N.L. — Marie Tremblay stood on the tarmac at 5 Wing Goose Bay to unveil a "
        "$7.3-billion plan for the North Warning System. The defence minister told reporters "
        "NORAD would have its answer on over-the-horizon radar by March.",
    ),
    (
        "Canada to spend billions on northern radars, minister says",
        "The federal government will put $7.3 billion into the North Warning System, Defence "
        "Minister Marie Tremblay said at Goose Bay, giving NORAD partners a March deadline for "
        "the choice of over-the-horizon radar sites.",
    ),
    (
        "NORAD radar upgrade: what Thursday's Goose Bay announcement means",
        "Marie Tremblay's $7.3 billion for the North Warning System is the largest northern "
        "defence outlay in a generation. At Goose Bay the minister promised NORAD a decision on "
        "over-the-horizon radar sites by March.",
    ),
    (
        "Minister sets March deadline for Arctic radar choice",
        "A decision on where the over-the-horizon radars go will be made by March, Defence "
        "Minister Marie Tremblay said in Goose Bay as she committed $7.3 billion to replacing "
        "the North Warning System that watches the polar approaches for NORAD.",
    ),
    (
        "Goose Bay hosts $7.3-billion defence announcement",
        "Residents of Happy Valley-Goose Bay watched as Marie Tremblay, the defence minister, "
        "set out $7.3 billion for the North Warning System and a March date for NORAD's radar "
        "decision.",
    ),
]
# The same topic (NORAD), another happening.
NORAD_INTERCEPT = (
    "NORAD jets shadow Russian patrol aircraft off Alaska",
    "Two F-22 fighters from Joint Base Elmendorf-Richardson intercepted a pair of Russian Tu-142 "
    "maritime patrol aircraft in the Alaskan air defence identification zone on Tuesday, NORAD "
    "said. The aircraft stayed in international airspace and did not enter sovereign territory.",
)
# Two different tariff announcements a day apart: one country's duty, then the other's answer.
TARIFF_DUTY = (
    "U.S. to impose 35% tariff on Canadian softwood from Friday",
    "Commerce Secretary Dana Whitfield said on Monday the United States will impose a 35% "
    "tariff on Canadian softwood lumber from Friday, citing subsidies to sawmills in British "
    "Columbia and Quebec. Canadian producers called the duty punitive.",
)
TARIFF_ANSWER = (
    "Canada answers with counter-tariffs on U.S. steel and bourbon",
    "Finance Minister Luc Beaulieu announced 25% counter-tariffs on C$12 billion of American "
    "steel, bourbon and orange juice on Tuesday, effective in three weeks, and said Canada "
    "would challenge the softwood duty under the trade agreement.",
)
TARIFF_DUTY_AGAIN = (
    "Washington sets 35% softwood duty, lumber producers cry foul",
    "Canadian softwood lumber will face a 35% tariff at the border from Friday, Commerce "
    "Secretary Dana Whitfield announced Monday, pointing to provincial subsidies in British "
    "Columbia and Quebec. Sawmill owners said the duty was punitive.",
)
# The radar announcement, reported in French by two outlets.
RADAR_FR = [
    (
        "Ottawa investit 7,3 milliards dans les radars de l'Arctique",
        "La ministre de la Défense, Marie Tremblay, a annoncé jeudi à Goose Bay un investissement "
        "de 7,3 milliards de dollars pour remplacer le Système d'alerte du Nord, qui alimente le "
        "NORAD. Une décision sur les radars transhorizon sera prise d'ici mars.",
    ),
    (
        "Système d'alerte du Nord : Marie Tremblay promet une décision en mars",
        "À Goose Bay, la ministre Marie Tremblay a dévoilé 7,3 milliards de dollars pour le "
        "Système d'alerte du Nord et a promis au NORAD une décision sur les sites de radars "
        "transhorizon d'ici mars.",
    ),
]
OTHER_FR = (
    "Québec annonce un nouveau tramway à Gatineau",
    "Le gouvernement du Québec financera un tramway entre Gatineau et Aylmer, a annoncé mardi "
    "la ministre des Transports, Julie Gagnon. Les travaux commenceront en 2028.",
)


def background(n: int = 80) -> list[EventProfile]:
    phrase = common_phrase_with_a_key()
    return [profile(*filler(i, phrase)) for i in range(n)]


def weights_with(*texts: tuple[str, str]) -> dict[int, float]:
    return window_weights([*background(), *(profile(*t) for t in texts)])


def test_profile_keeps_names_and_figures_and_drops_common_words() -> None:
    p = profile(*RADAR_REPORTS[0])
    names = [t for t in p.terms if is_name(t)]
    assert (
        len(names) >= 6
    )  # Marie, Tremblay, Marie Tremblay, North Warning System, NORAD, Goose, 7.3
    assert len(p.terms) <= events.MAX_TERMS
    assert profile("the and of", "le la les de and the") == EventProfile(())
    assert profile_from_bytes(profile_to_bytes(p)) == p
    with pytest.raises(ValueError, match="not a multiple of 8"):
        profile_from_bytes(b"abc")


def test_spellings_and_plurals_share_a_term() -> None:
    assert set(profile("tariffs", "").terms) == set(profile("tariff", "").terms)
    assert set(profile("defence", "").terms) == set(profile("défense", "").terms)


def test_reports_of_one_event_with_different_headlines_are_similar() -> None:
    weights = weights_with(*RADAR_REPORTS, NORAD_INTERCEPT)
    profiles = [profile(*r) for r in RADAR_REPORTS]
    for a, b in itertools.combinations(profiles, 2):
        assert similarity(a, b, weights) >= EVENT_THRESHOLD


def test_same_topic_different_events_are_kept_apart() -> None:
    weights = weights_with(*RADAR_REPORTS, NORAD_INTERCEPT, TARIFF_DUTY, TARIFF_ANSWER)
    intercept = profile(*NORAD_INTERCEPT)
    for report in RADAR_REPORTS:
        assert similarity(profile(*report), intercept, weights) < EVENT_THRESHOLD
    assert similarity(profile(*TARIFF_DUTY), profile(*TARIFF_ANSWER), weights) < EVENT_THRESHOLD
    # ...while the duty reported twice is one event
    again = similarity(profile(*TARIFF_DUTY), profile(*TARIFF_DUTY_AGAIN), weights)
    assert again >= EVENT_THRESHOLD


def test_french_reports_of_one_event_are_grouped_and_others_kept_apart() -> None:
    weights = weights_with(*RADAR_FR, OTHER_FR, *RADAR_REPORTS)
    a, b = (profile(*r) for r in RADAR_FR)
    assert similarity(a, b, weights) >= EVENT_THRESHOLD
    assert similarity(a, profile(*OTHER_FR), weights) < EVENT_THRESHOLD


def test_assign_event_joins_the_most_similar_within_the_window() -> None:
    weights = weights_with(*RADAR_REPORTS, NORAD_INTERCEPT)
    first, second = (profile(*r) for r in RADAR_REPORTS[:2])
    intercept = profile(*NORAD_INTERCEPT)
    recent = [EventCandidate("intercept", intercept, T0), EventCandidate("radar", first, T0)]
    assert assign_event(second, T0 + timedelta(hours=3), recent, weights) == "radar"
    assert assign_event(intercept, T0, [recent[1]], weights) is None
    # a report two days later is another event, however close its words
    later = T0 + events.EVENT_WINDOW + timedelta(hours=1)
    assert assign_event(second, later, recent, weights) is None
    with pytest.raises(ValueError, match="above 0 and at most 1"):
        assign_event(second, T0, recent, weights, threshold=0.0)


def test_idf_of_a_term_too_common_to_count_is_zero() -> None:
    assert idf(EVENT_DEPTH, 10_000) == 0.0
    assert idf(1, 10_000) > idf(10, 10_000) > 0.0


def test_candidates_are_bounded_whatever_the_window_holds() -> None:
    """However many earlier items carry the new one's terms, at most EVENT_DEPTH carriers are
    read per term and EVENT_CANDIDATES returned, those sharing the most term weight first."""
    terms = tuple(range(2, 2 * 40, 2))  # 39 plain-word terms
    weights = dict.fromkeys(terms, 1.0)
    reads: list[int] = []
    shared_by_all = 10**9  # an earlier report sharing every term

    def carriers(term: int) -> list[int]:
        reads.append(term)
        # 10,000 items carry each term, newest first; the report is among the newest
        return [shared_by_all, *range(term * 100_000, term * 100_000 - 10_000, -1)]

    picked = pick_event_candidates(terms, carriers, weights)
    assert len(picked) == EVENT_CANDIDATES
    assert picked[0] == shared_by_all
    assert len(reads) == len(terms)
    newest = {i for t in terms for i in carriers(t)[:EVENT_DEPTH]}
    assert set(picked) <= newest  # only the EVENT_DEPTH newest carriers of a term are used
    # a term weighing nothing is never looked up
    reads.clear()
    pick_event_candidates(terms, carriers, dict.fromkeys(terms, 0.0))
    assert reads == []


# --- a batch placed from the store's answers (monitor.eventplan) -----------------------------

from monitor import eventplan  # noqa: E402
from monitor.intents import BATCH, StoredEvent  # noqa: E402


def _answers() -> tuple[dict[int, list[int]], dict[int, StoredEvent]]:
    """What a store answers for a window of 80 local items (ids 100-179) and one stored
    radar report (id 7, event ``radar``): each term's carriers, newest first, and the
    candidates' events."""
    carriers: dict[int, list[int]] = {}
    window = [(100 + n, p) for n, p in enumerate(background())]
    window.append((7, profile(*RADAR_REPORTS[0])))
    for item_id, p in sorted(window, reverse=True):
        for t in p.terms:
            carriers.setdefault(t, []).append(item_id)
    radar = StoredEvent(7, "radar", profile_to_bytes(profile(*RADAR_REPORTS[0])), T0)
    return carriers, {7: radar}


def _fresh(text: tuple[str, str], story: str, *, new: bool = True) -> eventplan.Fresh:
    return eventplan.Fresh(profile(*text), story, new, T0 + timedelta(hours=1))


def test_a_batch_joins_stored_events_and_its_own_earlier_items() -> None:
    carriers, stored = _answers()
    batch = [
        _fresh(RADAR_REPORTS[1], "s1"),
        _fresh(NORAD_INTERCEPT, "s2"),
        _fresh(RADAR_REPORTS[2], "s3"),
        _fresh(RADAR_REPORTS[3], "copy", new=False),  # joined a stored story with an event
    ]
    picks = eventplan.pick(batch, {"copy": "elsewhere"}, carriers, 81)
    assert 7 in picks.wanted
    assert picks.picked[3] == ()  # its story's event is its own: nothing to compare
    assert BATCH + 0 in picks.picked[2]  # an earlier item of the batch is a candidate
    assert eventplan.assign(batch, picks, stored) == ["radar", "s2", "radar", "elsewhere"]
    # without the stored report's answer, the first report starts an event (named after its
    # story) and the later one joins it from within the batch
    assert eventplan.assign(batch, picks, {}) == ["s1", "s2", "s1", "elsewhere"]


def test_a_stored_candidate_published_outside_the_window_is_not_joined() -> None:
    carriers, stored = _answers()
    old = StoredEvent(7, "radar", stored[7].profile, T0 - EVENT_WINDOW - timedelta(hours=2))
    batch = [_fresh(RADAR_REPORTS[1], "s1")]
    picks = eventplan.pick(batch, {}, carriers, 81)
    assert eventplan.assign(batch, picks, {7: old}) == ["s1"]


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from monitor.stories import pick_candidates  # noqa: E402

# a term's carriers as a batch's item sees them: the batch's earlier items, then stored ones
_CARRIERS = st.dictionaries(
    st.integers(0, 12),
    st.tuples(
        st.sets(st.integers(0, 9), max_size=6),  # positions of earlier items of the batch
        st.sets(st.integers(1, 60), max_size=30),  # stored ids
    ),
    max_size=10,
)


@given(_CARRIERS, st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.7]), min_size=13, max_size=13))
def test_candidates_named_by_integers_rank_as_origin_pairs_do(
    carried: dict[int, tuple[set[int], set[int]]], idf: list[float]
) -> None:
    """Candidates were (0, stored id) and (1, position) pairs; they are now ids and
    ``BATCH + position``: both pickers must rank them exactly as they ranked the pairs (ties
    go to the most recent, a batch's items being newer than any stored one)."""

    def as_pairs(term: int) -> list[tuple[int, int]]:
        batch, stored = carried.get(term, (set(), set()))
        return [(1, p) for p in sorted(batch, reverse=True)] + [
            (0, i) for i in sorted(stored, reverse=True)
        ]

    def to_ref(pair: tuple[int, int]) -> int:
        return BATCH + pair[1] if pair[0] else pair[1]

    def as_refs(term: int) -> list[int]:
        return [to_ref(p) for p in as_pairs(term)]

    terms = list(range(13))
    weights = dict(enumerate(idf))
    by_pairs = events.pick_event_candidates(terms, as_pairs, weights, limit=5)
    assert events.pick_event_candidates(terms, as_refs, weights, limit=5) == [
        to_ref(p) for p in by_pairs
    ]
    assert pick_candidates(terms, as_refs, limit=5) == [
        to_ref(p) for p in pick_candidates(terms, as_pairs, limit=5)
    ]


# a profile's terms: ids 0-15, an odd one a name (the name bit is the lowest)
_PROFILES = st.lists(
    st.lists(st.integers(0, 15), min_size=1, max_size=12, unique=True).map(
        lambda terms: EventProfile(tuple(terms))
    ),
    min_size=1,
    max_size=8,
)


@given(
    st.lists(st.integers(0, 15), max_size=12, unique=True),
    _PROFILES,
    st.lists(st.sampled_from([0.0, 0.3, 1.0, 2.5]), min_size=16, max_size=16),
    st.sampled_from([0.1, 0.4, 0.9]),
)
def test_assign_event_joins_what_similarity_ranks_first(
    own: list[int], others: list[EventProfile], idf: list[float], threshold: float
) -> None:
    """However it cuts comparisons short (too few shared names), :func:`assign_event` joins
    the first of the most similar candidates at or above the threshold, by
    :func:`similarity`, and none when no candidate reaches it."""
    weights = dict(enumerate(idf))
    candidate = EventProfile(tuple(own))
    recent = [EventCandidate(f"e{n}", p, T0) for n, p in enumerate(others)]
    scores = [similarity(candidate, p, weights) for p in others]
    best = max(scores)
    expected = f"e{scores.index(best)}" if best >= threshold else None
    assert assign_event(candidate, T0, recent, weights, threshold=threshold) == expected


# --- in the store: events of stored items, bounded reads, digests ----------------------------

from monitor.digest import group_stories  # noqa: E402
from monitor.ingest import save_items  # noqa: E402
from monitor.model import Item, Reason, TopicMatch  # noqa: E402
from monitor.store import Store  # noqa: E402


class _Spec:
    def __init__(self, url: str, name: str) -> None:
        self.url, self.name, self.lang, self.interval = url, name, "en", None


def _item(key: str, text: tuple[str, str], at: datetime) -> Item:
    return Item(
        key=key,
        feed_url="x",
        title=text[0],
        summary=text[1],
        url=f"https://news.example/{key}",
        published=at,
        content_hash=f"hash-{key}",
    )


NORAD = [TopicMatch("norad", 5.0, "digest", (Reason("NORAD", "summary", 0, 4.0, "term"),))]


def _store_window(store: Store, feeds: int) -> list[int]:
    """Feeds named Outlet 0..n-1, and a day of unrelated local news in the window."""
    store.sync_feeds(
        [_Spec(f"https://o{n}.example/feed", f"Outlet {n}") for n in range(feeds)]
        + [_Spec("https://local.example/feed", "Local")],
        T0,
    )
    ids = {f.url: f.id for f in store.claim_due_feeds(T0, owner="w")}
    phrase = common_phrase_with_a_key()
    local = [_item(f"l{n}", filler(n, phrase), T0 - timedelta(hours=12)) for n in range(80)]
    save_items(store, ids["https://local.example/feed"], local, [], {}, T0 - timedelta(hours=12))
    return [ids[f"https://o{n}.example/feed"] for n in range(feeds)]


def test_stored_reports_of_one_event_share_it_and_digests_show_it_once(store: Store) -> None:
    feeds = _store_window(store, 6)
    for n, (feed, report) in enumerate(zip(feeds, RADAR_REPORTS, strict=True)):
        at = T0 + timedelta(minutes=20 * n)
        save_items(store, feed, [_item(f"r{n}", report, at)], [], {f"r{n}": NORAD}, at)
    at = T0 + timedelta(hours=3)
    save_items(store, feeds[0], [_item("x", NORAD_INTERCEPT, at)], [], {"x": NORAD}, at)

    stored = [store.item(url=f"https://news.example/r{n}") for n in range(6)]
    intercept = store.item(url="https://news.example/x")
    assert intercept is not None and all(s is not None for s in stored)
    matches = store.matches()
    by_item = {m.item_id: m for m in matches}
    radar_events = {by_item[s.id].event for s in stored if s is not None}
    assert len(radar_events) == 1 and None not in radar_events
    assert by_item[intercept.id].event not in radar_events
    # six stories (no two are copies), one event
    assert len({s.story for s in stored if s is not None}) == 6

    entries = group_stories(matches)
    assert len(entries) == 2
    radar = next(e for e in entries if e.lead.event in radar_events)
    assert sorted(radar.also_in) == sorted(
        f"Outlet {n}" for n in range(6) if f"Outlet {n}" != radar.lead.feed_name
    )
    outlets = store.event_outlets(events=radar_events)
    (event,) = radar_events
    assert [o.feed_name for o in outlets[event]] == [f"Outlet {n}" for n in range(6)]
    since = T0 + timedelta(minutes=50)
    assert len(store.event_outlets(since=since)[event]) == 3
    # a surge counts the event's outlets, not one story's copies
    (surging,) = store.signals.story_outlets(T0 - timedelta(hours=1))
    assert surging.story == event
    assert sorted(o.name for o in surging.outlets) == [f"Outlet {n}" for n in range(6)]


def test_events_of_items_written_here_are_what_another_store_reads(store: Store) -> None:
    """A store answers for the events of the items it wrote from memory; another store on the
    same database (a restarted daemon, a second process) reads them: the same events,
    profiles and times, a time given in another zone included."""
    feeds = _store_window(store, 2)
    ottawa = timezone(timedelta(hours=-5))
    save_items(store, feeds[0], [_item("r0", RADAR_REPORTS[0], T0)], [], {}, T0)
    at = (T0 + timedelta(minutes=30)).astimezone(ottawa)
    save_items(store, feeds[1], [_item("r1", RADAR_REPORTS[1], at)], [], {}, T0)
    with store.engine.connect() as conn:
        ids = {i for (i,) in conn.exec_driver_sql("SELECT item_id FROM item_events")}
    here = store.event_candidates(ids)
    other = Store.open(store.engine.url.render_as_string(hide_password=False))
    try:
        read = other.event_candidates(ids)
    finally:
        other.close()
    assert len(read) == len(ids) > 80
    assert here == read
    assert all(e.at is not None and e.at.utcoffset() is not None for e in here.values())


def test_tariff_announcements_a_day_apart_are_two_events_in_the_store(store: Store) -> None:
    feeds = _store_window(store, 3)
    save_items(store, feeds[0], [_item("d", TARIFF_DUTY, T0)], [], {}, T0)
    at = T0 + timedelta(hours=2)
    save_items(store, feeds[1], [_item("d2", TARIFF_DUTY_AGAIN, at)], [], {}, at)
    at = T0 + timedelta(days=1)
    save_items(store, feeds[2], [_item("a", TARIFF_ANSWER, at)], [], {}, at)
    outlets = store.event_outlets()
    by_feed = {o.feed_name: e for e, found in outlets.items() for o in found}
    assert by_feed["Outlet 0"] == by_feed["Outlet 1"] != by_feed["Outlet 2"]


def test_reports_in_one_batch_and_french_reports_are_grouped(store: Store) -> None:
    feeds = _store_window(store, 3)
    items = [_item("f0", RADAR_FR[0], T0), _item("o", OTHER_FR, T0), _item("f1", RADAR_FR[1], T0)]
    save_items(store, feeds[0], items, [], dict.fromkeys(("f0", "o", "f1"), NORAD), T0)
    event_of = {m.item_id: m.event for m in store.matches()}
    f0, o, f1 = (store.item(url=f"https://news.example/{k}") for k in ("f0", "o", "f1"))
    assert f0 is not None and o is not None and f1 is not None
    assert event_of[f0.id] == event_of[f1.id] != event_of[o.id]


def test_the_index_reads_each_terms_newest_carriers_and_counts_a_common_one(
    store: Store,
) -> None:
    """The term index answers, for each term, its newest carriers since the window's first
    item (at most the depth asked for), and for a term with that many or more only its
    count; a term nobody carries is left out. Both databases, the same answer."""
    from monitor.store import sql
    from monitor.store.events import event_terms_t

    rare, common, old_only, nobody = 11, 22, 33, 44
    rows = [(rare, i) for i in (5, 9, 40)] + [(common, i) for i in range(10, 60)]
    rows += [(old_only, 3)]
    with store.engine.begin() as conn:
        sql.bulk_insert(conn, event_terms_t, ("term", "item_id"), rows)
    with store.engine.connect() as conn:
        found = sql.newest_carriers(
            conn, event_terms_t, "term", [rare, common, old_only, nobody], 5, 24
        )
        counted = sql.newest_carriers(
            conn, event_terms_t, "term", [rare, common], 5, 24, full_only=True
        )
    assert found == {rare: (3, [40, 9, 5]), common: (24, list(range(59, 35, -1)))}
    assert counted == {rare: (3, [40, 9, 5]), common: (24, [])}
