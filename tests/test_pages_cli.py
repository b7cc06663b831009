"""`monitor check` on page and document sources, and `monitor explain --url` on a web page
and a PDF, through the command line against a server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.pdfmaker import make_pdf
from tests.support import write_config
from tests.test_articles import WATCHLIST as BODY_WATCHLIST
from tests.test_cli import monitor

HTML = "text/html; charset=utf-8"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def consultation(extra: str = "") -> bytes:
    return (
        "<html><head><title>Consultation on radar sites</title></head><body><main>"
        f"<h1>Consultation on radar sites</h1><p>Comments are welcome.</p>{extra}</main>"
        "</body></html>"
    ).encode()


def test_check_names_what_is_wrong_with_a_page_source(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        """\
        feeds:
          - {url: "https://gov.example/news", type: page, items: "ul..news"}
          - {url: "https://gov.example/feed.xml", watch: text}
          - {url: "https://gov.example/r.pdf", type: pdf}
        """,
    )
    result = monitor(cfg, "check")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "feeds[0].items: 'ul..news' is not a CSS selector" in out
    assert "feeds[1]: watch is for web pages only, and this source is type: feed" in out
    assert "feeds[2].type: Input should be 'feed', 'page' or 'document'" in out


@pytest.mark.slow
def test_explain_a_watched_page_and_a_pdf(server: FeedServer, tmp_path: Path) -> None:
    page = server.feed("/consultation", consultation(), content_type=HTML)
    pdf = server.feed(
        "/report.pdf",
        make_pdf([["Report on NORAD", "NORAD radars in the North"]], title="Radar report"),
        content_type="application/pdf",
    )
    other = server.feed("/other", consultation("<p>NORAD and the radars.</p>"), content_type=HTML)
    broken = server.feed("/broken.pdf", make_pdf([["x"]])[:120], content_type="application/pdf")
    cfg = write_config(
        tmp_path,
        f"""\
        feeds:
          - {{url: "{page}", type: page, watch: text, name: Radar consultation}}
          - {{url: "{pdf}", type: document}}
        """,
    )
    assert monitor(cfg, "poll", "--once").returncode == 0
    server.feed(
        "/consultation", consultation("<p>NORAD asks for two sites.</p>"), content_type=HTML
    )
    assert monitor(cfg, "poll", "--once", "--all").returncode == 0
    # the page's last change, as stored
    change = monitor(cfg, "explain", "--url", page)
    assert change.returncode == 0, change.stderr
    assert "item " in change.stdout and "MATCH" in change.stdout
    document = monitor(cfg, "explain", "--url", pdf)
    assert document.returncode == 0 and "MATCH" in document.stdout
    # not stored: read as served now
    live = monitor(cfg, "explain", "--url", other)
    assert live.returncode == 0, live.stderr
    # its text scored as a body would be, each hit shown with the words around it
    assert "(as served now)" in live.stdout and "'NORAD' in body@" in live.stdout
    unreadable = monitor(cfg, "explain", "--url", broken)
    assert unreadable.returncode == 1
    assert "cannot be read: the PDF is broken" in unreadable.stderr


def test_a_pdf_linked_from_a_page_is_read_as_the_body_and_robots_txt_is_honoured(
    server: FeedServer, tmp_path: Path
) -> None:
    from monitor.store import Store

    report = make_pdf(
        [
            ["Annual report of the department"],
            ["Page two: NORAD replaces its radars with an over-the-horizon radar."],
        ],
        title="Annual report",
    )
    server.feed("/docs/annual.pdf", report, content_type="application/pdf")
    listing = (
        b"<html><head><title>Reports</title></head><body><main><ul class='reports'>"
        b"<li><a href='/docs/annual.pdf'>Annual report (PDF)</a> 2026-12-01</li>"
        b"<li><a href='/docs/other.html'>Another report</a> 2026-11-02</li></ul></main>"
        b"</body></html>"
    )
    page = server.feed("/reports", listing, content_type=HTML)
    server.feed("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    private = server.feed("/private/notices", listing, content_type=HTML)
    cfg = write_config(
        tmp_path,
        f"""\
        polling: {{fulltext: auto, contact: "https://example.org/monitor-ops"}}
        feeds:
          - {{url: "{page}", type: page, name: Reports}}
          - {{url: "{private}", type: page, name: Private notices}}
        """,
        BODY_WATCHLIST,
    )
    assert monitor(cfg, "poll", "--once").returncode == 0
    assert server.count("/private/notices") == 0
    store = Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", upgrade=False)
    try:
        health = {f.url: f for f in store.feeds()}
        assert health[private].last_error_kind == "robots"
        assert "robots.txt disallows" in (health[private].last_error or "")
        item = store.item(url=server.url("/docs/annual.pdf"))
        assert item is not None and item.title == "Annual report (PDF)"
        state = store.articles.state(item.id)
        assert state is not None and state.status == "ok"
        assert "NORAD replaces its radars" in (state.text or "")
        assert {r.field for m in item.matches for r in m.reasons} == {"body"}
    finally:
        store.close()
