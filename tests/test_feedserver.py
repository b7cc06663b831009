"""Tests of the test feed server itself, through the standard library's HTTP client only."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.feedserver import (
    FeedServer,
    SampleItem,
    atom_feed,
    gzip_bomb,
    html_page,
    json_feed,
    rss_feed,
)


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer(hosts=2) as s:
        yield s


def _conn(url: str, timeout: float = 5.0) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), parts.path


def get(
    url: str, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn, path = _conn(url)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("make", "root"),
    [
        (lambda: rss_feed("Défense", ["Un", SampleItem("Two & <three>", summary="x")]), "rss"),
        (lambda: atom_feed("Arctic", ["One"]), "{http://www.w3.org/2005/Atom}feed"),
    ],
)
def test_generated_feeds_are_well_formed(make, root) -> None:  # type: ignore[no-untyped-def]
    doc = ET.fromstring(make())
    assert doc.tag == root
    assert len(list(doc.iter())) > 3


def test_json_feed_and_html_page() -> None:
    doc = json.loads(json_feed("J", ["a", "b"]))
    assert doc["version"].startswith("https://jsonfeed.org/version/")
    assert [i["title"] for i in doc["items"]] == ["a", "b"]
    assert html_page("Nope").lstrip().lower().startswith(b"<!doctype html>")


@pytest.mark.parametrize("size", [1, 1024 * 1024, 3 * 1024 * 1024 + 12345])
def test_gzip_bomb_inflates_to_exactly_its_size(size: int) -> None:
    bomb = gzip_bomb(size)
    data = gzip.decompress(bomb)
    assert len(data) == size
    assert not data.strip(b"\x00")


def test_gzip_bomb_is_small_for_its_size() -> None:
    size = 200 * 1024 * 1024
    bomb = gzip_bomb(size)
    assert len(bomb) < size // 500
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert len(dec.decompress(bomb, 10 * 1024 * 1024)) == 10 * 1024 * 1024


def test_feed_with_validators_and_conditional_requests(server: FeedServer) -> None:
    body = rss_feed("Cond", ["a"])
    url = server.feed("/fs/cond.xml", body)
    status, headers, got = get(url)
    assert (status, got) == (200, body)
    etag, lm = headers["ETag"], headers["Last-Modified"]
    assert etag and lm
    assert get(url, {"If-None-Match": etag})[0] == 304
    assert get(url, {"If-None-Match": 'W/"other", ' + etag})[0] == 304
    assert get(url, {"If-None-Match": '"other"'})[0] == 200
    assert get(url, {"If-Modified-Since": lm})[0] == 304
    assert get(url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    assert server.count("/fs/cond.xml") == 6
    sent = [r.header("if-none-match") for r in server.requests("/fs/cond.xml")]
    assert sent[1] == etag


def test_gzip_only_when_accepted(server: FeedServer) -> None:
    body = atom_feed("Zipped", ["x"] * 20)
    url = server.feed("/fs/gz.xml", body, gzip=True)
    status, headers, raw = get(url, {"Accept-Encoding": "gzip"})
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == body
    status, headers, raw = get(url)
    assert headers["Content-Encoding"] is None and raw == body


@pytest.mark.parametrize("status", [404, 410, 500])
def test_error_status(server: FeedServer, status: int) -> None:
    url = server.error(f"/fs/e{status}", status)
    assert get(url)[0] == status


@pytest.mark.parametrize(
    ("status", "value"), [(503, "120"), (429, "Wed, 21 Oct 2015 07:28:00 GMT")]
)
def test_retry_after(server: FeedServer, status: int, value: str) -> None:
    url = server.error(f"/fs/ra{status}", status, retry_after=value)
    got, headers, _ = get(url)
    assert (got, headers["Retry-After"]) == (status, value)


def test_redirect_chain_and_loop(server: FeedServer) -> None:
    server.redirect_chain("/fs/chain", "/fs/target.xml", 3, [301, 302, 308])
    statuses = []
    path = "/fs/chain"
    for _ in range(3):
        status, headers, _ = get(server.url(path))
        statuses.append(status)
        path = headers["Location"]
    assert statuses == [301, 302, 308]
    assert path == "/fs/target.xml"
    server.redirect_loop("/fs/loop")
    _, h1, _ = get(server.url("/fs/loop"))
    _, h2, _ = get(server.url(h1["Location"]))
    assert h2["Location"] == "/fs/loop"


def test_keep_alive_serves_several_requests_on_one_connection(server: FeedServer) -> None:
    url = server.feed("/fs/ka.xml", rss_feed("KA"))
    conn, path = _conn(url)
    try:
        for _ in range(3):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
            assert resp.headers["Connection"] == "keep-alive"
        assert conn.sock is not None
    finally:
        conn.close()


def test_second_address_serves_the_same_routes(server: FeedServer) -> None:
    server.feed("/fs/both.xml", rss_feed("Both"))
    assert urlsplit(server.url("/fs/both.xml", host=1)).hostname == "127.0.0.2"
    assert get(server.url("/fs/both.xml", host=1))[0] == 200
    assert [r.host_index for r in server.requests("/fs/both.xml")] == [1]


def test_huge_body_is_streamed_with_or_without_length(server: FeedServer) -> None:
    for chunked in (False, True):
        path = f"/fs/huge{int(chunked)}"
        status, headers, body = get(server.huge(path, 2_000_000, chunked=chunked))
        assert status == 200 and len(body) >= 2_000_000
        assert (headers["Transfer-Encoding"] == "chunked") is chunked
        assert body.startswith(b"<?xml")


def test_hang_never_answers(server: FeedServer) -> None:
    conn, path = _conn(server.hang("/fs/hang"), timeout=0.3)
    try:
        conn.request("GET", path)
        with pytest.raises(socket.timeout):
            conn.getresponse()
    finally:
        conn.close()


def test_trickle_sends_the_whole_body(server: FeedServer) -> None:
    body = rss_feed("Slow")[:60]
    status, _, got = get(server.trickle("/fs/trickle", body, interval_s=0.001, chunk=7))
    assert (status, got) == (200, body)


def test_truncated_body_breaks_off(server: FeedServer) -> None:
    conn, path = _conn(server.truncated("/fs/cut"))
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead):
            resp.read()
    finally:
        conn.close()


def test_not_feeds(server: FeedServer) -> None:
    assert get(server.empty("/fs/empty"))[2] == b""
    assert b"<html" in get(server.html("/fs/html"))[2]
    with pytest.raises(ET.ParseError):
        ET.fromstring(get(server.invalid_xml("/fs/bad.xml"))[2])
    status, headers, body = get(server.wrong_charset("/fs/cs.xml"))
    assert "charset=utf-8" in headers["Content-Type"]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert "Défense" in body.decode("latin-1")


def test_unknown_path_is_404(server: FeedServer) -> None:
    assert get(server.url("/fs/nothing-here"))[0] == 404


def test_max_in_flight_counts_overlapping_requests() -> None:
    with FeedServer() as s:
        url = s.feed("/slow.xml", rss_feed("S"), delay_s=0.2)
        threads = [threading.Thread(target=get, args=(url,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert s.max_in_flight() == 3
        assert s.max_in_flight(0) == 3


def test_stop_releases_hanging_requests_and_is_idempotent() -> None:
    s = FeedServer().start()
    url = s.hang("/h")
    conn, path = _conn(url, timeout=5)
    conn.request("GET", path)
    for _ in range(500):
        if s.count("/h"):
            break
        threading.Event().wait(0.01)
    assert s.count("/h") == 1
    s.stop()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()
    s.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = s.base_url


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match="hosts must be between 1 and 250"):
        FeedServer(hosts=0)
    with FeedServer() as s, pytest.raises(ValueError, match="must start with '/'"):
        s.url("feed.xml")


def test_runs_as_a_separate_process_for_benchmarks() -> None:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.feedserver", "--feeds", "3", "--hosts", "2", "--items", "4"],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        bases = proc.stdout.readline().split()
        assert len(bases) == 2
        status, _, body = get(bases[1] + "/f2.xml")
        assert status == 200
        assert [e.findtext("title") for e in ET.fromstring(body).iter("item")] == [
            f"Story 2.{k}" for k in range(4)
        ]
        assert get(bases[0] + "/f3.xml")[0] == 404
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
