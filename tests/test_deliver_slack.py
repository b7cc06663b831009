"""The Slack sender against a real HTTP receiver on 127.0.0.1: ordered split messages, resume
without resending, error mapping with Retry-After, timeouts, and no secret in errors or logs."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from monitor.channels import SlackChannel
from monitor.deliver.slack import SlackSender
from monitor.errors import DeliveryError
from monitor.model import Digest, DigestEntry, MatchRecord, Reason
from monitor.render import slack_messages
from tests.support import Progress

try:
    from tests.receiver import Receiver, Reply
except ImportError:  # pragma: no cover - when tests/ is not a package
    from receiver import Receiver, Reply  # type: ignore[no-redef]

TOKEN_PATH = "/services/T0000/B0000/SECRETtoken42"
WHEN = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def make_digest(stories: int, key: str = "team-slack:digest:2026-03-09T12:00Z") -> Digest:
    entries = []
    for i in range(stories):
        rec = MatchRecord(
            id=i,
            item_id=100 + i,
            feed_url="https://feeds.example.org/rss",
            feed_name="CBC Politics",
            url=f"https://news.example.org/{i}",
            title=f"Story {i:03d}: NORAD <b>update</b>",
            summary="Summary text " * 10,
            published=WHEN,
            topic="norad",
            score=5.0,
            severity="digest",
            reasons=(Reason("NORAD", "title", 0, 3.0, "acronym"),),
            matched_at=WHEN,
        )
        entries.append(DigestEntry(lead=rec, topics=("norad",), match_ids=(i,)))
    return Digest(
        key=key,
        channel="team-slack",
        kind="digest",
        window_start=WHEN - timedelta(hours=1),
        window_end=WHEN,
        entries=tuple(entries),
        timezone="America/Toronto",
    )


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as c:
        yield c


def sender(rx: Receiver, client: httpx.AsyncClient, path: str = TOKEN_PATH) -> SlackSender:
    channel = SlackChannel(name="team-slack", type="slack", webhook_url=rx.url(path))
    return SlackSender(channel, client, pause_s=0)


async def test_one_message_posted_as_rendered(rx: Receiver, client: httpx.AsyncClient) -> None:
    d = make_digest(2)
    progress = Progress()
    await sender(rx, client).send(d, on_part=progress.record)
    (request,) = rx.requests
    assert request.method == "POST" and request.path == TOKEN_PATH
    assert request.header("content-type") == "application/json; charset=utf-8"
    assert request.json() == slack_messages(d)[0]
    assert progress == [1]


async def test_split_messages_are_posted_in_order(rx: Receiver, client: httpx.AsyncClient) -> None:
    d = make_digest(130)
    expected = slack_messages(d)
    assert len(expected) >= 3
    progress = Progress()
    await sender(rx, client).send(d, on_part=progress.record)
    assert [r.json() for r in rx.requests] == expected
    assert progress == list(range(1, len(expected) + 1))


async def test_a_retry_resumes_after_the_accepted_parts(
    rx: Receiver, client: httpx.AsyncClient
) -> None:
    d = make_digest(130)
    expected = slack_messages(d)
    rx.script(Reply(200), Reply(500, b"rollup_error"))
    progress = Progress()
    s = sender(rx, client)
    with pytest.raises(DeliveryError) as info:
        await s.send(d, on_part=progress.record)
    assert not info.value.permanent
    assert "part 2 of" in str(info.value) and "rollup_error" in str(info.value)
    assert progress == [1]
    await s.send(d, start_part=progress[-1], on_part=progress.record)
    bodies = [r.json() for r in rx.requests]
    assert bodies == [expected[0], expected[1], *expected[1:]]
    assert progress == list(range(1, len(expected) + 1))


async def test_start_part_past_the_end_sends_nothing(
    rx: Receiver, client: httpx.AsyncClient
) -> None:
    await sender(rx, client).send(make_digest(1), start_part=5)
    assert rx.requests == []
    with pytest.raises(ValueError, match="start_part"):
        await sender(rx, client).send(make_digest(1), start_part=-1)


async def test_429_retry_after_seconds(rx: Receiver, client: httpx.AsyncClient) -> None:
    rx.script(Reply(429, b"rate_limited", {"Retry-After": "7"}))
    with pytest.raises(DeliveryError) as info:
        await sender(rx, client).send(make_digest(1))
    assert info.value.retry_after == 7.0
    assert info.value.permanent is False


async def test_503_retry_after_http_date(rx: Receiver, client: httpx.AsyncClient) -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    rx.script(Reply(503, b"", {"Retry-After": format_datetime(later, usegmt=True)}))
    with pytest.raises(DeliveryError) as info:
        await sender(rx, client).send(make_digest(1))
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 120
    assert info.value.permanent is False


@pytest.mark.parametrize(
    ("status", "body", "permanent"),
    [
        (400, b"invalid_blocks", True),
        (403, b"action_prohibited", True),
        (404, b"no_service", True),
        (410, b"channel_is_archived", True),
        (408, b"", False),
        (500, b"rollup_error", False),
        (502, b"", False),
    ],
)
async def test_status_mapping(
    rx: Receiver, client: httpx.AsyncClient, status: int, body: bytes, permanent: bool
) -> None:
    rx.script(Reply(status, body))
    with pytest.raises(DeliveryError) as info:
        await sender(rx, client).send(make_digest(1))
    assert info.value.permanent is permanent
    assert f"HTTP {status}" in str(info.value)
    assert body.decode() in str(info.value)
    assert info.value.retry_after is None


async def test_redirect_is_not_followed(rx: Receiver, client: httpx.AsyncClient) -> None:
    rx.script(Reply(302, b"", {"Location": "https://elsewhere.example.org/new/SECRETnew"}))
    with pytest.raises(DeliveryError) as info:
        await sender(rx, client).send(make_digest(1))
    assert info.value.permanent
    assert "https://elsewhere.example.org" in str(info.value)
    assert "SECRETnew" not in str(info.value)
    assert len(rx.requests) == 1


async def test_hanging_receiver_times_out_as_transient(rx: Receiver) -> None:
    rx.script(Reply(hang=True))
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.3)) as short:
        with pytest.raises(DeliveryError) as info:
            await sender(rx, short).send(make_digest(1))
    assert info.value.permanent is False
    assert "timed out" in str(info.value)


async def test_unreachable_receiver_is_transient(client: httpx.AsyncClient) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and now is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = SlackChannel(
        name="team-slack", type="slack", webhook_url=f"http://127.0.0.1:{port}{TOKEN_PATH}"
    )
    with pytest.raises(DeliveryError) as info:
        await SlackSender(channel, client, pause_s=0).send(make_digest(1))
    assert info.value.permanent is False
    assert "cannot reach http://127.0.0.1" in str(info.value)


async def test_the_webhook_url_never_reaches_errors_or_logs(
    rx: Receiver, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="monitor")
    s = sender(rx, client)
    await s.send(make_digest(1))
    rx.script(Reply(500, b"oops"))
    with pytest.raises(DeliveryError) as info:
        await s.send(make_digest(1))
    assert "SECRETtoken42" not in str(info.value)
    assert "SECRETtoken42" not in caplog.text
    assert "SECRETtoken42" not in repr(s)
    assert "delivered part 1/1" in caplog.text
