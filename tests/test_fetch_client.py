"""The Fetcher's own rules (redirects, the deadline, validators, how an answer is classified)
against a scripted transport and a fake clock: no server, no sockets, no waiting. The same
rules against a real server on 127.0.0.1 are in test_fetch.py and test_poll_faults.py."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from monitor.fetch import Fetcher, Request, Response, TransportError
from tests.feedserver import rss_feed

FEED = rss_feed("Scripted", [])
BASE = "https://feeds.example.org/news/feed.xml"


@dataclass
class Clock:
    """Monotonic seconds that move only when told."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sent:
    url: str
    headers: dict[str, str]
    max_bytes: int


@dataclass
class Script:
    """A transport answering from a list, one answer (or error) per exchange, in order.

    Each exchange first waits ``queue_s`` for its slots (the clock moves, the deadline has not
    started), then takes ``step_s`` to answer."""

    answers: list[Response | TransportError]
    clock: Clock
    step_s: float = 0.1
    queue_s: float = 0.0
    sent: list[Sent] = field(default_factory=list)
    closed: bool = False

    async def exchange(self, request: Request) -> Response:
        self.clock.now += self.queue_s
        request.on_start()
        headers = {k.decode("ascii").lower(): v.decode("latin-1") for k, v in request.headers}
        self.sent.append(Sent(str(request.url), headers, request.max_bytes))
        self.clock.now += self.step_s
        answer = self.answers.pop(0)
        if isinstance(answer, TransportError):
            raise answer
        return answer

    async def aclose(self) -> None:
        self.closed = True


def fields(**headers: str) -> dict[str, str]:
    """Header names in lower case, as a transport gives them (``retry_after`` for retry-after)."""
    return {name.replace("_", "-"): value for name, value in headers.items()}


def ok(body: bytes = FEED, **headers: str) -> Response:
    return Response(200, fields(content_type="application/rss+xml", **headers), body)


def moved(status: int, location: str, **headers: str) -> Response:
    return Response(status, fields(location=location, **headers))


def status(code: int, **headers: str) -> Response:
    return Response(code, fields(**headers))


def scripted(
    *answers: Response | TransportError, **options: float
) -> tuple[Callable[..., Fetcher], Script]:
    clock = Clock()
    step = options.pop("step_s", 0.1)
    queue = options.pop("queue_s", 0.0)
    script = Script(list(answers), clock, step_s=step, queue_s=queue)

    def make(**kwargs: Any) -> Fetcher:
        return Fetcher(transport=script, clock=clock, **kwargs)

    return make, script


# --------------------------------------------------------------------------------------------
# Redirects


async def test_a_chain_of_permanent_redirects_moves_the_feed() -> None:
    make, script = scripted(
        moved(301, "https://feeds.example.org/v2/feed.xml"),
        moved(308, "https://new.example.net/feed.xml"),
        ok(),
    )
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert r.outcome == "ok" and r.body == FEED
    assert r.final_url == r.permanent_redirect == "https://new.example.net/feed.xml"
    assert [s.url for s in script.sent] == [
        BASE,
        "https://feeds.example.org/v2/feed.xml",
        "https://new.example.net/feed.xml",
    ]
    assert script.closed


@pytest.mark.parametrize("temporary", [302, 303, 307])
@pytest.mark.parametrize("first", [True, False])
async def test_one_temporary_redirect_in_the_chain_does_not_move_the_feed(
    temporary: int, first: bool
) -> None:
    codes = [temporary, 301] if first else [301, temporary]
    make, _ = scripted(
        moved(codes[0], "https://a.example.org/1.xml"),
        moved(codes[1], "https://b.example.org/2.xml"),
        ok(),
    )
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert r.outcome == "ok"
    assert r.final_url == "https://b.example.org/2.xml"
    assert r.permanent_redirect is None


async def test_a_redirect_to_an_error_keeps_where_it_ended() -> None:
    make, _ = scripted(moved(301, "/gone.xml"), status(410))
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert (r.error_kind, r.status) == ("gone", 410)
    assert r.final_url == r.permanent_redirect == "https://feeds.example.org/gone.xml"


@pytest.mark.parametrize(
    ("location", "resolved"),
    [
        ("feed2.xml", "https://feeds.example.org/news/feed2.xml"),
        ("../v2/feed.xml", "https://feeds.example.org/v2/feed.xml"),
        ("/root.xml", "https://feeds.example.org/root.xml"),
        ("//cdn.example.net/feed.xml", "https://cdn.example.net/feed.xml"),
        ("?page=2", "https://feeds.example.org/news/feed.xml?page=2"),
    ],
)
async def test_a_relative_location_is_resolved_against_the_url_that_sent_it(
    location: str, resolved: str
) -> None:
    make, script = scripted(moved(308, location), ok())
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert script.sent[1].url == resolved
    assert r.outcome == "ok" and r.permanent_redirect == resolved


async def test_a_redirect_loop_is_an_error_that_moves_nothing() -> None:
    make, script = scripted(
        moved(301, "https://feeds.example.org/b.xml"),
        moved(301, "https://feeds.example.org/c.xml"),
        moved(301, BASE + "#again"),  # the same URL but for its fragment
    )
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert (r.error_kind, r.status) == ("redirect_loop", 301)
    assert "after 3 redirect(s)" in (r.error or "")
    assert r.permanent_redirect is None
    assert r.final_url == "https://feeds.example.org/c.xml"
    assert len(script.sent) == 3


async def test_more_redirects_than_allowed_is_an_error() -> None:
    hops = [moved(301, f"https://feeds.example.org/{n}.xml") for n in range(3)]
    make, script = scripted(*hops, ok())
    async with make(max_redirects=2) as fetcher:
        r = await fetcher.fetch(BASE)
    assert (r.error_kind, r.error) == ("too_many_redirects", "more than 2 redirects")
    assert r.permanent_redirect is None
    assert len(script.sent) == 3  # the third redirect is not followed


async def test_max_redirects_zero_follows_none() -> None:
    make, _ = scripted(moved(302, "/elsewhere.xml"))
    async with make(max_redirects=0) as fetcher:
        r = await fetcher.fetch(BASE)
    assert (r.error_kind, r.status) == ("too_many_redirects", 302)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (status(301), "HTTP 301 redirect without a Location header"),
        (moved(302, "ftp://feeds.example.org/feed.xml"), "redirect to a ftp URL"),
        (moved(307, "mailto:editor@example.org"), "redirect to a mailto URL"),
    ],
)
async def test_a_redirect_that_cannot_be_followed_is_an_error(
    answer: Response, message: str
) -> None:
    make, _ = scripted(answer)
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert r.outcome == "error" and message in (r.error or "")
    assert r.permanent_redirect is None


# --------------------------------------------------------------------------------------------
# The deadline


async def test_the_deadline_ends_a_fetch_between_redirects() -> None:
    hops = [moved(302, f"https://feeds.example.org/{n}.xml") for n in range(4)]
    make, script = scripted(*hops, ok(), step_s=2.0)
    async with make(deadline_s=5.0) as fetcher:
        r = await fetcher.fetch(BASE)
    assert (r.error_kind, r.error) == ("timeout", "no complete response within 5 s")
    assert len(script.sent) == 3  # 6 s had gone by when the third redirect came
    assert r.final_url == "https://feeds.example.org/2.xml"  # where it was going next
    assert r.elapsed_s == pytest.approx(6.0)


async def test_the_deadline_starts_when_the_first_hop_has_its_slots() -> None:
    make, script = scripted(ok(), step_s=1.0, queue_s=30.0)
    async with make(deadline_s=5.0) as fetcher:
        r = await fetcher.fetch(BASE)
    assert r.outcome == "ok" and r.elapsed_s == pytest.approx(1.0)
    # A later hop's wait for its slots is inside the deadline: 3 s of waiting and 1 s of
    # answering a hop, so the deadline has passed when the second redirect comes.
    hops = [moved(302, f"/{n}.xml") for n in range(3)]
    make, script = scripted(*hops, ok(), step_s=1.0, queue_s=3.0)
    async with make(deadline_s=5.0) as fetcher:
        r = await fetcher.fetch(BASE)
    assert r.error_kind == "timeout" and len(script.sent) == 2
    assert r.elapsed_s == pytest.approx(5.0)


# --------------------------------------------------------------------------------------------
# Conditional GET


async def test_validators_are_sent_and_a_304_confirms_them() -> None:
    make, script = scripted(status(304))
    async with make() as fetcher:
        r = await fetcher.fetch(BASE, etag='"v1"', last_modified="Wed, 01 May 2024 12:00:00 GMT")
    sent = script.sent[0].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert sent["accept-encoding"] == "gzip, deflate"
    assert (r.outcome, r.status, r.body) == ("not_modified", 304, None)
    assert (r.etag, r.last_modified) == ('"v1"', "Wed, 01 May 2024 12:00:00 GMT")


async def test_a_304_with_new_validators_gives_the_new_ones() -> None:
    make, _ = scripted(status(304, etag='"v2"', cache_control="max-age=600"))
    async with make() as fetcher:
        r = await fetcher.fetch(BASE, etag='"v1"')
    assert (r.outcome, r.etag, r.max_age_s) == ("not_modified", '"v2"', 600)


async def test_a_validator_unfit_for_a_header_is_not_sent() -> None:
    make, script = scripted(ok())
    async with make() as fetcher:
        await fetcher.fetch(BASE, etag='"a"\r\nX-Injected: 1', last_modified="")
    assert "if-none-match" not in script.sent[0].headers
    assert "if-modified-since" not in script.sent[0].headers


async def test_the_same_body_again_is_unchanged_without_its_bytes() -> None:
    make, _ = scripted(ok(), ok())
    async with make() as fetcher:
        first = await fetcher.fetch(BASE)
        second = await fetcher.fetch(BASE, body_hash=first.body_hash)
    assert (second.outcome, second.body, second.body_hash) == ("unchanged", None, first.body_hash)


# --------------------------------------------------------------------------------------------
# Classification


@pytest.mark.parametrize(
    ("code", "kind", "message"),
    [
        (404, "not_found", "HTTP 404 Not Found"),
        (410, "gone", "HTTP 410 Gone"),
        (429, "rate_limited", "HTTP 429 Too Many Requests"),
        (503, "unavailable", "HTTP 503 Service Unavailable"),
        (500, "http", "HTTP 500 Internal Server Error"),
        (502, "http", "HTTP 502 Bad Gateway"),
        (401, "http", "HTTP 401 Unauthorized"),
        (599, "http", "HTTP 599 error"),
    ],
)
async def test_an_error_status_has_its_kind(code: int, kind: str, message: str) -> None:
    make, _ = scripted(status(code))
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert (r.outcome, r.status, r.error_kind, r.error) == ("error", code, kind, message)
    assert r.retry_after_s is None


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry_after": "120"}, 120.0),
        (
            {
                "retry_after": "Sat, 01 Mar 2025 12:10:00 GMT",
                "date": "Sat, 01 Mar 2025 12:00:00 GMT",
            },
            600.0,
        ),
        ({"retry_after": "soon"}, None),
        ({"retry_after": "9" * 40}, 86_400.0),
    ],
)
@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_comes_with_a_refusal(
    code: int, headers: dict[str, str], seconds: float | None
) -> None:
    make, _ = scripted(status(code, **headers))
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert r.status == code and r.retry_after_s == seconds


async def test_a_body_that_is_not_a_feed_is_an_error() -> None:
    make, _ = scripted(ok(b"<!DOCTYPE html><html><body>Sign in</body></html>"))
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert r.error_kind == "not_a_feed" and "HTML page" in (r.error or "")


async def test_a_page_is_returned_as_it_is() -> None:
    html = b"<!DOCTYPE html><html><body>Article</body></html>"
    make, script = scripted(ok(html))
    async with make() as fetcher:
        r = await fetcher.fetch(BASE, kind="page")
    assert (r.outcome, r.body) == ("ok", html)
    assert script.sent[0].headers["accept"].startswith("text/html")


# --------------------------------------------------------------------------------------------
# Size caps and the transport's errors


async def test_the_size_cap_goes_to_the_transport_and_an_oversize_body_is_too_large() -> None:
    big = TransportError(
        "too_large",
        "the body is larger than max_bytes (1,000 bytes: Content-Length 5,000 bytes)",
        Response(200, {"content-type": "application/rss+xml", "retry-after": "60"}),
    )
    make, script = scripted(moved(301, "/big.xml"), big)
    async with make(max_bytes=5000) as fetcher:
        r = await fetcher.fetch(BASE, max_bytes=1000)
    assert [s.max_bytes for s in script.sent] == [1000, 1000]
    assert (r.error_kind, r.status, r.content_type) == ("too_large", 200, "application/rss+xml")
    assert r.retry_after_s == 60
    assert r.permanent_redirect == r.final_url == "https://feeds.example.org/big.xml"


async def test_a_body_that_inflates_past_its_cap_is_too_large() -> None:
    bomb = gzip.compress(b" " * 100_000)
    make, _ = scripted(ok(bomb, content_encoding="gzip"), ok(bomb, content_encoding="gzip"))
    async with make(max_decompressed_bytes=50_000) as small, make() as large:
        r = await small.fetch(BASE)
        fine = await large.fetch(BASE)
    assert r.error_kind == "too_large" and "inflates to more than 50,000 bytes" in (r.error or "")
    assert fine.error_kind == "not_a_feed"  # inflated, and only whitespace


@pytest.mark.parametrize("kind", ["timeout", "network", "invalid_url"])
async def test_a_transport_error_is_the_result_after_a_redirect(kind: str) -> None:
    make, _ = scripted(moved(302, "/next.xml", retry_after="5"), TransportError(kind, "it broke"))
    async with make() as fetcher:
        r = await fetcher.fetch(BASE)
    assert (r.outcome, r.error_kind, r.error, r.status) == ("error", kind, "it broke", None)
    assert r.final_url == "https://feeds.example.org/next.xml"
    assert r.retry_after_s is None  # the redirect's Retry-After was not about this URL


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "the feed URL is empty"),
        ("ftp://feeds.example.org/feed.xml", "feed URLs must start with http:// or https://"),
        ("https:///feed.xml", "URL has no host name"),
    ],
)
async def test_a_url_that_cannot_be_fetched_is_never_sent(url: str, message: str) -> None:
    make, script = scripted()
    async with make() as fetcher:
        r = await fetcher.fetch(url)
    assert r.error_kind == "invalid_url" and message in (r.error or "")
    assert script.sent == []


async def test_a_closed_fetcher_refuses_to_fetch() -> None:
    make, _ = scripted()
    fetcher = make()
    await fetcher.aclose()
    with pytest.raises(RuntimeError, match="after aclose"):
        await fetcher.fetch(BASE)
