"""The signed-webhook sender against a real HTTP receiver on 127.0.0.1: headers, signature
verified with the documented function, the same idempotency key on a retry, error mapping; the
signature scheme itself."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.channels import WebhookChannel
from monitor.deliver.webhook import WebhookSender, sign_webhook, verify_webhook_signature
from monitor.errors import DeliveryError
from monitor.model import Digest, DigestEntry, MatchRecord, Reason
from monitor.render import SCHEMA_VERSION, webhook_body
from tests.support import Progress

try:
    from tests.receiver import Receiver, Reply
except ImportError:  # pragma: no cover - when tests/ is not a package
    from receiver import Receiver, Reply  # type: ignore[no-redef]

SECRET = "whsec-test-0123456789abcdef"
WHEN = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def make_digest(key: str = "ops-hook:alert:2026-03-09T12:00:05Z") -> Digest:
    rec = MatchRecord(
        id=7,
        item_id=70,
        feed_url="https://feeds.example.org/rss",
        feed_name="Radio-Canada",
        url="https://ici.example.org/nouvelles/norad",
        title="Le NORAD <modernisé> & « Groupe des cinq » 🚀",
        summary="Résumé",
        published=WHEN,
        topic="norad",
        score=9.0,
        severity="alert",
        reasons=(Reason("NORAD", "title", 3, 3.0, "acronym"),),
        matched_at=WHEN,
    )
    return Digest(
        key=key,
        channel="ops-hook",
        kind="alert",
        window_start=WHEN,
        window_end=WHEN + timedelta(seconds=5),
        entries=(DigestEntry(lead=rec, topics=("norad", "five_eyes"), match_ids=(7, 8)),),
        timezone="America/Toronto",
    )


class Clock:
    """A clock that advances one minute each time it is read."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 60
        return self.now


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as c:
        yield c


def sender(
    rx: Receiver, client: httpx.AsyncClient, clock: Clock | None = None, **extra: object
) -> WebhookSender:
    fields = {"name": "ops-hook", "type": "webhook", "url": rx.url("/hook?token=SECRETq")}
    channel = WebhookChannel.model_validate({**fields, "secret": SECRET, **extra})
    return WebhookSender(channel, client, clock=clock or Clock(1_773_057_600))


async def test_request_is_signed_and_keyed(rx: Receiver, client: httpx.AsyncClient) -> None:
    d = make_digest()
    progress = Progress()
    await sender(rx, client).send(d, on_part=progress.record)
    (request,) = rx.requests
    assert request.method == "POST" and request.path == "/hook?token=SECRETq"
    assert request.header("Content-Type") == "application/json; charset=utf-8"
    assert request.header("Idempotency-Key") == d.key
    timestamp = request.header("X-Monitor-Timestamp")
    signature = request.header("X-Monitor-Signature")
    assert timestamp == "1773057660"
    assert signature is not None and signature.startswith(f"t={timestamp},v1=")
    assert verify_webhook_signature(SECRET, signature, request.body, now=int(timestamp))
    assert not verify_webhook_signature(
        "another-secret-123456", signature, request.body, 1773057660
    )
    assert request.body == webhook_body(d)
    body = request.json()
    assert body["schema_version"] == SCHEMA_VERSION and body["digest_key"] == d.key
    assert body["matches"][0]["title"] == "Le NORAD <modernisé> & « Groupe des cinq » 🚀"
    assert progress == [1]


async def test_retry_keeps_the_idempotency_key_and_signs_again(
    rx: Receiver, client: httpx.AsyncClient
) -> None:
    d = make_digest()
    rx.script(Reply(500, b"down"))
    s = sender(rx, client)
    with pytest.raises(DeliveryError) as info:
        await s.send(d)
    assert info.value.permanent is False
    await s.send(d)
    first, second = rx.requests
    assert first.header("Idempotency-Key") == second.header("Idempotency-Key") == d.key
    assert first.body == second.body
    assert first.header("X-Monitor-Timestamp") != second.header("X-Monitor-Timestamp")
    for request in (first, second):
        signature = request.header("X-Monitor-Signature")
        timestamp = request.header("X-Monitor-Timestamp")
        assert signature is not None and timestamp is not None
        assert verify_webhook_signature(SECRET, signature, request.body, now=int(timestamp))
    # an old signature replayed after the tolerance window is refused
    old = first.header("X-Monitor-Signature")
    assert old is not None
    assert not verify_webhook_signature(SECRET, old, first.body, now=1_773_057_660 + 301)


async def test_extra_headers_are_sent(rx: Receiver, client: httpx.AsyncClient) -> None:
    await sender(rx, client, headers={"Authorization": "Bearer tok", "X-Team": "ops"}).send(
        make_digest()
    )
    (request,) = rx.requests
    assert request.header("Authorization") == "Bearer tok"
    assert request.header("X-Team") == "ops"


async def test_unusual_digest_key_is_sent_as_a_hash(
    rx: Receiver, client: httpx.AsyncClient
) -> None:
    await sender(rx, client).send(make_digest(key="ops hook:clé"))
    key = rx.requests[0].header("Idempotency-Key")
    assert key is not None and key.startswith("sha256:") and len(key) == 7 + 64


async def test_start_part_one_means_already_delivered(
    rx: Receiver, client: httpx.AsyncClient
) -> None:
    await sender(rx, client).send(make_digest(), start_part=1)
    assert rx.requests == []


@pytest.mark.parametrize(
    ("reply", "permanent", "retry_after"),
    [
        (Reply(429, b"slow down", {"Retry-After": "30"}), False, 30.0),
        (Reply(503, b"", {"Retry-After": "5"}), False, 5.0),
        (Reply(500, b"boom"), False, None),
        (Reply(408, b""), False, None),
        (Reply(400, b"bad json"), True, None),
        (Reply(401, b"bad signature"), True, None),
        (Reply(410, b"gone"), True, None),
        (Reply(301, b"", {"Location": "https://new.example.org/hook"}), True, None),
    ],
)
async def test_error_mapping(
    rx: Receiver,
    client: httpx.AsyncClient,
    reply: Reply,
    permanent: bool,
    retry_after: float | None,
) -> None:
    rx.script(reply)
    with pytest.raises(DeliveryError) as info:
        await sender(rx, client).send(make_digest())
    assert info.value.permanent is permanent
    assert info.value.retry_after == retry_after
    assert f"HTTP {reply.status}" in str(info.value)
    assert "SECRETq" not in str(info.value)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_is_success(rx: Receiver, client: httpx.AsyncClient, status: int) -> None:
    rx.script(Reply(status, b"" if status == 204 else b"{}"))
    progress = Progress()
    await sender(rx, client).send(make_digest(), on_part=progress.record)
    assert progress == [1]


async def test_hang_times_out_as_transient(rx: Receiver) -> None:
    rx.script(Reply(hang=True))
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.3)) as short:
        with pytest.raises(DeliveryError) as info:
            await sender(rx, short).send(make_digest())
    assert not info.value.permanent and "timed out" in str(info.value)


async def test_nothing_secret_is_logged(
    rx: Receiver, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="monitor")
    s = sender(rx, client, headers={"Authorization": "Bearer SECRETbearer"})
    await s.send(make_digest())
    assert "delivered ops-hook:alert" in caplog.text
    for secret in ("SECRETq", "SECRETbearer", SECRET):
        assert secret not in caplog.text
        assert secret not in repr(s)


def test_body_round_trips_as_json() -> None:
    body = json.loads(webhook_body(make_digest()))
    assert body["kind"] == "alert"
    assert body["matches"][0]["match_ids"] == [7, 8]
    assert body["matches"][0]["topics"] == ["norad", "five_eyes"]


def test_sign_and_verify() -> None:
    body = b'{"a":1}'
    header = sign_webhook("s3cret", 1_773_000_000, body)
    assert re.fullmatch(r"t=1773000000,v1=[0-9a-f]{64}", header)
    assert verify_webhook_signature("s3cret", header, body, now=1_773_000_100)
    assert verify_webhook_signature(
        b"s3cret", header, body, now=datetime.fromtimestamp(1_773_000_000, UTC)
    )


@pytest.mark.parametrize(
    ("secret", "header_change", "body", "now", "valid"),
    [
        ("s3cret", None, b'{"a":1}', 1_773_000_000, True),
        ("wrong", None, b'{"a":1}', 1_773_000_000, False),
        ("s3cret", None, b'{"a":2}', 1_773_000_000, False),
        ("s3cret", None, b'{"a":1}', 1_773_000_301, False),
        ("s3cret", None, b'{"a":1}', 1_772_999_699, False),
        ("s3cret", ("t=1773000000", "t=1773000001"), b'{"a":1}', 1_773_000_000, False),
        ("s3cret", ("t=1773000000,", ""), b'{"a":1}', 1_773_000_000, False),
        ("s3cret", ("v1=", "v0="), b'{"a":1}', 1_773_000_000, False),
        ("s3cret", ("t=1773000000", "t=١٧٧٣٠٠٠٠٠٠"), b'{"a":1}', 1_773_000_000, False),
        ("s3cret", (",v1=", ",v1=deadbeef,v1="), b'{"a":1}', 1_773_000_000, True),
        ("s3cret", (",", " , "), b'{"a":1}', 1_773_000_000, True),
    ],
)
def test_verify_rejects_tampering(
    secret: str, header_change: tuple[str, str] | None, body: bytes, now: int, valid: bool
) -> None:
    header = sign_webhook("s3cret", 1_773_000_000, b'{"a":1}')
    if header_change:
        header = header.replace(*header_change)
    assert verify_webhook_signature(secret, header, body, now) is valid


@pytest.mark.parametrize("header", ["", "garbage", "t=,v1=", "v1=abc", "t=1", "t=1;v1=2"])
def test_verify_rejects_malformed_headers(header: str) -> None:
    assert verify_webhook_signature("s", header, b"", 1) is False


@given(secret=st.text(min_size=1), ts=st.integers(0, 2**40), body=st.binary())
def test_signature_round_trip(secret: str, ts: int, body: bytes) -> None:
    header = sign_webhook(secret, ts, body)
    assert verify_webhook_signature(secret, header, body, ts)
    assert not verify_webhook_signature(secret, header, body + b"x", ts)


def test_documented_verification_function_agrees() -> None:
    """The receiver code in docs/delivery.md verifies what sign_webhook signs."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "delivery.md").read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    source = next(b for b in blocks if "def verify_signature" in b)
    namespace: dict[str, Any] = {}
    exec(compile(source, "docs/delivery.md", "exec"), namespace)
    verify = namespace["verify_signature"]
    body = webhook_body(make_digest())
    header = sign_webhook("whsec-0123456789abcdef", 1_773_000_000, body)
    assert verify("whsec-0123456789abcdef", header, body, now=1_773_000_010) is True
    assert verify("whsec-0123456789abcdef", header, body + b" ", now=1_773_000_010) is False
    assert verify("whsec-0123456789abcdef", header, body, now=1_773_001_000) is False
    assert verify("other-secret-0000000", header, body, now=1_773_000_010) is False
