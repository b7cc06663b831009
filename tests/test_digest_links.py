"""Feedback links in digests: each match's "open" and "not relevant" links, signed, in email
and Slack; a click on the link a real Slack post carried records the judgement once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import unquote

import httpx
import pytest

from monitor.channels import SlackChannel
from monitor.deliver.slack import SlackSender
from monitor.digest import build_digest
from monitor.link_handler import link_page, link_submit
from monitor.links import DigestLinks, verify_token
from monitor.render import email_message, slack_messages
from monitor.store import Store
from tests.receiver import Receiver
from tests.test_feedback_store import NOW, _stored
from tests.test_render import HOSTILE, digest, entry, hostile_digest, record

SECRET = "digest-link-secret-0123"
LINKS = DigestLinks("https://monitor.example.org/base/", SECRET)
TOPICS = {"norad": "NORAD review"}
_TOKEN = re.compile(r"https://monitor\.example\.org/base/f/([A-Za-z0-9_%.-]+)")


def _tokens(text: str) -> list[str]:
    return [unquote(t) for t in _TOKEN.findall(text)]


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def test_each_story_of_an_email_carries_its_signed_links() -> None:
    d = digest([entry(record(1)), entry(record(2, topic="tariffs"))])
    msg = email_message(d, sender="m@example.org", to=["a@example.org"], links=LINKS)
    html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    parser = _Anchors()
    parser.feed(html)
    tokens = _tokens(" ".join(parser.hrefs))
    assert tokens == _tokens(text) and len(tokens) == 4
    claims = [verify_token(SECRET, t, d.window_end) for t in tokens]
    assert [(c.item_id, c.topic, c.verdict) for c in claims] == [
        (1001, "norad", "open"),
        (1001, "norad", "not_relevant"),
        (1002, "tariffs", "open"),
        (1002, "tariffs", "not_relevant"),
    ]
    assert all(c.expires == d.window_end + LINKS.ttl for c in claims)
    # the same digest rendered again (a retry) carries the same links
    again = email_message(d, sender="m@example.org", to=["a@example.org"], links=LINKS)
    assert again.get_body(preferencelist=("plain",)).get_content() == text  # type: ignore[union-attr]


def test_without_links_configured_a_digest_has_none() -> None:
    d = digest([entry(record(1))])
    assert "/f/" not in str(email_message(d, sender="m@example.org", to=["a@example.org"]))
    assert "/f/" not in str(slack_messages(d))


def test_hostile_titles_stay_inert_next_to_the_links() -> None:
    d = hostile_digest()
    html = email_message(d, sender="m@example.org", to=["a@example.org"], links=LINKS)
    body = html.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    parser = _Anchors()
    parser.feed(body)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert all(h.startswith("https://") for h in parser.hrefs)
    assert len(_tokens(" ".join(parser.hrefs))) == 2 * (len(HOSTILE) + 1)
    texts = [
        b["text"]["text"]
        for m in slack_messages(d, LINKS)
        for b in m["blocks"]
        if b["type"] == "section"
    ]
    assert len(texts) == len(HOSTILE) + 1
    for t in texts:
        assert "<!channel>" not in t and "<http://evil" not in t
        assert t.endswith("|Not relevant>") and len(_tokens(t)) == 2


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as c:
        yield c


async def test_a_not_relevant_link_posted_to_slack_records_once(
    store: Store, rx: Receiver, client: httpx.AsyncClient
) -> None:
    _stored(
        store, {"a": ["norad"], "b": ["norad"]}, {"a": "NORAD tracks Santa", "b": "NORAD budget"}
    )
    built = build_digest(
        "team", store.matches(), window_start=None, window_end=NOW, topic_names=TOPICS
    )
    channel = SlackChannel(name="team", type="slack", webhook_url=rx.url("/services/T/B/x"))
    await SlackSender(channel, client, pause_s=0, links=LINKS).send(built)
    [posted] = rx.requests
    sections = [b["text"]["text"] for b in posted.json()["blocks"] if b["type"] == "section"]
    santa = next(s for s in sections if "Santa" in s)
    _open, reject = _tokens(santa)

    shown = link_page(store, reject, secret=SECRET, now=NOW, topic_names=TOPICS)
    assert shown.status == 200 and "NORAD tracks Santa" in shown.html
    assert store.feedback.history() == []  # opening the link records nothing
    later = NOW + timedelta(days=1)
    assert (
        link_submit(store, reject, {}, secret=SECRET, now=later, topic_names=TOPICS).status == 200
    )
    again = link_submit(store, reject, {}, secret=SECRET, now=later, topic_names=TOPICS)
    assert "already used" in again.html
    [j] = store.feedback.history()
    assert (j.title, j.verdict, j.kind, j.via) == (
        "NORAD tracks Santa",
        "not_relevant",
        "false positive",
        "link",
    )
    expired = NOW + LINKS.ttl + timedelta(seconds=1)
    assert link_page(store, _open, secret=SECRET, now=expired, topic_names=TOPICS).status == 410
