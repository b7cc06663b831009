"""The pure planner (monitor.plan): what a batch of polls writes, given what is stored.

No database: the known state is written out as the store would answer it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor import stories
from monitor.cadence import CadencePolicy
from monitor.intents import Facts, Known, MatchWrites, StoredText, WritePlan
from monitor.model import FeedState, FetchResult, Item, Reason, TopicMatch
from monitor.plan import STORY_WINDOW, Outcome, Poll, Rules, match_writes, plan, since
from tests.phrases import STOCK, stock_item

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
FEED = "https://a.example/feed"
WIRE = (
    "Canada and the United States agreed on Tuesday to a joint review of NORAD's early "
    "warning radars in the Arctic, with a report due to both governments by next spring."
)
OTHER = "The city council approved a new budget for road repairs after a long debate."


def item(key: str, title: str = "NORAD plan", *, url: str | None = None, **kw: object) -> Item:
    summary = str(kw.pop("summary", WIRE))
    return Item(
        key=key,
        feed_url=FEED,
        title=title,
        summary=summary,
        url=url,
        published=kw.pop("published", NOW - timedelta(hours=1)),  # type: ignore[arg-type]
        content_hash=str(kw.pop("h", f"hash-{title}-{summary[:10]}")),
    )


def match(topic: str = "norad", severity: str = "digest") -> TopicMatch:
    reason = Reason("NORAD", "title", 0, 4.0, "group:norad")  # type: ignore[arg-type]
    return TopicMatch(topic, 5.0, severity, (reason,), urgent=severity == "alert")


class Matcher:
    def score(
        self, title: str, summary: str, lang: str | None = None, body: str = ""
    ) -> list[TopicMatch]:
        return [match()] if "NORAD" in title else []


def decide(
    polls: list[Poll],
    *,
    known: Known | None = None,
    facts: Facts | None = None,
    stored: dict[int, StoredText] | None = None,
    rules: Rules | None = None,
) -> WritePlan:
    return plan(
        polls,
        known or Known(),
        facts or Facts(),
        stored or {},
        rules or Rules(CadencePolicy(jitter=0.0), Matcher()),
        random.Random(0),
    )


def stored_copy(item_id: int, story: str, title: str = "NORAD plan", summary: str = WIRE):
    sig = stories.signature(title, summary)
    return sig, StoredText(item_id, title, summary, stories.signature_to_bytes(sig), story)


# --- new, seen, changed --------------------------------------------------------------------------


def test_a_new_item_is_inserted_linked_scored_and_starts_a_story() -> None:
    written = decide([Poll(1, NOW, [item("k1", url="https://a.example/1")])])
    [new] = written.new
    assert new.item.key == "k1" and new.new_story
    assert new.story == stories.story_id_for(f"{FEED}|k1")
    assert new.matches == (match(),) and new.now == NOW
    assert new.keys == tuple(sorted(set(stories.signature("NORAD plan", WIRE).keys)))
    [link] = written.links
    assert (link.feed_id, link.key, link.fresh, link.stored) == (1, "k1", 0, None)
    [feed] = written.feeds
    assert (feed.saved.new_items, feed.saved.new_matches, feed.saved.topics) == (1, 1, ("norad",))
    assert feed.update is None  # no fetch outcome: no poll to record


@pytest.mark.parametrize(
    ("stored_hash", "new", "changed"),
    [
        (None, 1, 0),  # never seen
        ("same", 0, 0),  # unchanged
        ("before", 0, 1),  # its text changed
    ],
)
def test_items_are_new_unchanged_or_changed_by_their_stored_hash(
    stored_hash: str | None, new: int, changed: int
) -> None:
    it = item("k", h="same")
    known = Known({(1, "k"): stored_hash} if stored_hash else {})
    amended = {(1, "k"): StoredText(7, "NORAD plan", WIRE, None)}
    written = decide([Poll(1, NOW, [it])], known=known, facts=Facts(amended=amended))
    assert (len(written.new), len(written.amends)) == (new, changed)
    assert (written.feeds[0].saved.new_items, written.feeds[0].saved.changed_items) == (
        new,
        changed,
    )


def test_an_amended_title_keeps_the_one_readers_saw_and_rescored_matches_count_if_raised() -> None:
    before = "NORAD plan"
    it = item("k", "NORAD plan announced", url="https://a.example/1")
    stored = StoredText(7, before, WIRE, None, severities={"norad": "digest"})
    raised = Poll(1, NOW, [it], matches={"k": [match(severity="alert")]})
    written = decide(
        [raised],
        known=Known({(1, "k"): "old-hash"}),
        facts=Facts(amended={(1, "k"): stored}),
    )
    [amend] = written.amends
    assert (amend.item_id, amend.title_before, amend.item.title) == (7, before, it.title)
    assert amend.matches.raised and not amend.matches.new
    assert amend.old_keys == tuple(sorted(set(stories.signature(before, WIRE).keys)))
    assert written.feeds[0].saved.topics == ("norad",)
    assert written.new == () and written.links == ()


def test_a_changed_item_whose_stored_row_is_gone_is_skipped() -> None:
    written = decide([Poll(1, NOW, [item("k")])], known=Known({(1, "k"): "old"}))
    assert written.amends == () and written.feeds[0].saved.changed_items == 0


@pytest.mark.parametrize(
    ("title", "old_key_present", "amends", "new"),
    [
        ("NORAD plan", False, 0, 0),  # same text under a new guid: seen
        ("NORAD plan, updated", False, 1, 0),  # and edited: the old item, changed
        ("NORAD plan", True, 0, 1),  # the old guid is still there: two entries, one link
    ],
)
def test_an_item_republished_under_a_new_guid_keeps_its_first_key(
    title: str, old_key_present: bool, amends: int, new: int
) -> None:
    url = "https://a.example/norad"
    old_hash = item("guid-1", url=url).content_hash
    items = [item("guid-2", title, url=url)]
    if old_key_present:
        items.append(item("guid-1", url=url))
    known = Known(
        {(1, "guid-1"): old_hash} if old_key_present else {},
        {(1, url): ("guid-1", old_hash)},
    )
    facts = Facts(
        items_by_url={url: 3}, amended={(1, "guid-1"): StoredText(3, "NORAD plan", WIRE, None)}
    )
    written = decide([Poll(1, NOW, items)], known=known, facts=facts)
    assert len(written.amends) == amends
    assert all(a.item.key == "guid-1" for a in written.amends)
    assert len(written.links) == new
    assert all(link.stored == 3 for link in written.links)  # same URL: linked, not stored


def test_an_item_without_guid_or_url_is_new_by_its_key_and_never_linked() -> None:
    written = decide([Poll(1, NOW, [item("sha:abc", url=None)])], facts=Facts(items_by_url={}))
    [link] = written.links
    assert link.fresh == 0 and written.new[0].item.url is None


def test_two_copies_in_one_poll_are_stored_once() -> None:
    url = "https://a.example/1"
    twice = [item("k", url=url), item("k", url=url), item("k2", url=url)]
    written = decide([Poll(1, NOW, twice)])
    assert len(written.new) == 1  # the repeated key counts once
    assert [(link.key, link.fresh) for link in written.links] == [("k", 0), ("k2", 0)]
    saved = written.feeds[0].saved
    assert (saved.new_items, saved.linked_items) == (1, 1)


def test_a_url_stored_by_another_feed_is_linked_not_stored_again() -> None:
    url = "https://wire.example/1"
    written = decide([Poll(2, NOW, [item("b", url=url)])], facts=Facts(items_by_url={url: 9}))
    assert written.new == ()
    [link] = written.links
    assert (link.feed_id, link.stored) == (2, 9)
    assert written.feeds[0].saved.linked_items == 1


# --- stories -------------------------------------------------------------------------------------


def test_a_copy_joins_the_story_of_a_stored_item_carrying_its_keys() -> None:
    sig, stored = stored_copy(5, "wire-story")
    copy = item("c", "Ottawa's NORAD plan", summary="OTTAWA — " + WIRE)
    facts = Facts(carriers={k: [5] for k in sig.keys})
    written = decide([Poll(1, NOW, [copy])], facts=facts, stored={5: stored})
    [new] = written.new
    assert (new.story, new.new_story) == ("wire-story", False)


def test_an_unrelated_item_starts_its_own_story_though_it_shares_a_key() -> None:
    sig, stored = stored_copy(5, "council-story", "Budget", OTHER)
    facts = Facts(carriers={k: [5] for k in stories.signature("NORAD plan", WIRE).keys})
    written = decide([Poll(1, NOW, [item("n")])], facts=facts, stored={5: stored})
    assert written.new[0].new_story


def test_a_stored_item_without_a_story_is_not_compared() -> None:
    sig, stored = stored_copy(5, "s")
    no_story = StoredText(5, stored.title, stored.summary, stored.sketch, None)
    facts = Facts(carriers={k: [5] for k in sig.keys})
    written = decide([Poll(1, NOW, [item("c")])], facts=facts, stored={5: no_story})
    assert written.new[0].new_story


def test_copies_in_one_batch_share_a_story_across_feeds() -> None:
    a = Poll(1, NOW, [item("a", url="https://a.example/1")])
    b = Poll(2, NOW, [item("b", "Ottawa's NORAD plan", url="https://b.example/1")])
    written = decide([a, b])
    first, second = written.new
    assert first.new_story and not second.new_story and second.story == first.story


def window_of(stored: dict[int, StoredText]) -> Facts:
    """The index's answer for stored items: each key's carriers, newest (largest id) first."""
    carriers: dict[int, list[int]] = {}
    for item_id in sorted(stored, reverse=True):
        sketch = stored[item_id].sketch
        assert sketch is not None
        for key in stories.signature_from_bytes(sketch).keys:
            carriers.setdefault(key, []).append(item_id)
    return Facts(carriers=carriers)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_item_sharing_only_a_stock_sentence_with_stored_ones_starts_its_own_story(
    lang: str,
) -> None:
    stored = {10 + n: stored_copy(10 + n, f"story{n}", *stock_item(n, lang))[1] for n in range(6)}
    title, summary = stock_item(99, lang)
    sig = stories.signature(title, summary)
    # by similarity alone it would join one of them
    recent = [(s.story or "", stories.signature(s.title, s.summary)) for s in stored.values()]
    assert stories.assign_story(sig, recent) is not None
    new = item("n", title, summary=summary)
    written = decide([Poll(1, NOW, [new])], facts=window_of(stored), stored=stored)
    assert written.new[0].new_story


def test_a_copy_of_a_wire_story_stored_by_twenty_outlets_joins_it() -> None:
    text = f"{WIRE} {STOCK['en']}"
    stored = {100 + n: stored_copy(100 + n, "wire-story", summary=text)[1] for n in range(20)}
    stored |= {10 + n: stored_copy(10 + n, f"story{n}", *stock_item(n))[1] for n in range(6)}
    copy = item("c", "Ottawa's NORAD review", summary="OTTAWA (CP) — " + text)
    written = decide([Poll(1, NOW, [copy])], facts=window_of(stored), stored=stored)
    [new] = written.new
    assert (new.story, new.new_story) == ("wire-story", False)


def test_story_candidates_are_looked_for_within_the_window() -> None:
    polls = [Poll(1, NOW, []), Poll(2, NOW - timedelta(minutes=5), [])]
    assert since(polls) == NOW - timedelta(minutes=5) - STORY_WINDOW


# --- matches -------------------------------------------------------------------------------------


def test_alerts_of_a_first_poll_are_held_for_the_digest() -> None:
    rules = Rules(matcher=Matcher(), alert_max_age_s=3600.0)
    alert = {"k": [match(severity="alert")]}
    fresh = decide([Poll(1, NOW, [item("k")], matches=alert)], rules=rules)
    backlog = decide([Poll(1, NOW, [item("k")], matches=alert, backlog=True)], rules=rules)
    assert fresh.new[0].matches[0].severity == "alert"
    assert backlog.new[0].matches[0].severity == "digest"


def test_worker_scores_are_used_and_missing_ones_scored_with_the_matcher() -> None:
    polls = [Poll(1, NOW, [item("a"), item("b", "Budget", url="https://a.example/b")], {}, {})]
    written = decide(polls, rules=Rules(matcher=Matcher()))
    assert [n.matches for n in written.new] == [(match(),), ()]
    no_matcher = decide(polls, rules=Rules())
    assert [n.matches for n in no_matcher.new] == [(), ()]


@pytest.mark.parametrize(
    ("before", "severity", "expected"),
    [
        ({}, "digest", MatchWrites(new=(match(),))),
        ({"norad": "digest"}, "alert", MatchWrites(raised=(match(severity="alert"),))),
        ({"norad": "alert"}, "digest", MatchWrites(refreshed=(match(),))),
    ],
)
def test_match_writes(before: dict[str, str], severity: str, expected: MatchWrites) -> None:
    assert match_writes(before, [match(severity=severity)]) == expected


# --- the next poll -------------------------------------------------------------------------------

STATE = FeedState(1, FEED, last_success_at=NOW - timedelta(hours=1))


@pytest.mark.parametrize(
    ("result", "reason", "delay", "failures"),
    [
        (FetchResult(FEED, "not_modified", status=304), "interval", 900.0, 0),
        (
            FetchResult(FEED, "error", status=500, error_kind="http", error="500"),
            "backoff",
            120.0,
            1,
        ),
        (
            FetchResult(FEED, "error", status=410, error_kind="gone", error="gone"),
            "gone",
            3600.0,
            1,
        ),
    ],
)
def test_each_poll_plans_its_next_one(
    result: FetchResult, reason: str, delay: float, failures: int
) -> None:
    written = decide([Poll(1, NOW, outcome=Outcome(STATE, result))])
    [feed] = written.feeds
    assert feed.update is not None
    assert feed.update.next_poll_reason == reason
    assert feed.update.next_poll_at == NOW + timedelta(seconds=delay)
    assert feed.update.consecutive_failures == failures
    assert feed.update.success is (result.outcome != "error")


def test_a_poll_with_new_items_records_its_validators_and_cut() -> None:
    result = FetchResult(FEED, "ok", status=200, etag='"v2"', body_hash="b2")
    poll = Poll(1, NOW, [item("k")], outcome=Outcome(STATE, result, cut=3))
    [feed] = decide([poll]).feeds
    assert feed.update is not None
    assert (feed.update.etag, feed.update.body_hash, feed.update.entries_cut) == ('"v2"', "b2", 3)
    assert feed.update.polled_at == NOW


def test_an_outcome_needs_a_policy() -> None:
    with pytest.raises(ValueError, match="cadence policy"):
        decide([Poll(1, NOW, outcome=Outcome(STATE, FetchResult(FEED, "ok")))], rules=Rules())
