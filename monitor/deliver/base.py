"""What every sender looks like, and how HTTP outcomes become ``DeliveryError``.

Owns: the ``Sender`` protocol and the mapping of HTTP statuses and httpx exceptions to
:class:`monitor.errors.DeliveryError` (used by the Slack and webhook senders). A delivery URL
reaches a message or a log line only as ``monitor.urls.describe_url`` gives it (scheme and
host). Imports httpx, ``monitor.errors``, ``monitor.model``, ``monitor.retry_after`` and
``monitor.urls``; must not import store, pipeline, scheduler or cli.

The rules, in one place:

* 2xx is success. 3xx is refused permanently: redirects are not followed for a POST (httpx
  would turn it into a GET), so the configured URL must be fixed.
* 408 and 429 are transient; every other 4xx is permanent (retrying cannot fix it).
* 5xx, timeouts and network errors are transient.
* ``Retry-After`` (seconds or an HTTP date, read by :mod:`monitor.retry_after` against the
  response's own ``Date``, as fetching reads it) becomes ``retry_after`` on transient errors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

import httpx

from monitor.errors import DeliveryError
from monitor.model import Digest
from monitor.retry_after import parse_retry_after
from monitor.urls import describe_url

log = logging.getLogger("monitor.deliver")

ProgressCallback = Callable[[int], Awaitable[None]]
"""Awaited after each accepted part with the number of parts accepted so far (1, 2, …). A
coroutine, so that recording progress in the database never blocks the event loop."""


class Sender(Protocol):
    """Sends one rendered digest to one channel.

    ``start_part`` skips parts a previous attempt already delivered (Slack digests may be split
    into several messages; the other channels have one part). ``on_part`` is awaited after each
    accepted part with the total accepted so far, so the outbox can record progress and a retry
    never resends a part. Failures raise :class:`monitor.errors.DeliveryError`.
    """

    async def send(
        self,
        digest: Digest,
        *,
        start_part: int = 0,
        on_part: ProgressCallback | None = None,
    ) -> None: ...


def _body_hint(response: httpx.Response) -> str:
    """A short, printable excerpt of an error body (Slack answers with codes like no_service)."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return ""
    text = " ".join("".join(c if c.isprintable() else " " for c in text[:300]).split())
    return f": {text[:120]}" if text else ""


def error_for_response(
    response: httpx.Response, *, what: str, now: datetime | None = None
) -> DeliveryError | None:
    """``None`` for a 2xx response, else the ``DeliveryError`` it means.

    ``what`` names the channel and target for the message, e.g. ``slack channel 'team'``.
    """
    status = response.status_code
    if 200 <= status < 300:
        return None
    try:
        where = describe_url(str(response.request.url))
    except RuntimeError:  # a response built by hand has no request
        where = "the receiver"
    hint = _body_hint(response)
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        target = describe_url(location) if location else "another URL"
        return DeliveryError(
            f"{what}: HTTP {status} from {where} redirects to {target}; redirects are not "
            "followed for deliveries, so update the configured URL",
            permanent=True,
        )
    retry_after = parse_retry_after(
        response.headers.get("retry-after"),
        now=now or datetime.now(UTC),
        date=response.headers.get("date"),
    )
    if status in (408, 429) or status >= 500:
        return DeliveryError(
            f"{what}: HTTP {status} from {where}{hint}", retry_after=retry_after, permanent=False
        )
    return DeliveryError(f"{what}: HTTP {status} from {where}{hint}", permanent=True)


def error_for_exception(exc: httpx.HTTPError, *, what: str, url: str) -> DeliveryError:
    """The ``DeliveryError`` an httpx exception means; the URL is never quoted in full."""
    where = describe_url(url)
    detail = str(exc).replace(url, where) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return DeliveryError(f"{what}: timed out talking to {where} ({type(exc).__name__})")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return DeliveryError(f"{what}: invalid URL for {where}: {detail}", permanent=True)
    if isinstance(exc, httpx.TooManyRedirects):
        return DeliveryError(f"{what}: too many redirects from {where}", permanent=True)
    return DeliveryError(f"{what}: cannot reach {where}: {type(exc).__name__}: {detail}")


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    what: str,
) -> httpx.Response:
    """POST ``content`` and return the 2xx response, or raise the matching ``DeliveryError``.

    Redirects are never followed; timeouts are the client's.
    """
    try:
        response = await client.post(
            url,
            content=content,
            headers=dict(headers),
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        # "from None": the httpx exception's text and request may hold the full URL (a secret)
        raise error_for_exception(exc, what=what, url=url) from None
    error = error_for_response(response, what=what)
    if error is not None:
        raise error
    return response


def checked_start(start_part: int, parts: int) -> int:
    """Validate ``start_part`` against the number of parts of a digest."""
    if start_part < 0:
        raise ValueError(f"start_part must be 0 or more (got {start_part})")
    return min(start_part, parts)
