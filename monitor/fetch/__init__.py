"""Fetching feeds over HTTP, politely and defensively.

The package is split by layer, as httpx splits its client and its transports:

* :mod:`monitor.fetch.client`: :class:`Fetcher`, the client: default headers, conditional
  GET, manual redirects, the deadline of a whole fetch, and classifying what came back into a
  :class:`~monitor.model.FetchResult` (failures are values; only bugs raise).
* :mod:`monitor.fetch.transport`: the transport seam and :class:`HTTPTransport`: per-host
  slots and kept connections, one exchange at a time on each, and what failed as a stable
  error kind.
* :mod:`monitor.fetch.http11`: one HTTP/1.1 connection, driven with h11 (the protocol state
  machine under httpx).
* :mod:`monitor.fetch.backend`: the asyncio network backend under those connections.
* :mod:`monitor.fetch.errors`: the exceptions the backend and a connection raise.
* :mod:`monitor.fetch.body`: the pure part: the feed sniff, body decoding under a size cap,
  header parsing.
* :mod:`monitor.fetch.robots`: robots.txt for article fetches.

How requests are made, and why: the fetcher drives h11's HTTP/1.1 state machine (what httpcore,
the protocol layer under httpx, drives too) itself, over
:class:`monitor.fetch.backend.AsyncioBackend`; httpx is used for URLs and the default TLS
context, and httpcore is not imported at all. Each layer this leaves out was measured on
loopback (1,000 small feeds, concurrency 50, CPU per fetch): one ``httpx.AsyncClient`` with a
50-connection pool cost about 4 ms, because httpcore's pool walks every connection it holds
(checking each idle one's socket) whenever a request starts or ends; a small httpx transport
per host, called directly, about 1 ms (the client's own work, merging settings, redirect
machinery and cookie extraction, had been a quarter of that); the same over the asyncio backend
instead of anyio, a fifth less; and without httpx's transport and httpcore's pool (their
request and response models, locks and per-request bookkeeping), half of that again; and
without httpcore's connection objects (a lock of anyio's, cancel scopes and request objects for
every exchange), a further third of the poller's CPU on a warm cycle. Not importing httpcore
spares every command that polls its import (and trio's, where trio is installed). What of the
client a feed poller needs is done in :mod:`monitor.fetch.client`: default headers, timeouts,
manual redirects, no cookies.

This module only re-exports. May import ``monitor.model``, ``monitor.errors``,
``monitor.urls``, ``monitor.retry_after`` and ``monitor.jsonfeed``; must not import parse,
store, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

from monitor.fetch.body import ACCEPT_ENCODING as ACCEPT_ENCODING
from monitor.fetch.body import FEED_KINDS as FEED_KINDS
from monitor.fetch.body import BadEncoding as BadEncoding
from monitor.fetch.body import BodyTooLarge as BodyTooLarge
from monitor.fetch.body import Sniff as Sniff
from monitor.fetch.body import decode_body as decode_body
from monitor.fetch.body import parse_max_age as parse_max_age
from monitor.fetch.body import sniff_feed as sniff_feed
from monitor.fetch.client import ACCEPT as ACCEPT
from monitor.fetch.client import ACCEPT_PAGE as ACCEPT_PAGE
from monitor.fetch.client import Fetcher as Fetcher
from monitor.fetch.transport import HTTPTransport as HTTPTransport
from monitor.fetch.transport import Request as Request
from monitor.fetch.transport import Response as Response
from monitor.fetch.transport import Transport as Transport
from monitor.fetch.transport import TransportError as TransportError

__all__ = [
    "ACCEPT",
    "ACCEPT_ENCODING",
    "ACCEPT_PAGE",
    "FEED_KINDS",
    "BadEncoding",
    "BodyTooLarge",
    "Fetcher",
    "HTTPTransport",
    "Request",
    "Response",
    "Sniff",
    "Transport",
    "TransportError",
    "decode_body",
    "parse_max_age",
    "sniff_feed",
]

# The names the body decoder's tests have always imported from here.
_BadEncoding, _TooLarge, _decode_body = BadEncoding, BodyTooLarge, decode_body
