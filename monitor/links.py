"""Signed feedback links: a click in a digest records a judgement without a login.

Owns: the token a digest link carries (``sign_token``/``verify_token``) and the two links of
one match (``DigestLinks.for_match``: "open" and "not relevant"). Pure: the secret and the
time are arguments; imports nothing from ``monitor``.

A token says *item id, topic, verdict, expiry* and carries an HMAC-SHA256 of exactly that under
the configured secret (``web.secret``)::

    <base64url of "v1.42.norad.not_relevant.1767225600">.<base64url of the HMAC>

Whoever holds the link may record that one verdict ("open" lets the holder choose relevant or
not relevant) until it expires. Changing any part breaks the signature; the store records a
token at most once (``token_id``), so a replayed click changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote

LinkVerdict = Literal["relevant", "not_relevant", "open"]
LINK_VERDICTS: tuple[LinkVerdict, ...] = ("relevant", "not_relevant", "open")

#: how long a digest's links work after the end of its window
LINK_TTL = timedelta(days=14)
#: the shortest secret accepted: 16 characters, e.g. from ``openssl rand -hex 32``
MIN_SECRET = 16
#: where the web application serves a token
LINK_PATH = "/f/"

_VERSION = "v1"
_TOPIC = re.compile(r"^[a-z][a-z0-9_]*$")


class LinkError(ValueError):
    """A token that cannot be used; ``reason`` is ``malformed``, ``signature`` or
    ``expired`` and the message says it for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a valid token allows: record ``verdict`` on ``item_id`` for ``topic``."""

    item_id: int
    topic: str
    verdict: LinkVerdict
    expires: datetime
    #: a digest of the token, stored with the judgement it records (one judgement a token)
    token_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), b"monitor-feedback|" + payload, hashlib.sha256).digest()


def sign_token(
    secret: str, item_id: int, topic: str, verdict: LinkVerdict, expires: datetime
) -> str:
    """The token for ``verdict`` on ``item_id`` for ``topic``, valid until ``expires``."""
    if len(secret) < MIN_SECRET:
        raise ValueError(f"the link secret must be at least {MIN_SECRET} characters")
    if verdict not in LINK_VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(LINK_VERDICTS)}, not {verdict!r}")
    if not _TOPIC.match(topic):
        raise ValueError(f"'{topic}' is not a topic id")
    if expires.tzinfo is None:
        raise ValueError("expires must be an aware datetime")
    stamp = int(expires.timestamp())
    payload = f"{_VERSION}.{int(item_id)}.{topic}.{verdict}.{stamp}".encode("ascii")
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def token_id(token: str) -> str:
    """The digest of a token that is stored in place of the token itself."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def verify_token(secret: str, token: str, now: datetime) -> LinkClaim:
    """What ``token`` allows at ``now``; ``LinkError`` if it was altered, is not a token of
    this installation (another secret) or has expired."""
    head, dot, tail = token.partition(".")
    if not dot or len(token) > 512:
        raise LinkError("malformed", "this link is not a feedback link (it may be cut short)")
    try:
        payload, mac = _unb64(head), _unb64(tail)
        fields = payload.decode("ascii").split(".")
    except (binascii.Error, ValueError):
        raise LinkError(
            "malformed", "this link is not a feedback link (it may be cut short)"
        ) from None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise LinkError(
            "signature",
            "this link's signature does not match: it was altered, or signed with another "
            "secret (web.secret changed since the digest was sent)",
        )
    if len(fields) != 5 or fields[0] != _VERSION or fields[3] not in LINK_VERDICTS:
        raise LinkError("malformed", "this link is not a feedback link of this version")
    try:
        item_id = int(fields[1])
        expires = datetime.fromtimestamp(int(fields[4]), UTC)
    except (ValueError, OverflowError, OSError):
        raise LinkError("malformed", "this link is not a feedback link of this version") from None
    if now >= expires:
        raise LinkError(
            "expired",
            f"this link expired on {expires:%Y-%m-%d %H:%M} UTC; judge the item on the "
            "Matches page or with `monitor feedback` instead",
        )
    verdict: LinkVerdict = fields[3]
    return LinkClaim(item_id, fields[2], verdict, expires, token_id(token))


@dataclass(frozen=True, slots=True)
class MatchLinks:
    """The links shown with one match in a digest."""

    open_url: str
    not_relevant_url: str


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """Makes the links of a digest's matches: ``public_url`` is where the web application is
    reached (``web.public_url``), ``secret`` signs the tokens (``web.secret``)."""

    public_url: str
    secret: str
    ttl: timedelta = LINK_TTL

    def url(self, token: str) -> str:
        return self.public_url.rstrip("/") + LINK_PATH + quote(token, safe="")

    def for_match(self, item_id: int, topic: str, window_end: datetime) -> MatchLinks:
        """The links of one match of a digest whose window ended at ``window_end``: they
        expire ``ttl`` later, so rendering one digest twice gives the same links."""
        expires = window_end + self.ttl
        return MatchLinks(
            open_url=self.url(sign_token(self.secret, item_id, topic, "open", expires)),
            not_relevant_url=self.url(
                sign_token(self.secret, item_id, topic, "not_relevant", expires)
            ),
        )
