"""Post digests to a Slack incoming webhook.

Owns: sending the messages ``monitor.render.slack_messages`` builds, in order, through the
shared ``httpx.AsyncClient``, and resuming a split digest where a failed attempt stopped.
Imports httpx, ``monitor.render``, ``monitor.channels`` and ``monitor.deliver.base``; must not
import store, pipeline, scheduler or cli. The webhook URL is a secret: it never appears in a
message or log line (``describe_url`` gives scheme and host only).
"""

from __future__ import annotations

import asyncio
import json

import httpx

from monitor.channels import SlackChannel
from monitor.deliver.base import ProgressCallback, checked_start, log, post
from monitor.links import DigestLinks
from monitor.model import Digest
from monitor.render import slack_messages
from monitor.urls import describe_url

#: Slack accepts about one message per second per webhook, with short bursts allowed.
DEFAULT_PAUSE_S = 1.0


class SlackSender:
    """Sends each digest as one or more Block Kit messages to one incoming webhook."""

    def __init__(
        self,
        channel: SlackChannel,
        client: httpx.AsyncClient,
        *,
        pause_s: float = DEFAULT_PAUSE_S,
        links: DigestLinks | None = None,
    ) -> None:
        """``links`` adds each match's feedback links to the messages."""
        self.channel = channel
        self.links = links
        self.client = client
        self.pause_s = pause_s

    def __repr__(self) -> str:
        return f"SlackSender(channel={self.channel.name!r})"

    def parts(self, digest: Digest) -> int:
        """How many messages ``digest`` is split into."""
        return len(slack_messages(digest, self.links))

    async def send(
        self,
        digest: Digest,
        *,
        start_part: int = 0,
        on_part: ProgressCallback | None = None,
    ) -> None:
        """Post the messages of ``digest`` from ``start_part`` on, in order.

        After each message Slack accepts, ``on_part`` gets the number accepted so far; on a
        failure the ``DeliveryError`` propagates and a retry resumes with
        ``start_part`` = that number, so no message is posted twice.
        """
        messages = slack_messages(digest, self.links)
        start = checked_start(start_part, len(messages))
        url = self.channel.webhook_url.get_secret_value()
        total = len(messages)
        for index in range(start, total):
            if index > start and self.pause_s > 0:
                await asyncio.sleep(self.pause_s)
            body = json.dumps(messages[index], ensure_ascii=False).encode("utf-8")
            await post(
                self.client,
                url,
                content=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                what=f"slack channel '{self.channel.name}' (part {index + 1} of {total})",
            )
            log.info(
                "delivered part %d/%d of %s to slack channel %s (%s)",
                index + 1,
                total,
                digest.key,
                self.channel.name,
                describe_url(url),
            )
            if on_part is not None:
                await on_part(index + 1)
