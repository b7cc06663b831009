"""POST signed JSON digests to a webhook receiver.

Owns: the request a webhook channel sends: the body from ``monitor.render.webhook_body``, the
``Idempotency-Key`` (the digest key, the same on every retry), ``X-Monitor-Timestamp`` and the
HMAC-SHA256 ``X-Monitor-Signature``, plus the channel's extra headers; and the signature scheme
itself (``sign_webhook`` / ``verify_webhook_signature``). Imports httpx,
``monitor.render``, ``monitor.channels`` and ``monitor.deliver.base``; must not import store,
pipeline, scheduler or cli. Neither the URL's path nor any header value is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from monitor.channels import WebhookChannel
from monitor.deliver.base import ProgressCallback, checked_start, log, post
from monitor.model import Digest
from monitor.render import IDEMPOTENCY_HEADER, header_safe_key, webhook_body
from monitor.urls import describe_url

SIGNATURE_HEADER = "X-Monitor-Signature"
TIMESTAMP_HEADER = "X-Monitor-Timestamp"


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign_webhook(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Monitor-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256>``.

    The HMAC key is the channel's secret; the message is ``f"{timestamp}."`` followed by the
    raw body bytes, so a receiver must verify the body exactly as received, before parsing it.
    """
    mac = hmac.new(_secret_bytes(secret), f"{int(timestamp)}.".encode() + body, hashlib.sha256)
    return f"t={int(timestamp)},v1={mac.hexdigest()}"


def verify_webhook_signature(
    secret: str | bytes,
    header: str,
    body: bytes,
    now: float | datetime,
    tolerance_s: float = 300,
) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance_s`` of now.

    This is the function receivers copy (it uses only the standard library). Several ``v1=``
    values may be present while a secret is being rotated; any one matching is enough.
    """
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if not timestamp or not (timestamp.isascii() and timestamp.isdigit()) or not signatures:
        return False
    if abs(now_s - int(timestamp)) > tolerance_s:
        return False
    expected = hmac.new(
        _secret_bytes(secret), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return any(hmac.compare_digest(expected, s.strip()) for s in signatures)


class WebhookSender:
    """Sends each digest as one signed JSON POST."""

    def __init__(
        self,
        channel: WebhookChannel,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channel = channel
        self.client = client
        self.clock = clock

    def __repr__(self) -> str:
        return f"WebhookSender(channel={self.channel.name!r})"

    def headers(self, digest: Digest, body: bytes) -> dict[str, str]:
        """The request headers for ``body``, signed at the current time."""
        timestamp = int(self.clock())
        return {
            **self.channel.header_values(),
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: header_safe_key(digest.key),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign_webhook(self.channel.secret.get_secret_value(), timestamp, body),
        }

    async def send(
        self,
        digest: Digest,
        *,
        start_part: int = 0,
        on_part: ProgressCallback | None = None,
    ) -> None:
        """POST ``digest``; a 2xx answer is success (the receiver dedupes on the key)."""
        if checked_start(start_part, 1) >= 1:
            return
        body = webhook_body(digest)
        await post(
            self.client,
            self.channel.url.get_secret_value(),
            content=body,
            headers=self.headers(digest, body),
            what=f"webhook channel '{self.channel.name}'",
        )
        log.info(
            "delivered %s to webhook channel %s (%s)",
            digest.key,
            self.channel.name,
            describe_url(self.channel.url.get_secret_value()),
        )
        if on_part is not None:
            await on_part(1)
