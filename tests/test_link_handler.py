"""Digest feedback links against a real store: confirm, record, expiry, tampering, replay."""

from __future__ import annotations

from datetime import timedelta

from monitor.link_handler import link_page, link_submit
from monitor.links import sign_token
from monitor.store import Store
from tests.test_feedback_store import NOW, _stored

SECRET = "link-secret-0123456789"
TOPICS = {"norad": "NORAD review", "tariffs": "Tariffs"}
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _token(item_id: int, verdict: str = "not_relevant", topic: str = "norad") -> str:
    return sign_token(SECRET, item_id, topic, verdict, NOW + timedelta(days=14))  # type: ignore[arg-type]


def test_get_confirms_without_recording_and_post_records(store: Store) -> None:
    ids = _stored(store, {"a": ["norad"]}, {"a": "NORAD tracks Santa " + HOSTILE})
    [item_id] = ids.values()
    token = _token(item_id)
    page = link_page(
        store, token, secret=SECRET, now=NOW, topic_names=TOPICS, hidden=[("csrf", "c1")]
    )
    assert page.status == 200
    assert (
        'name="verdict" value="not_relevant"' in page.html and 'value="relevant"' not in page.html
    )
    assert 'name="csrf" value="c1"' in page.html and f'action="/f/{token}"' in page.html
    assert "<script>" not in page.html and "<img" not in page.html and "&lt;script&gt;" in page.html
    assert store.feedback.history() == []

    done = link_submit(store, token, {}, secret=SECRET, now=NOW, topic_names=TOPICS, user="ana")
    assert done.status == 200 and "Recorded: not relevant to NORAD review" in done.html
    [j] = store.feedback.history()
    assert (j.item_id, j.topic, j.verdict, j.via, j.user) == (
        item_id,
        "norad",
        "not_relevant",
        "link",
        "ana",
    )


def test_a_replayed_link_changes_nothing(store: Store) -> None:
    ids = _stored(store, {"a": ["norad"]}, {"a": "NORAD tracks Santa"})
    [item_id] = ids.values()
    token = _token(item_id)
    link_submit(store, token, {}, secret=SECRET, now=NOW, topic_names=TOPICS)
    store.feedback.record(item_id, "norad", "relevant", now=NOW + timedelta(minutes=1), via="web")
    later = NOW + timedelta(hours=2)
    again = link_submit(store, token, {}, secret=SECRET, now=later, topic_names=TOPICS)
    assert (
        again.status == 200 and "already used" in again.html and "nothing was changed" in again.html
    )
    assert [j.verdict for j in store.feedback.standing()] == ["relevant"]
    assert len(store.feedback.history()) == 2
    page = link_page(store, token, secret=SECRET, now=later, topic_names=TOPICS)
    assert "Already recorded" in page.html and "<button" not in page.html


def test_an_open_link_lets_the_holder_choose_and_a_reject_link_does_not(store: Store) -> None:
    ids = _stored(store, {}, {"a": "Radar upgrade in the North"})
    [item_id] = ids.values()
    open_token = _token(item_id, "open")
    page = link_page(store, open_token, secret=SECRET, now=NOW, topic_names=TOPICS)
    assert 'value="relevant"' in page.html and 'value="not_relevant"' in page.html
    assert "not matched by the topic" in page.html
    # the item as the pages show it: who carried it, and its story's page
    assert f'href="/stories/{item_id}"' in page.html and '<li dir="auto">Feed · ' in page.html
    done = link_submit(
        store, open_token, {"verdict": "relevant"}, secret=SECRET, now=NOW, topic_names=TOPICS
    )
    assert done.status == 200
    [j] = store.feedback.standing()
    assert j.kind == "miss"

    reject = _token(item_id, "not_relevant", topic="tariffs")
    refused = link_submit(
        store, reject, {"verdict": "relevant"}, secret=SECRET, now=NOW, topic_names=TOPICS
    )
    assert refused.status == 400 and "records not relevant, not &#39;relevant&#39;" in refused.html
    assert len(store.feedback.history()) == 1


def test_expired_tampered_and_unknown_links_record_nothing(store: Store) -> None:
    ids = _stored(store, {"a": ["norad"]}, {"a": "NORAD tracks Santa"})
    [item_id] = ids.values()
    token = _token(item_id)
    late = NOW + timedelta(days=15)
    for answer in (
        link_page(store, token, secret=SECRET, now=late, topic_names=TOPICS),
        link_submit(store, token, {}, secret=SECRET, now=late, topic_names=TOPICS),
    ):
        assert answer.status == 410 and "expired" in answer.html
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert link_submit(store, forged, {}, secret=SECRET, now=NOW, topic_names=TOPICS).status == 403
    other = sign_token("another-secret-0123456789", item_id, "norad", "not_relevant", late)
    assert link_submit(store, other, {}, secret=SECRET, now=NOW, topic_names=TOPICS).status == 403
    assert (
        link_submit(store, "garbage", {}, secret=SECRET, now=NOW, topic_names=TOPICS).status == 400
    )
    gone_topic = _token(item_id, topic="arctic")
    assert (
        link_submit(store, gone_topic, {}, secret=SECRET, now=NOW, topic_names=TOPICS).status == 404
    )
    no_item = _token(item_id + 1000)
    assert link_page(store, no_item, secret=SECRET, now=NOW, topic_names=TOPICS).status == 404
    assert link_submit(store, no_item, {}, secret=SECRET, now=NOW, topic_names=TOPICS).status == 404
    assert store.feedback.history() == []
