"""Alerts that mean "now": an escalation alerts, routine news and stale news go to the digest.

The rules: a match is an alert only when its topic's ``alert_when`` condition holds (an
escalation term near the topic's core terms), and never when the item came with its feed's
first poll (the backlog) or was published more than ``polling.alert_max_age`` ago. The pure
decision is tested by itself, then through the real pipeline: a feed served on 127.0.0.1,
fetched, parsed, scored and stored in a SQLite file, polled twice.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cadence import CadencePolicy
from monitor.config import FeedSpec
from monitor.fetch import Fetcher
from monitor.model import Reason, TopicMatch
from monitor.pipeline import Pipeline
from monitor.poller import run_cycle
from monitor.score.engine import compile_topics
from monitor.score.freshness import HELD, hold_stale_alerts
from monitor.store import Store
from monitor.urls import canonical_url
from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.test_score_engine import topics_from

NOW = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

WATCHLIST = """\
topics:
  - id: norad
    name: NORAD review
    description: The future and political status of NORAD.
    threshold: 3
    groups:
      norad: {weight: 3, terms: [NORAD, North Warning System]}
      escalation:
        weight: 0
        terms: ["withdraw*", "terminat*", "suspend*", "expel*", "retaliat*",
                suspendre, mettre fin, met fin]
    alert_when: {near: [escalation, norad], within: 8}
"""

ESCALATION = (
    "Ottawa recalls ambassador as U.S. threatens to suspend NORAD intelligence feeds",
    "The White House said it could suspend NORAD cooperation within weeks.",
)
ROUTINE = (
    "NORAD holds its annual exercise over the Yukon",
    "Jets from both countries will fly over the territory this week.",
)


def alert(topic: str = "norad") -> TopicMatch:
    return TopicMatch(topic, 9.0, "alert", (Reason("NORAD", "title", 0, 6.0, "group norad"),))


@pytest.mark.parametrize(
    ("published", "backlog", "held"),
    [
        (NOW - HOUR, False, False),  # fresh news
        (None, False, False),  # no date: judged by the poll alone
        (NOW + HOUR, False, False),  # a clock ahead of ours
        (NOW - 11 * HOUR, False, False),
        (NOW - 13 * HOUR, False, True),  # older than the 12 h default
        (NOW - 40 * HOUR, False, True),
        (NOW - HOUR, True, True),  # a feed's first poll: its backlog
        (None, True, True),
    ],
)
def test_stale_alerts_are_held_for_the_digest(
    published: datetime | None, backlog: bool, held: bool
) -> None:
    digest = TopicMatch("tariffs", 4.0, "digest")
    out = hold_stale_alerts(
        [alert(), digest], published=published, now=NOW, backlog=backlog, max_age_s=12 * 3600
    )
    assert out[1] == digest
    if held:
        assert out[0].severity == "digest" and not out[0].urgent
        assert out[0].score == 9.0 and out[0].reasons[0] == alert().reasons[0]
        assert out[0].reasons[-1].rule == HELD
        assert ("first poll" in out[0].reasons[-1].term) == backlog
    else:
        assert out[0] == alert()


def test_the_age_limit_is_a_setting() -> None:
    two_hours_old = NOW - 2 * HOUR
    kept = hold_stale_alerts(
        [alert()], published=two_hours_old, now=NOW, backlog=False, max_age_s=3 * 3600
    )
    held = hold_stale_alerts(
        [alert()], published=two_hours_old, now=NOW, backlog=False, max_age_s=3600
    )
    assert kept[0].severity == "alert" and held[0].severity == "digest"
    assert "2 h before it was polled" in held[0].reasons[-1].term


def test_an_alert_comes_from_the_escalation_condition_not_the_score() -> None:
    matcher = compile_topics(topics_from(WATCHLIST))
    (escalation,) = matcher.score(*ESCALATION, "en")
    (routine,) = matcher.score(*ROUTINE, "en")
    assert escalation.severity == "alert"
    assert routine.severity == "digest"
    # a routine item that scores as high does not alert
    (busy,) = matcher.score(
        "NORAD and the North Warning System: NORAD exercise", "NORAD jets fly.", "en"
    )
    assert busy.score >= escalation.score and busy.severity == "digest"
    # the explanation names the condition and shows the escalation it found
    (why,) = matcher.explain(*ESCALATION, "en")
    assert "alert_when near(escalation, norad; within 8 words) holds" in why.detail
    shown = [r for r in why.reasons if r.rule.startswith("alert_when")]
    assert shown and "suspend" in shown[0].term and "NORAD" in shown[0].term
    (quiet,) = matcher.explain(*ROUTINE, "en")
    assert quiet.severity == "digest" and "alert_when" not in quiet.detail


def test_a_french_escalation_alerts() -> None:
    matcher = compile_topics(topics_from(WATCHLIST))
    (m,) = matcher.score(
        "Washington menace de mettre fin au NORAD", "Ottawa dénonce la menace.", "fr"
    )
    assert m.severity == "alert"


def test_alert_at_is_a_minimum_score_alongside_the_condition() -> None:
    matcher = compile_topics(
        topics_from(WATCHLIST.replace("threshold: 3", "threshold: 3\n    alert_at: 20"))
    )
    (m,) = matcher.score(*ESCALATION, "en")
    assert m.severity == "digest"
    (why,) = matcher.explain(*ESCALATION, "en")
    assert "holds but the score is below alert_at 20" in why.detail


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_backlog_old_escalation_and_routine_items_through_the_pipeline(
    tmp_path: Path,
) -> None:
    def item(name: str, text: tuple[str, str], published: datetime) -> SampleItem:
        return SampleItem(
            text[0], link=f"https://news.example.org/{name}", summary=text[1], published=published
        )

    backlog = [item("backlog", ESCALATION, NOW - HOUR)]
    later = [
        *backlog,
        item("fresh", ESCALATION, NOW + HOUR),
        item("old", (ESCALATION[0] + " again", ESCALATION[1]), NOW - 30 * HOUR),
        item("routine", ROUTINE, NOW + HOUR),
    ]
    clock = Clock(NOW)
    store = Store.open(f"sqlite:///{tmp_path / 'alerts.db'}")
    fetcher = Fetcher(timeout_s=2.0, deadline_s=5.0, max_bytes=200_000)
    matcher = compile_topics(topics_from(WATCHLIST))
    pipeline = Pipeline(
        store,
        fetcher,
        lambda: matcher,
        CadencePolicy(interval_s=900.0, jitter=0.0),
        clock=clock,
        rng=random.Random(3),
    )
    try:
        with FeedServer() as server:
            url = server.feed("/wire.xml", rss_feed("Wire", backlog))
            store.sync_feeds([FeedSpec(url=url, name="Wire")], NOW)
            first = await run_cycle(pipeline, urls=[url])
            assert first.polls[0].new_matches == 1
            server.feed("/wire.xml", rss_feed("Wire", later))
            clock.now = NOW + 2 * HOUR
            second = await run_cycle(pipeline, urls=[url])
            assert second.polls[0].new_matches == 3

            def severity(name: str) -> tuple[str, tuple[str, ...]]:
                stored = store.item(url=canonical_url(f"https://news.example.org/{name}"))
                assert stored is not None
                (m,) = stored.matches
                return m.severity, tuple(r.rule for r in m.reasons)

            assert severity("backlog")[0] == "digest"
            assert HELD in severity("backlog")[1]
            assert severity("old")[0] == "digest"
            assert HELD in severity("old")[1]
            assert severity("routine") == ("digest", severity("routine")[1])
            assert HELD not in severity("routine")[1]
            assert severity("fresh")[0] == "alert"
    finally:
        pipeline.close()
        await fetcher.aclose()
        store.close()


async def test_the_settings_reach_the_pipeline(tmp_path: Path) -> None:
    from monitor.cli.runtime import make_pipeline
    from monitor.config import load_config
    from tests.support import write_config

    default = load_config(write_config(tmp_path))
    assert (default.polling.alert_max_age, default.polling.first_poll_alerts) == (43200.0, False)
    cfg = load_config(
        write_config(tmp_path, "polling: {alert_max_age: 2h, first_poll_alerts: true}\n")
    )
    store = Store.open(f"sqlite:///{tmp_path / 'settings.db'}")
    fetcher = Fetcher()
    pipeline = make_pipeline(cfg, store, fetcher, lambda: compile_topics(cfg.topics))
    try:
        assert (pipeline.alert_max_age_s, pipeline.first_poll_alerts) == (7200.0, True)
    finally:
        pipeline.close()
        await fetcher.aclose()
        store.close()
