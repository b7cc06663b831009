"""POST signed JSON digests to a webhook receiver.

Owns: the request a webhook channel sends: the body from ``monitor.render.webhook_body``, the
``Idempotency-Key`` (the digest key, the same on every retry), ``X-Monitor-Timestamp`` and the
HMAC-SHA256 ``X-Monitor-Signature``, plus the channel's extra headers. Imports httpx,
``monitor.render``, ``monitor.channels`` and ``monitor.deliver.base``; must not import store,
pipeline, scheduler or cli. Neither the URL's path nor any header value is ever logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from monitor.channels import WebhookChannel
from monitor.deliver.base import ProgressCallback, checked_start, describe_url, log, post
from monitor.model import Digest
from monitor.render import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    header_safe_key,
    sign_webhook,
    webhook_body,
)


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
            on_part(1)
