"""The Fetcher against the project's feed server on 127.0.0.1, fault by fault; and its pure
helpers (feed sniffing, Retry-After and Cache-Control, body decoding) by tables and properties."""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import logging
import random
import socket
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from monitor import USER_AGENT
from monitor.cadence import CadencePolicy, plan_next_poll
from monitor.fetch import (
    FEED_KINDS,
    Fetcher,
    _BadEncoding,
    _decode_body,
    _TooLarge,
    parse_max_age,
    sniff_feed,
)
from monitor.model import FeedState, FetchResult
from tests.feedserver import FeedServer, Route, SampleItem, atom_feed, json_feed, rss_feed

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer(hosts=3) as s:
        yield s


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(  # limits a healthy feed meets on a loaded machine, faults do not
        timeout_s=1.0,
        deadline_s=2.0,
        max_bytes=1_000_000,
        max_decompressed_bytes=4_000_000,
        max_redirects=4,
    ) as f:
        yield f


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# --------------------------------------------------------------------------------------------
# Healthy feeds, validators, headers


async def test_ok_feed_records_body_and_metadata(server: FeedServer, fetcher: Fetcher) -> None:
    body = rss_feed("Defence", [SampleItem("NORAD modernization funded")])
    url = server.feed("/ok.xml", body, cache_control="public, max-age=1800")
    r = await fetcher.fetch(url)
    assert r.outcome == "ok", r.error
    assert (r.status, r.body, r.body_hash) == (200, body, sha(body))
    assert r.final_url == url and r.permanent_redirect is None
    assert r.etag and r.etag.startswith('"')
    assert r.last_modified == "Wed, 01 May 2024 12:00:00 GMT"
    assert r.content_type == "application/rss+xml; charset=utf-8"
    assert r.max_age_s == 1800
    assert r.elapsed_s > 0
    assert r.error_kind is None


async def test_request_headers_are_those_of_a_polite_feed_client(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.feed("/headers.xml", atom_feed("A"))
    await fetcher.fetch(url)
    (req,) = server.requests("/headers.xml")
    assert req.header("user-agent") == USER_AGENT
    assert "https://" in USER_AGENT
    accept = req.header("accept") or ""
    assert "application/rss+xml" in accept and "application/atom+xml" in accept
    encodings = {e.strip() for e in (req.header("accept-encoding") or "").split(",")}
    assert {"gzip", "deflate"} <= encodings
    assert req.header("if-none-match") is None and req.header("if-modified-since") is None


async def test_conditional_get_with_etag_and_with_last_modified(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.feed("/cond.xml", rss_feed("C", ["one"]))
    first = await fetcher.fetch(url)
    by_etag = await fetcher.fetch(url, etag=first.etag)
    by_date = await fetcher.fetch(url, last_modified=first.last_modified)
    assert (by_etag.outcome, by_etag.status, by_etag.body) == ("not_modified", 304, None)
    assert (by_date.outcome, by_date.status) == ("not_modified", 304)
    sent = server.requests("/cond.xml")
    assert sent[1].header("if-none-match") == first.etag
    assert sent[2].header("if-modified-since") == first.last_modified


async def test_a_304_that_omits_validators_confirms_the_sent_ones(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.add("/bare304.xml", Route(status=304, content_type=None))
    lm = "Wed, 01 May 2024 12:00:00 GMT"
    r = await fetcher.fetch(server.url("/bare304.xml"), etag='"v1"', last_modified=lm)
    assert (r.outcome, r.etag, r.last_modified) == ("not_modified", '"v1"', lm)
    server.add("/new304.xml", Route(status=304, content_type=None, etag='"v2"'))
    r = await fetcher.fetch(server.url("/new304.xml"), etag='"v1"')
    assert (r.outcome, r.etag, r.last_modified) == ("not_modified", '"v2"', None)


async def test_stale_validators_get_the_new_body(server: FeedServer, fetcher: Fetcher) -> None:
    body = rss_feed("C2", ["new"])
    url = server.feed("/cond2.xml", body)
    r = await fetcher.fetch(url, etag='"stale"', body_hash=sha(b"old body"))
    assert (r.outcome, r.body) == ("ok", body)


async def test_unsafe_stored_validators_are_not_sent(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.feed("/unsafe.xml", rss_feed("U"))
    r = await fetcher.fetch(url, etag='"a"\r\nX-Injected: 1', last_modified="lundi 3 mars é")
    assert r.outcome == "ok"
    (req,) = server.requests("/unsafe.xml")
    assert req.header("x-injected") is None
    assert req.header("if-none-match") is None and req.header("if-modified-since") is None


async def test_same_body_is_unchanged_and_not_returned(
    server: FeedServer, fetcher: Fetcher
) -> None:
    body = atom_feed("Same", ["x"])
    url = server.feed("/same.xml", body, etag=None, last_modified=None)
    r = await fetcher.fetch(url, body_hash=sha(body))
    assert (r.outcome, r.status, r.body, r.body_hash) == ("unchanged", 200, None, sha(body))


async def test_gzip_body_is_decoded_and_hashed_decoded(
    server: FeedServer, fetcher: Fetcher
) -> None:
    body = rss_feed("Zip", [f"item {n}" for n in range(50)])
    url = server.feed("/gz.xml", body, gzip=True)
    r = await fetcher.fetch(url)
    assert (r.outcome, r.body, r.body_hash) == ("ok", body, sha(body))


async def test_json_feed_is_a_feed(server: FeedServer, fetcher: Fetcher) -> None:
    body = json_feed("J", ["a"])
    r = await fetcher.fetch(server.feed("/feed.json", body, content_type="application/feed+json"))
    assert (r.outcome, r.body) == ("ok", body)


async def test_cookies_are_not_kept_between_requests(server: FeedServer, fetcher: Fetcher) -> None:
    server.add(
        "/cookie.xml",
        Route(body=rss_feed("Cookie"), headers=(("Set-Cookie", "session=abc; Path=/"),)),
    )
    await fetcher.fetch(server.url("/cookie.xml"))
    await fetcher.fetch(server.url("/cookie.xml"))
    assert [r.header("cookie") for r in server.requests("/cookie.xml")] == [None, None]


# --------------------------------------------------------------------------------------------
# Faults, one by one


@dataclass(frozen=True)
class Fault:
    name: str
    setup: Callable[[FeedServer, str], str]
    outcome: str
    kind: str | None
    status: int | None


FAULTS = [
    Fault("500", lambda s, p: s.error(p, 500), "error", "http", 500),
    Fault("502", lambda s, p: s.error(p, 502), "error", "http", 502),
    Fault("503", lambda s, p: s.error(p, 503, retry_after=120), "error", "unavailable", 503),
    Fault("429", lambda s, p: s.error(p, 429, retry_after=30), "error", "rate_limited", 429),
    Fault("404", lambda s, p: s.error(p, 404), "error", "not_found", 404),
    Fault("410", lambda s, p: s.error(p, 410), "error", "gone", 410),
    Fault("403", lambda s, p: s.error(p, 403), "error", "http", 403),
    Fault("hang", lambda s, p: s.hang(p), "error", "timeout", None),
    Fault(
        "trickle",
        lambda s, p: s.trickle(p, rss_feed("Slow", ["a"] * 20), interval_s=0.05, chunk=4),
        "error",
        "timeout",
        None,
    ),
    Fault("truncated", lambda s, p: s.truncated(p), "error", "network", None),
    Fault("html", lambda s, p: s.html(p), "error", "not_a_feed", 200),
    Fault("empty", lambda s, p: s.empty(p), "error", "not_a_feed", 200),
    Fault(
        "plain json",
        lambda s, p: s.feed(p, b'{"items": []}', content_type="application/json"),
        "error",
        "not_a_feed",
        200,
    ),
    Fault("huge", lambda s, p: s.huge(p, 3_000_000), "error", "too_large", 200),
    Fault(
        "huge chunked", lambda s, p: s.huge(p, 3_000_000, chunked=True), "error", "too_large", 200
    ),
    Fault("gzip bomb", lambda s, p: s.gzip_bomb(p), "error", "too_large", 200),
    Fault("redirect loop", lambda s, p: s.redirect_loop(p), "error", "redirect_loop", 302),
    Fault(
        "too many redirects",
        lambda s, p: s.redirect_chain(p, "/never.xml", 6),
        "error",
        "too_many_redirects",
        301,
    ),
    Fault(
        "redirect to ftp",
        lambda s, p: s.redirect(p, "ftp://files.example.org/feed.xml"),
        "error",
        "invalid_url",
        301,
    ),
    Fault("redirect without Location", lambda s, p: _no_location(s, p), "error", "http", 302),
    # Fetching does not parse: a feed that breaks off mid-document or lies about its charset is
    # fetched as it is, and the parse stage judges it.
    Fault("invalid xml", lambda s, p: s.invalid_xml(p), "ok", None, 200),
    Fault("wrong charset", lambda s, p: s.wrong_charset(p), "ok", None, 200),
]


def _no_location(s: FeedServer, path: str) -> str:
    return s.add(path, Route(status=302, body=b"moved"))


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_each_fault_becomes_a_result(
    server: FeedServer, fetcher: Fetcher, fault: Fault
) -> None:
    path = "/fault/" + fault.name.replace(" ", "-")
    url = fault.setup(server, path)
    r = await fetcher.fetch(url)
    assert (r.outcome, r.error_kind, r.status) == (fault.outcome, fault.kind, fault.status), r.error
    assert r.url == url
    if r.outcome == "error":
        assert r.error and r.body is None
    else:
        assert r.body is not None and r.error is None


async def test_retry_after_seconds_and_date(server: FeedServer, fetcher: Fetcher) -> None:
    r = await fetcher.fetch(server.error("/ra/s", 503, retry_after=120))
    assert r.retry_after_s == 120
    # The date is read against the response's own Date header, so the server's clock rules.
    later = datetime.now(UTC) + timedelta(hours=2)
    http_date = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    r = await fetcher.fetch(server.error("/ra/d", 429, retry_after=http_date))
    assert r.retry_after_s is not None and 7000 < r.retry_after_s <= 7200


@pytest.mark.parametrize(
    ("value", "expected"),
    [("\u00b2", None), ("-5", None), ("9" * 5000, 86_400.0), ("999999999", 86_400.0)],
)
async def test_unreadable_or_huge_retry_after_is_an_ordinary_error(
    server: FeedServer, fetcher: Fetcher, value: str, expected: float | None
) -> None:
    r = await fetcher.fetch(server.error(f"/ra/odd/{len(value)}", 503, retry_after=value))
    assert (r.outcome, r.error_kind, r.status) == ("error", "unavailable", 503)
    assert r.retry_after_s == expected


async def test_wrong_charset_body_comes_back_byte_for_byte(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.wrong_charset("/charset.xml")
    r = await fetcher.fetch(url)
    assert r.body is not None
    assert "Défense".encode("latin-1") in r.body


async def test_not_a_feed_says_what_the_body_is(server: FeedServer, fetcher: Fetcher) -> None:
    r = await fetcher.fetch(server.html("/nf/html", "Page introuvable"))
    assert r.error is not None and "HTML page" in r.error and "200" in r.error
    r = await fetcher.fetch(server.feed("/nf/empty", b""))
    assert r.error is not None and "empty" in r.error


async def test_size_errors_name_the_limit(server: FeedServer, fetcher: Fetcher) -> None:
    r = await fetcher.fetch(server.gzip_bomb("/size/bomb"))
    assert r.error is not None and "max_decompressed_bytes" in r.error
    r = await fetcher.fetch(server.huge("/size/huge", 2_000_000, chunked=True))
    assert r.error is not None and "max_bytes" in r.error


async def test_hang_times_out_on_read_and_trickle_on_the_deadline(
    server: FeedServer, fetcher: Fetcher
) -> None:
    hang = await fetcher.fetch(server.hang("/t/hang"))
    trickle = await fetcher.fetch(
        server.trickle("/t/trickle", rss_feed("T", ["a"] * 30), interval_s=0.05, chunk=2)
    )
    assert hang.error is not None and "waiting for data" in hang.error
    assert trickle.error is not None and "deadline" not in hang.error
    assert "within 2 s" in trickle.error


async def test_connection_refused_is_a_network_error(fetcher: Fetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    r = await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert (r.outcome, r.error_kind) == ("error", "network")
    assert r.error is not None and "connect" in r.error


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "empty"),
        ("ftp://example.org/feed.xml", "'ftp'"),
        ("example.org/feed.xml", "http://"),
        ("http:///feed.xml", "no host"),
        ("file:///etc/passwd", "'file'"),
        ("http://exa mple.org/feed.xml", "not a valid host name"),
    ],
)
async def test_invalid_urls_are_refused_before_any_request(
    fetcher: Fetcher, url: str, says: str
) -> None:
    r = await fetcher.fetch(url)
    assert (r.outcome, r.error_kind) == ("error", "invalid_url")
    assert r.error is not None and says in r.error
    assert fetcher.open_hosts == 0


# --------------------------------------------------------------------------------------------
# Redirects


async def test_permanent_chain_records_the_final_url(server: FeedServer, fetcher: Fetcher) -> None:
    body = rss_feed("Moved")
    final = server.feed("/moved/final.xml", body)
    url = server.redirect_chain("/moved/start", final, 3, [301, 308, 301])
    r = await fetcher.fetch(url)
    assert (r.outcome, r.body) == ("ok", body)
    assert r.url == url and r.final_url == final and r.permanent_redirect == final
    assert server.count("/moved/start") == 1


async def test_a_temporary_hop_means_no_permanent_redirect(
    server: FeedServer, fetcher: Fetcher
) -> None:
    final = server.feed("/tmp/final.xml", rss_feed("T"))
    for n, statuses in enumerate(([301, 302], [307], [302, 308])):
        url = server.redirect_chain(f"/tmp/{n}", final, len(statuses), statuses)
        r = await fetcher.fetch(url)
        assert (r.outcome, r.final_url, r.permanent_redirect) == ("ok", final, None)


async def test_relative_redirect_across_hosts(server: FeedServer, fetcher: Fetcher) -> None:
    server.feed("/rel/final.xml", rss_feed("R"))
    server.redirect("/rel/start", "final.xml", 308)
    other = server.url("/rel/hop", host=1)
    server.redirect("/rel/hop", server.url("/rel/start", host=2), 301)
    r = await fetcher.fetch(other)
    assert r.outcome == "ok"
    assert r.final_url == server.url("/rel/final.xml", host=2)
    assert r.permanent_redirect == r.final_url
    assert fetcher.open_hosts == 2


async def test_redirect_then_error_keeps_where_it_ended(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.error("/re/gone", 410)
    r = await fetcher.fetch(server.redirect("/re/start", "/re/gone", 301))
    assert (r.error_kind, r.final_url) == ("gone", server.url("/re/gone"))
    assert r.permanent_redirect == server.url("/re/gone")


async def test_redirect_limit_is_configurable(server: FeedServer) -> None:
    server.feed("/lim/final.xml", rss_feed("L"))
    url = server.redirect_chain("/lim/start", "/lim/final.xml", 2)
    async with Fetcher(max_redirects=1) as strict, Fetcher(max_redirects=2) as lenient:
        assert (await strict.fetch(url)).error_kind == "too_many_redirects"
        assert (await lenient.fetch(url)).outcome == "ok"


# --------------------------------------------------------------------------------------------
# Together: concurrency, limits, isolation


async def test_healthy_feeds_come_back_intact_next_to_faulty_ones(server: FeedServer) -> None:
    healthy = {}
    for n in range(40):
        body = (atom_feed if n % 2 else rss_feed)(f"Feed {n}", [f"story {n}.{k}" for k in range(5)])
        healthy[server.feed(f"/mix/ok{n}.xml", body, gzip=n % 3 == 0)] = body
    faulty = [
        server.hang("/mix/hang"),
        server.trickle("/mix/trickle", rss_feed("slow", ["x"] * 40), interval_s=0.05, chunk=3),
        server.gzip_bomb("/mix/bomb"),
        server.huge("/mix/huge", 3_000_000, chunked=True),
        server.error("/mix/500", 500),
        server.redirect_loop("/mix/loop"),
        server.html("/mix/html"),
        server.truncated("/mix/cut"),
    ]
    urls = list(healthy) + faulty
    random.Random(7).shuffle(urls)
    async with Fetcher(
        timeout_s=2.0, deadline_s=4.0, max_bytes=1_000_000, concurrency=10, per_host=10
    ) as f:
        results = await asyncio.gather(*(f.fetch(u) for u in urls))
    by_url = {r.url: r for r in results}
    for url, body in healthy.items():
        assert by_url[url].outcome == "ok", by_url[url].error
        assert by_url[url].body == body
    assert all(by_url[u].outcome == "error" for u in faulty)


async def test_per_host_and_global_limits_hold() -> None:
    with FeedServer(hosts=3) as s:
        for n in range(12):
            s.feed(f"/lim{n}.xml", rss_feed(f"L{n}"), delay_s=0.05)
        urls = [s.url(f"/lim{n}.xml", host=n % 3) for n in range(12)]
        async with Fetcher(concurrency=50, per_host=2) as f:
            results = await asyncio.gather(*(f.fetch(u) for u in urls))
        assert all(r.outcome == "ok" for r in results)
        assert [s.max_in_flight(h) for h in range(3)] == [2, 2, 2]
        s.reset()
        async with Fetcher(concurrency=3, per_host=4) as f:
            await asyncio.gather(*(f.fetch(u) for u in urls))
        assert s.max_in_flight() == 3


async def test_keep_alive_reuses_one_connection_per_host() -> None:
    with FeedServer() as s:
        urls = [s.feed(f"/ka/{n}.xml", rss_feed("K")) for n in range(5)]
        urls.insert(2, s.error("/ka/missing", 404))  # a small error page does not cost a socket
        urls.insert(4, s.feed("/ka/same.xml", rss_feed("K"), etag='"e"'))
        async with Fetcher(per_host=1) as f:
            outcomes = [(await f.fetch(url, etag='"e"')).outcome for url in urls]
        assert outcomes == ["ok", "ok", "error", "ok", "not_modified", "ok", "ok"]
        assert s.total_requests() == len(urls)
        assert s.connections() == 1


async def test_pools_of_idle_hosts_are_closed(server: FeedServer) -> None:
    server.feed("/idle.xml", rss_feed("I"))
    async with Fetcher() as f:
        f.keepalive_s = 0.02
        await f.fetch(server.url("/idle.xml", host=0))
        await f.fetch(server.url("/idle.xml", host=1))
        assert f.open_hosts == 2
        await asyncio.sleep(0.1)
        await f.fetch(server.url("/idle.xml", host=2))
        assert f.open_hosts == 1


async def test_a_faulty_feed_does_not_block_a_healthy_one_on_another_host(
    server: FeedServer,
) -> None:
    hang = server.hang("/iso/hang")
    ok = server.feed("/iso/ok.xml", rss_feed("Iso"))
    async with Fetcher(timeout_s=1.0, deadline_s=3.0, per_host=1) as f:
        results = await asyncio.gather(
            *(f.fetch(hang) for _ in range(3)), f.fetch(server.url("/iso/ok.xml", host=1))
        )
    assert [r.error_kind for r in results[:3]] == ["timeout"] * 3
    assert results[3].outcome == "ok"
    assert server.count("/iso/ok.xml") == 1 and ok.endswith("/iso/ok.xml")


# --------------------------------------------------------------------------------------------
# Logging and lifecycle


async def test_urls_are_not_logged_with_secrets(
    server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.feed("/secret.xml", rss_feed("S")) + "?token=hunter2&page=1"
    with caplog.at_level(logging.DEBUG):
        async with Fetcher() as f:
            await f.fetch(url)
            await f.fetch(server.error("/secret-missing", 404) + "?api_key=hunter2")
    assert not [r for r in caplog.records if "hunter2" in r.getMessage()]
    assert not [r for r in caplog.records if r.name.startswith("httpx")]
    assert any("/secret.xml" in r.getMessage() for r in caplog.records)


async def test_fetch_after_close_is_a_bug() -> None:
    f = Fetcher()
    await f.aclose()
    with pytest.raises(RuntimeError, match="after aclose"):
        await f.fetch("http://127.0.0.1/x")


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"timeout_s": 0}, "timeout_s must be greater than 0"),
        ({"concurrency": 0}, "concurrency"),
        ({"per_host": -1}, "per_host"),
        ({"max_bytes": 0}, "max_bytes"),
        ({"max_redirects": -1}, "max_redirects must be 0 or more"),
    ],
)
def test_bad_settings_are_explained(kwargs: dict[str, float], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Fetcher(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# With cadence: what the result means for the next poll


async def test_fetch_results_drive_the_next_poll(server: FeedServer, fetcher: Fetcher) -> None:
    policy = CadencePolicy(interval_s=900, jitter=0.1)
    rng = random.Random(3)
    feed = FeedState(id=1, url="http://unused.example/feed.xml")

    def plan(r: FetchResult, state: FeedState = feed):  # type: ignore[no-untyped-def]
        return plan_next_poll(state, r, NOW, policy, rng=rng)

    busy = plan(await fetcher.fetch(server.error("/cad/503", 503, retry_after=1800)))
    assert busy.next_poll_at >= NOW + timedelta(seconds=1800)
    assert busy.consecutive_failures == 1

    gone = plan(await fetcher.fetch(server.error("/cad/410", 410)))
    assert gone.disabled_reason is not None and "410" in gone.disabled_reason
    assert gone.next_poll_at > NOW

    hung = plan(await fetcher.fetch(server.hang("/cad/hang")))
    assert hung.last_error_kind == "timeout"
    assert NOW + timedelta(seconds=100) <= hung.next_poll_at <= NOW + timedelta(seconds=140)

    final = server.feed("/cad/new.xml", rss_feed("New home"))
    moved = plan(await fetcher.fetch(server.redirect("/cad/old.xml", final, 301)))
    assert moved.url == final

    cached = plan(
        await fetcher.fetch(
            server.feed("/cad/cc.xml", rss_feed("CC"), cache_control="max-age=3600")
        )
    )
    # a max-age longer than the interval lengthens the gap, up to two intervals
    assert cached.next_poll_at == NOW + timedelta(seconds=1800)
    assert cached.reason == "max-age"

    missing = await fetcher.fetch(server.error("/cad/404", 404))
    once = plan(missing)
    twice = plan(
        missing, FeedState(id=1, url=feed.url, consecutive_failures=1, last_error_kind="not_found")
    )
    assert (once.unhealthy, twice.unhealthy) == (False, True)


# --------------------------------------------------------------------------------------------
# Pure helpers: sniffing


FEED_BODIES = [
    (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "rss"),
    (b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>\n<rss>", "rss"),
    (b'  \n\t<feed xmlns="http://www.w3.org/2005/Atom">', "feed"),
    (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "rdf"),
    (b"<RDF:RDF>", "rdf"),
    (b"<channel><title>x</title></channel>", "channel"),
    (b'<entry xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id></entry>', "entry"),
    (b"<?xml version='1.0'?><!-- generated --><?xml-stylesheet href='a.xsl'?><rss>", "rss"),
    (b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "x.dtd"><rss version="0.91">', "rss"),
    (b'<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ELEMENT x (#PCDATA)>]>\n<rss>', "rss"),
    (b"<atom:feed xmlns:atom='http://www.w3.org/2005/Atom'>", "feed"),
    ('<?xml version="1.0" encoding="utf-16"?><rss>'.encode("utf-16"), "rss"),
    ("<feed>".encode("utf-16-le"), "feed"),
    ("<feed>".encode("utf-16-be"), "feed"),
    (codecs.BOM_UTF32_LE + "<rss>".encode("utf-32-le"), "rss"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": []}', "jsonfeed"),
    (b'\xef\xbb\xbf {"items": [], "version": "https://jsonfeed.org/version/1"}', "jsonfeed"),
    (b'{"version": "1.0", "title": "x", "items": []}', "jsonfeed"),  # bare numbers, as written
    (b'{"version": "1.1", "title": "x", "items": []}', "jsonfeed"),
]

NOT_FEEDS = [
    (b"", "empty"),
    (b" \r\n\t ", "whitespace"),
    (b"<!DOCTYPE html><html><body>Not here</body></html>", "HTML"),
    (b"<!doctype HTML>\n<html>", "HTML"),
    (b"<html><head><title>x</title></head></html>", "HTML"),
    (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', "HTML"),
    (b'<?xml version="1.0"?><error><code>NoSuchKey</code></error>', "<error>"),
    (b'{"error": "not found"}', "JSON Feed version"),
    (b'[{"version": "https://jsonfeed.org/version/1.1"}]', "JSON Feed version"),
    (b'{"version": 1.1}', "JSON Feed version"),
    (b'{"version": "2.0"}', "JSON Feed version"),
    (b"{broken json", "malformed JSON"),
    (b"Not Found", "neither XML nor JSON"),
    (b"<?xml version='1.0'?>", "no root element"),
    (b"<!-- never closed", "no root element"),
    (b"< rss>", "not well-formed"),
]


@pytest.mark.parametrize(("body", "kind"), FEED_BODIES)
def test_sniff_accepts_feeds(body: bytes, kind: str) -> None:
    got = sniff_feed(body)
    assert (got.kind, got.is_feed) == (kind, True), got.detail


@pytest.mark.parametrize(("body", "says"), NOT_FEEDS)
def test_sniff_rejects_non_feeds_and_says_why(body: bytes, says: str) -> None:
    got = sniff_feed(body)
    assert got.kind is None and not got.is_feed
    assert says in got.detail


_prolog_part = st.one_of(
    st.text(" \t\r\n", min_size=1, max_size=5),
    st.text(st.characters(codec="ascii", exclude_characters="-<>"), max_size=30).map(
        lambda t: f"<!--{t}-->"
    ),
    st.text(st.characters(codec="ascii", exclude_characters="?<>"), max_size=30).map(
        lambda t: f"<?pi {t}?>"
    ),
)


@given(
    prolog=st.lists(_prolog_part, max_size=6).map("".join),
    root=st.sampled_from(["rss", "feed", "rdf:RDF", "channel"]),
    rest=st.text(max_size=50),
)
def test_sniff_sees_through_any_prolog(prolog: str, root: str, rest: str) -> None:
    body = ('<?xml version="1.0"?>' + prolog + f"<{root} a='1'>" + rest).encode("utf-8")
    assert sniff_feed(body).kind == root.split(":")[-1].lower()


@given(st.binary(max_size=300))
@example(body=b"<feed")
@example(body=b"<rss")
@example(body=b'{"version": "https://jsonfeed.org/version/1.1"}')
def test_sniff_never_raises(body: bytes) -> None:
    got = sniff_feed(body)
    assert got.is_feed == (got.kind is not None)
    assert got.kind is None or got.kind in FEED_KINDS
    assert got.detail


# --------------------------------------------------------------------------------------------
# Pure helpers: headers and decoding


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("max-age=600", 600.0),
        ("public, max-age=3600, must-revalidate", 3600.0),
        ('max-age="60"', 60.0),
        ("MAX-AGE=60", 60.0),
        ("no-cache, max-age=600", None),
        ("max-age=600, no-store", None),
        ("max-age=abc", None),
        ("private", None),
        ("s-maxage=100", None),
    ],
)
def test_parse_max_age(value: str | None, expected: float | None) -> None:
    assert parse_max_age(value) == expected


def _gzip_members(*parts: bytes) -> bytes:
    out = b""
    for p in parts:
        c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        out += c.compress(p) + c.flush()
    return out


@pytest.mark.parametrize(
    ("raw", "encoding", "expected"),
    [
        (b"<rss/>", None, b"<rss/>"),
        (b"<rss/>", "identity", b"<rss/>"),
        (_gzip_members(b"<rss/>"), "gzip", b"<rss/>"),
        (_gzip_members(b"<rss/>"), "x-gzip", b"<rss/>"),
        (_gzip_members(b"<rss>", b"</rss>"), "gzip", b"<rss></rss>"),
        (zlib.compress(b"<feed/>"), "deflate", b"<feed/>"),
        (zlib.compress(b"<feed/>")[2:-4], "deflate", b"<feed/>"),
        (_gzip_members(zlib.compress(b"<rss/>")), "deflate, gzip", b"<rss/>"),
    ],
)
def test_decode_body(raw: bytes, encoding: str | None, expected: bytes) -> None:
    assert _decode_body(raw, encoding, 1000) == expected


@pytest.mark.parametrize(
    ("raw", "encoding", "says"),
    [
        (b"definitely not gzip", "gzip", "corrupt gzip"),
        (_gzip_members(b"<rss>" * 100)[:-30], "gzip", "ends before its end marker"),
        (b"<rss/>", "br", "unsupported Content-Encoding 'br'"),
        (b"<rss/>", "zstd", "unsupported"),
    ],
)
def test_decode_body_refuses_what_it_cannot_decode(raw: bytes, encoding: str, says: str) -> None:
    with pytest.raises(_BadEncoding, match=says):
        _decode_body(raw, encoding, 10_000)


async def test_corrupt_compressed_body_is_an_http_error(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.add(
        "/corrupt.xml", Route(body=b"not gzip at all", headers=(("Content-Encoding", "gzip"),))
    )
    r = await fetcher.fetch(url)
    assert (r.outcome, r.error_kind, r.status) == ("error", "http", 200)
    assert r.error is not None and "corrupt gzip" in r.error


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_decode_body_stops_at_the_limit(encoding: str) -> None:
    data = bytes(100_000)
    raw = _gzip_members(data) if encoding == "gzip" else zlib.compress(data)
    assert _decode_body(raw, encoding, 100_000) == data
    with pytest.raises(_TooLarge):
        _decode_body(raw, encoding, 99_999)


@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=3000))
def test_decode_body_round_trips_or_refuses(data: bytes, limit: int) -> None:
    raw = _gzip_members(data)
    if len(data) <= limit:
        assert _decode_body(raw, "gzip", limit) == data
    else:
        with pytest.raises(_TooLarge):
            _decode_body(raw, "gzip", limit)
