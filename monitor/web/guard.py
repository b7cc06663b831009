"""Who may use the pages, and which requests may change anything.

Owns: the login (HTTP Basic or a bearer token, checked by ``monitor.access``; none asked when
none is configured, which ``monitor.config`` allows only on a loopback address; none asked
for a digest link, whose signed token is its permission), the refusal of a request that names
another host when no login is configured (a page of another site reaching 127.0.0.1 through
its own DNS name), and the cross-site checks on every POST: the
browser's ``Sec-Fetch-Site`` and ``Origin`` headers, and a form token (``csrf_token``) that
only a page of this application carries. ``/healthz`` and ``/metrics`` answer anyone, as
probes and scrapers expect. Must not import scheduler or cli.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

from monitor.access import WebAuth, is_loopback

#: paths anyone may GET: probes and scrapers carry no login
OPEN = frozenset({"/healthz", "/metrics"})
#: digest links: the signed token in the path is the permission (``monitor.links``)
LINKS = "/f/"
REALM = 'Basic realm="Policy Monitor", charset="UTF-8"'


def csrf_token(secret: bytes, user: str | None) -> str:
    """The form token of ``user``'s pages: only this process, which holds ``secret``, makes it."""
    return hmac.new(secret, f"form:{user or ''}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, user: str | None, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(secret, user), given or "")


def cross_site(request: Request) -> str | None:
    """Why a POST looks sent by another site's page, or None."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"the browser says this request came from a {fetch_site} page"
    origin = request.headers.get("origin")
    if origin is not None:
        host = request.headers.get("host", "")
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc.lower() != host.lower():
            return f"the request came from a page of {origin}, not of this site ({host})"
    return None


def _host_name(host_header: str) -> str:
    return urlsplit(f"//{host_header}").hostname or ""


class Guard(BaseHTTPMiddleware):
    """Asks for the login and refuses cross-site POSTs before any page runs."""

    def __init__(
        self, app: ASGIApp, auth: Callable[[], WebAuth], public_host: Callable[[], str | None]
    ) -> None:
        super().__init__(app)
        self.auth = auth
        self.public_host = public_host

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path in OPEN:
            return await call_next(request)
        auth = self.auth()
        user: str | None = None
        host = _host_name(request.headers.get("host", ""))
        if request.url.path.startswith(LINKS):
            pass
        elif auth.configured:
            user = auth.user(request.headers.get("authorization"))
            if user is None:
                return PlainTextResponse(
                    "log in: this monitor asks for a user name and password (or its token)\n",
                    status_code=401,
                    headers={"WWW-Authenticate": REALM},
                )
        elif not is_loopback(host) and host != self.public_host():
            return PlainTextResponse(
                "these pages answer only as 127.0.0.1, localhost or web.public_url's host "
                "when no login is configured\n",
                status_code=403,
            )
        request.state.user = user
        if request.method not in ("GET", "HEAD"):
            why = cross_site(request)
            if why is not None:
                return PlainTextResponse(f"refused: {why}\n", status_code=403)
        return await call_next(request)
