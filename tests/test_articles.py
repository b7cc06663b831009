"""Article text end to end: ``monitor poll --once``, ``digest`` and ``explain`` as real
processes, a feed and its article pages served by the test feed server on 127.0.0.1, a SQLite
file and a webhook channel posting to the test receiver.

The feed's summaries are one line each; the topic's words are only in one article's body. That
item must match with reasons in ``body``, be delivered once (a second digest sends nothing),
and ``explain`` must show each body hit with the words around it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, SampleItem, rss_feed
from tests.receiver import Receiver
from tests.support import write_config
from tests.test_digest_cli import Setup

#: one topic of two groups: in the body alone (weight 0.5 by default) both must be found
WATCHLIST = """\
topics:
  - id: norad
    name: NORAD review
    description: The future and funding of NORAD.
    lang: [en]
    threshold: 2
    groups:
      norad:
        weight: 2
        terms: [{term: NORAD, case: sensitive}]
      radar:
        weight: 2
        terms: [over-the-horizon radar]
"""

FILLER = (
    "<p>Provincial premiers met in the afternoon to discuss health transfers, housing and the "
    "price of groceries, and agreed to meet again before the end of the season.</p>"
)


def article(title: str, key_paragraph: str) -> bytes:
    """A news page: navigation, an article of several paragraphs, a footer."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} | Capital News</title></head><body>"
        '<nav><a href="/">Home</a> <a href="/politics">Politics</a></nav>'
        f"<article><h1>{title}</h1>{FILLER}<p>{key_paragraph}</p>{FILLER}"
        "</article><footer>© Capital News. All rights reserved.</footer></body></html>"
    ).encode()


@dataclass
class Site:
    """The commands (as ``test_digest_cli`` runs them) and the feed server."""

    cli: Setup
    feeds: FeedServer

    @property
    def rx(self) -> Receiver:
        return self.cli.rx

    def ok(self, *args: str) -> str:
        return self.cli.ok(*args)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with FeedServer() as feeds, Receiver() as rx:
        budget = feeds.feed(
            "/news/budget",
            article(
                "Budget day in Ottawa",
                "The minister said the NORAD upgrade, including an over-the-horizon radar "
                "in the Arctic, will be funded over twenty years.",
            ),
            content_type="text/html; charset=utf-8",
        )
        roads = feeds.feed(
            "/news/roads",
            article("Road repairs", "Crews will start on the bridge in the spring."),
            content_type="text/html; charset=utf-8",
        )
        long_summary = "A long summary of the council meeting. " * 12  # >= 400 characters
        council = feeds.feed("/news/council", article("Council", "Nothing of note."))
        feed = feeds.feed(
            "/feed.xml",
            rss_feed(
                "Capital News",
                [
                    SampleItem("Budget day in Ottawa", link=budget, summary="The budget is out."),
                    SampleItem("Road repairs", link=roads, summary="Crews get ready."),
                    SampleItem("Council meets", link=council, summary=long_summary),
                ],
            ),
        )
        config = write_config(
            tmp_path,
            f"""
            polling: {{fulltext: auto, contact: "https://example.org/monitor-ops"}}
            feeds:
              - {{url: "{feed}", name: Capital News, lang: en}}
            channels:
              - {{name: hook, type: webhook, url: "{rx.url("/hook")}", secret: "${{HOOK_SECRET}}"}}
            """,
            WATCHLIST,
        )
        yield Site(Setup(config, rx, f"sqlite:///{tmp_path / 'monitor.db'}"), feeds)


@pytest.mark.slow
def test_a_topic_only_in_the_body_matches_names_the_body_and_is_delivered_once(
    site: Site,
) -> None:
    printed = site.ok("poll", "--once")
    assert "article text: 2 fetched, 0 not; 1 new match(es) from the body" in printed
    # the long summary was enough: its article was not fetched
    assert site.feeds.count("/news/council") == 0
    [request] = site.feeds.requests("/news/budget")
    agent = request.header("user-agent") or ""
    assert agent.startswith("policy-monitor/") and "https://example.org/monitor-ops" in agent

    store = site.cli.store()
    try:
        [match] = store.matches(limit=None)
        assert match.title == "Budget day in Ottawa" and match.topic == "norad"
        assert {r.field for r in match.reasons} == {"body"}
        states = {}
        for item_id in (1, 2, 3):
            item, state = store.item(item_id), store.articles.state(item_id)
            assert item is not None and state is not None
            states[item.title] = state
    finally:
        store.close()
    assert states["Budget day in Ottawa"].status == "ok"
    assert "over-the-horizon radar" in (states["Budget day in Ottawa"].text or "")
    assert "All rights reserved" not in (states["Road repairs"].text or "")
    assert states["Council meets"].status == "skipped"

    site.ok("digest", "--channel", "hook")
    sent = [m["title"] for r in site.rx.requests for m in r.json()["matches"]]
    assert sent == ["Budget day in Ottawa"]
    # polled again: the feed is unchanged, the articles are not fetched again, nothing is sent
    site.ok("poll", "--once", "--all")
    site.ok("digest", "--channel", "hook")
    assert len(site.rx.requests) == 1
    assert site.feeds.count("/news/budget") == 1


@pytest.mark.slow
def test_explain_shows_each_body_hit_with_the_words_around_it(site: Site) -> None:
    site.ok("poll", "--once")
    shown = site.ok("explain", "--item", "1")
    assert "article: " in shown and "characters of text, scored as body" in shown
    assert "'NORAD' in body@" in shown and "'over-the-horizon radar' in body@" in shown
    assert "the NORAD upgrade, including an over-the-horizon radar" in shown
    data = json.loads(site.ok("explain", "--item", "1", "--format", "json"))
    [norad] = [t for t in data if t["topic"] == "norad"]
    assert norad["matched"]
    for reason in norad["reasons"]:
        assert reason["field"] == "body"
        assert reason["term"] in reason["snippet"]
    skipped = site.ok("explain", "--item", "3")
    assert "article: not fetched (summary of" in skipped


@pytest.mark.slow
def test_poll_once_can_leave_the_articles_of_a_first_poll_for_later(site: Site) -> None:
    printed = site.ok("poll", "--once", "--no-backlog-articles")
    assert "3 item(s) from feeds' first polls left for `monitor run`" in " ".join(printed.split())
    assert site.feeds.count("/news/budget") == 0 and site.feeds.count("/news/roads") == 0
    # a poll that takes them (the default) fetches them
    printed = site.ok("poll", "--once")
    assert "article text: 2 fetched, 0 not; 1 new match(es) from the body" in printed
