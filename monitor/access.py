"""Who may use the web pages: the credentials from the environment, and when they are required.

Owns: reading ``MONITOR_WEB_TOKEN`` (one shared secret) and ``MONITOR_WEB_USERS`` (names with
PBKDF2 password hashes) into a :class:`WebAuth`; checking an ``Authorization`` header against
them; and the rule that a listen address reachable from other machines needs one of them.
Pure: no environment, clock or network here (the mapping is given). Imports nothing from
monitor but nothing either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

TOKEN_VAR = "MONITOR_WEB_TOKEN"
USERS_VAR = "MONITOR_WEB_USERS"
#: a token shorter than this is refused: it would be guessed
MIN_TOKEN = 16
#: the iterations ``hash_password`` uses (OWASP's figure for PBKDF2-HMAC-SHA256)
ITERATIONS = 600_000
_SCHEME = "pbkdf2_sha256"


@dataclass(frozen=True)
class WebAuth:
    """The credentials the web pages accept; none configured means no login is asked."""

    token: str | None = None
    #: user name -> ``pbkdf2_sha256$iterations$salt$hash`` (salt and hash in base64)
    users: Mapping[str, str] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.token or self.users)

    def secrets(self) -> list[str]:
        """What must never be shown in a log or a page."""
        return [self.token] if self.token else []

    def user(self, authorization: str | None) -> str | None:
        """The user an ``Authorization`` header proves (``token`` for the shared token), or
        None. ``Bearer <token>`` and HTTP Basic (any name with the token as password, or a
        configured user with their password) are accepted."""
        if not authorization:
            return None
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return "token" if self._is_token(value) else None
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, password = decoded.partition(":")
        if not sep:
            return None
        stored = self.users.get(name)
        if stored is not None and verify_password(password, stored):
            return name
        return "token" if self._is_token(password) else None

    def _is_token(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(
            given.encode("utf-8"), (self.token or "").encode("utf-8")
        )


def hash_password(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    """``password`` as ``MONITOR_WEB_USERS`` holds it (the salt is given: pure)."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"{_SCHEME}${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(digest, validate=True)
        got = hashlib.pbkdf2_hmac(
            "sha256",
            password.encode("utf-8"),
            base64.b64decode(salt, validate=True),
            int(iterations),
        )
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(got, expected)


def _hash_problem(stored: str) -> str | None:
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != _SCHEME or not parts[1].isdigit():
        return "is not a password hash"
    try:
        base64.b64decode(parts[2], validate=True)
        base64.b64decode(parts[3], validate=True)
    except binascii.Error:
        return "has a salt or hash that is not base64"
    return None


def web_auth(env: Mapping[str, str]) -> tuple[WebAuth, list[str]]:
    """The credentials in ``env``, and what is wrong with them (each problem says which
    variable and what to write instead; a broken part is left out)."""
    problems: list[str] = []
    token = env.get(TOKEN_VAR) or None
    if token is not None and len(token) < MIN_TOKEN:
        problems.append(
            f"${TOKEN_VAR} is {len(token)} characters long; use at least {MIN_TOKEN} random "
            "ones (e.g. from `openssl rand -hex 32`)"
        )
        token = None
    users: dict[str, str] = {}
    for i, entry in enumerate((env.get(USERS_VAR) or "").split(",")):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, stored = entry.partition(":")
        why = "has no ':' between the name and the hash" if not sep else _hash_problem(stored)
        if why is None and not name:
            why = "has an empty user name"
        if why is not None:
            problems.append(
                f"${USERS_VAR}: entry {i + 1} ({name or '?'}) {why}; write name:hash pairs "
                "separated by commas, each hash made by `monitor web-password NAME`"
            )
            continue
        users[name] = stored
    return WebAuth(token, users), problems


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as in ``status.listen``) is reachable only from this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_problem(listen: str | None, auth: WebAuth) -> str | None:
    """Why the web pages must not be served on ``listen`` with ``auth``, or None."""
    if not listen or auth.configured:
        return None
    host = listen.rpartition(":")[0]
    if is_loopback(host):
        return None
    return (
        f"status.listen is {listen}, reachable from other machines, and the web pages would "
        f"answer anyone: set ${TOKEN_VAR} (a random token of {MIN_TOKEN} characters or more) "
        f"or ${USERS_VAR} (name:hash pairs from `monitor web-password NAME`), or listen on "
        "127.0.0.1"
    )
