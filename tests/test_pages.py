"""Web pages and PDF documents read into items: link blocks, dates, text changes, PDF text.

Pure functions over bytes, in tables; the polling of real pages is in test_pages_poll.py.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from monitor.dates import find_date, machine_date
from monitor.errors import DocumentError, NotAPdf, PageError, PdfEmpty, PdfEncrypted
from monitor.pagediff import added_lines, page_change, text_of
from monitor.pages import check_selector, find_links, page_encoding, page_text, read_page
from monitor.pdf import read_pdf
from monitor.sources import read_document, read_listing, read_watched
from tests.pdfmaker import make_pdf

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Posted 2026-12-04", day(2026, 12, 4)),
        ("2026/3/7 — Notice", day(2026, 3, 7)),
        ("December 4, 2026", day(2026, 12, 4)),
        ("Dec. 4, 2026 | News release", day(2026, 12, 4)),
        ("Sept 30 2025", day(2025, 9, 30)),
        ("4 December 2026", day(2026, 12, 4)),
        ("4 décembre 2026", day(2026, 12, 4)),
        ("Le 1er décembre 2026, le ministre…", day(2026, 12, 1)),
        ("17 févr. 2026", day(2026, 2, 17)),
        ("3 août 2025", day(2025, 8, 3)),
        ("Meeting No. 12 — Tuesday, June 10, 2025", day(2025, 6, 10)),
        # the first date written wins, whatever its format
        ("12 mars 2026 (modifié le 2026-04-01)", day(2026, 3, 12)),
        # none, or not a real day, or ambiguous numeric day/month
        ("No date here", None),
        ("31 February 2026", None),
        ("06/12/2026", None),
        ("Bill C-2 and 2026 budget", None),
        ("", None),
    ],
)
def test_find_date(text: str, expected: datetime | None) -> None:
    assert find_date(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-04", day(2026, 12, 4)),
        ("2026-12-04T15:30:00-05:00", datetime(2026, 12, 4, 20, 30, tzinfo=UTC)),
        ("0001-01-01", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_machine_date(value: str, expected: datetime | None) -> None:
    assert machine_date(value) == expected


# -- link blocks -------------------------------------------------------------------------------

MINISTRY = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>News releases - Department of Example</title></head><body>
<header><nav class="gcweb-menu"><ul>
  <li><a href="/en/services.html">Services and information for everyone</a></li>
  <li><a href="/en/departments.html">Departments and agencies of the government</a></li>
  <li><a href="/fr/nouvelles.html">Français</a></li></ul></nav></header>
<main><h1>News releases</h1>
<ul class="list-unstyled">
 <li><a href="/en/news/2026/12/norad.html">Minister announces NORAD modernization investments</a>
     <p>December 4, 2026 — The Government of Canada today announced new radar sites.</p></li>
 <li><a href="/en/news/2026/12/tariffs.html">Statement on United States tariffs on steel</a>
     <time datetime="2026-12-03">3 Dec</time></li>
 <li><a href="https://other.example/report">Arctic sovereignty report tabled</a></li>
</ul>
<a href="#top">Back to top</a></main>
<footer><ul><li><a href="/en/terms.html">Terms and conditions</a></li>
<li><a href="/en/privacy.html">Privacy</a></li></ul></footer></body></html>"""

COMMITTEE = """<html><head><title>NDDN - Meetings</title><base href="https://www.ourcommons.example/Committees/en/NDDN/"></head>
<body><div id="sidebar"><a href="Members">Members of the committee and their roles</a>
<a href="Work">Work of the committee and studies</a></div>
<table class="meetings"><tr><th>Meeting</th><th>Date</th></tr>
<tr><td><a href="Meeting?meetingId=12">Meeting 12: Arctic security</a></td>
<td>Tuesday, June 10, 2025</td></tr>
<tr><td><a href="Meeting?meetingId=11">Meeting 11: Defence procurement</a></td>
<td>5 juin 2025</td></tr>
</table></body></html>"""


def links(html: str, selector: str | None = None) -> list[tuple[str, str, datetime | None]]:
    doc = read_page(html.encode(), "https://gov.example/en/news.html")
    return [(lk.title, lk.url, lk.published) for lk in find_links(doc, selector)]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (  # the list of releases, not the menus around it; dates from the text or <time>
            MINISTRY,
            [
                (
                    "Minister announces NORAD modernization investments",
                    "https://gov.example/en/news/2026/12/norad.html",
                    day(2026, 12, 4),
                ),
                (
                    "Statement on United States tariffs on steel",
                    "https://gov.example/en/news/2026/12/tariffs.html",
                    day(2026, 12, 3),
                ),
                ("Arctic sovereignty report tabled", "https://other.example/report", None),
            ],
        ),
        (  # links resolved against <base href>, dates read from their table row, en and fr
            COMMITTEE,
            [
                (
                    "Meeting 12: Arctic security",
                    "https://www.ourcommons.example/Committees/en/NDDN/Meeting?meetingId=12",
                    day(2025, 6, 10),
                ),
                (
                    "Meeting 11: Defence procurement",
                    "https://www.ourcommons.example/Committees/en/NDDN/Meeting?meetingId=11",
                    day(2025, 6, 5),
                ),
            ],
        ),
    ],
    ids=["ministry", "committee"],
)
def test_the_main_list_of_links(
    html: str, expected: list[tuple[str, str, datetime | None]]
) -> None:
    assert links(html) == expected


def test_a_selector_picks_links_or_the_first_link_of_each_element() -> None:
    assert [t for t, _, _ in links(MINISTRY, "footer li a")] == [
        "Terms and conditions",
        "Privacy",
    ]
    assert [u for _, u, _ in links(MINISTRY, "main li")][:1] == [
        "https://gov.example/en/news/2026/12/norad.html"
    ]


@pytest.mark.parametrize(
    ("html", "selector", "says"),
    [
        ("<html><body><p>Nothing to list.</p></body></html>", None, "no list of links"),
        ("<html><body><a href='#top'>top</a></body></html>", None, "no list of links"),
        (MINISTRY, "ul.nothing a", "picks no link"),
        ("<div>" * 100_000 + "<a href=/a>a</a><a href=/b>b</a>", None, "more than 256 deep"),
    ],
)
def test_a_page_without_links_says_so(html: str, selector: str | None, says: str) -> None:
    doc = read_page(html.encode(), "https://gov.example/")
    with pytest.raises(PageError, match=says):
        find_links(doc, selector)


def test_selectors_are_checked() -> None:
    assert check_selector("ul.news li > a[href]") == "ul.news li > a[href]"
    with pytest.raises(ValueError, match="is not a CSS selector.*ul.news li a"):
        check_selector("ul..news")


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("é".encode(), None, "utf-8"),
        ("é".encode("cp1252"), None, "cp1252"),
        ("é".encode("cp1252"), "text/html; charset=ISO-8859-1", "iso8859-1"),
        (b'<meta charset="utf-8">', None, None),
    ],
)
def test_page_encoding(body: bytes, content_type: str | None, expected: str | None) -> None:
    assert page_encoding(body, content_type) == expected


def test_a_listing_page_becomes_items() -> None:
    read = read_listing(MINISTRY.encode(), "https://gov.example/en/news.html", None, "en", NOW)
    first = read.items[0]
    assert first.title == "Minister announces NORAD modernization investments"
    assert first.url == "https://gov.example/en/news/2026/12/norad.html"
    assert "new radar sites" in first.summary
    assert first.published == day(2026, 12, 4)
    assert set(read.signatures) == {i.key for i in read.items}
    capped = read_listing(MINISTRY.encode(), "https://gov.example/", None, "en", NOW, None, 2)
    assert (len(capped.items), capped.cut) == (2, 1)


# -- page text and its changes -----------------------------------------------------------------

CONSULTATION = """<html><head><title>Consultation on Arctic shipping</title></head><body>
<nav><a href="/">Home</a></nav><main><h1>Consultation on Arctic shipping</h1>
<p>Comments are welcome until March 1, 2026.</p><p>Date modified: 2026-01-10</p>
%s</main><footer>Visits: 1234</footer></body></html>"""


def test_page_text_is_the_main_part() -> None:
    doc = read_page((CONSULTATION % "").encode(), "https://gov.example/c")
    assert page_text(doc) == [
        "Consultation on Arctic shipping",
        "Comments are welcome until March 1, 2026.",
        "Date modified: 2026-01-10",
    ]
    assert page_text(doc, "h1") == ["Consultation on Arctic shipping"]
    with pytest.raises(PageError, match="picks nothing"):
        page_text(doc, "table")


@pytest.mark.parametrize(
    ("old", "new", "added"),
    [
        (["a", "b"], ["a", "b", "c"], ["c"]),
        (["a", "b"], ["a", "x", "b"], ["x"]),
        (["a", "b"], ["a", "B"], ["B"]),
        (["a", "b"], ["a"], []),
        (["Updated 2026-01-10", "a"], ["Updated 2026-02-11", "a"], []),
        (["until March 1"], ["until April 1"], ["until April 1"]),
    ],
)
def test_added_lines(old: list[str], new: list[str], added: list[str]) -> None:
    assert added_lines(old, new) == added


def test_a_change_is_what_was_added_and_the_first_text_is_the_baseline() -> None:
    assert page_change(None, ["a"]) is None
    assert page_change("Visits 12\na", ["Visits 13", "a"]) is None
    assert page_change("a\nb", ["a"]) is None
    change = page_change("a\nb", ["a", "b", "c"])
    assert change is not None and change.added == ("c",)
    assert change == page_change("a\nb", ["a", "b", "c"])  # the same change, the same identity


def test_a_watched_page_gives_its_change_as_one_item() -> None:
    url = "https://gov.example/consultation"
    before = (CONSULTATION % "").encode()
    after = (CONSULTATION % "<p>The deadline is extended because of NORAD exercises.</p>").encode()
    first = read_watched(before, url, None, "en", NOW, None, None)
    assert first.items == [] and first.text is not None
    same = read_watched(before.replace(b"1234", b"1299"), url, None, "en", NOW, None, first.text)
    assert (same.items, same.text) == ([], None)
    changed = read_watched(after, url, None, "en", NOW, None, first.text, "Arctic consultation")
    (item,) = changed.items
    assert item.summary == "The deadline is extended because of NORAD exercises."
    assert item.title.startswith("Arctic consultation: The deadline is extended")
    assert item.url is None and item.link == url
    assert changed.text is not None and "NORAD" in changed.text
    again = read_watched(after, url, None, "en", NOW, None, first.text)
    assert again.items[0].key == item.key
    removed = read_watched(before, url, None, "en", NOW, None, changed.text)
    assert removed.items == [] and removed.text == first.text
    assert text_of(["x"] * 3) == "x\nx\nx"


# -- PDF documents -----------------------------------------------------------------------------


def test_a_pdf_gives_its_title_and_text() -> None:
    body = make_pdf(
        [["Report of the Standing Committee", "NORAD modernization"], ["Second page"]],
        title="Arctic Security Report",
    )
    pdf = read_pdf(body)
    assert pdf.title == "Arctic Security Report"
    assert pdf.text == "Report of the Standing Committee\nNORAD modernization\nSecond page"
    assert pdf.pages == 2
    untitled = read_pdf(make_pdf([["Notice of consultation (tariffs)", "more"]], title="x.docx"))
    assert untitled.title == "Notice of consultation (tariffs)"
    read = read_document(body, "https://gov.example/r.pdf", "application/pdf", "en", NOW)
    (item,) = read.items
    assert (item.title, item.url) == ("Arctic Security Report", "https://gov.example/r.pdf")
    assert "NORAD modernization" in item.summary


def _encrypted(password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["secret text"]]))))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        (b"<!DOCTYPE html><html>Not found</html>", NotAPdf, "not a PDF: the body starts with"),
        (b"", NotAPdf, "not a PDF"),
        (b"%PDF-1.4\n" + b"\x00garbage" * 50, DocumentError, "the PDF is broken"),
        (make_pdf([["cut short"]])[:200], DocumentError, "the PDF is broken"),
        (make_pdf([[]]), PdfEmpty, "holds no text"),
    ],
)
def test_a_pdf_that_cannot_be_read_says_why(
    body: bytes, error: type[DocumentError], says: str
) -> None:
    with pytest.raises(error, match=says):
        read_pdf(body)


def test_an_encrypted_pdf() -> None:
    assert read_pdf(_encrypted("")).text == "secret text"  # encrypted only against editing
    with pytest.raises(PdfEncrypted, match="needs a password"):
        read_pdf(_encrypted("hunter2"))
