"""Tests for monitor.urls: canonical article URLs, hosts and redaction for logs."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.provisional import urls as hypothesis_urls

from monitor.urls import (
    TRACKING_PARAMS,
    canonical_url,
    host_of,
    is_tracking_param,
    redact_text,
    redact_url,
)

# --- canonical_url: a table of cases -------------------------------------------------------------

CANONICAL_CASES: list[tuple[str, str | None, str | None]] = [
    # (link, base, expected)
    ("https://example.org/a", None, "https://example.org/a"),
    ("HTTPS://Example.ORG/Path", None, "https://example.org/Path"),  # path case is kept
    ("https://example.org", None, "https://example.org/"),
    ("https://example.org?b=1", None, "https://example.org/?b=1"),
    ("http://example.org:80/a", None, "http://example.org/a"),
    ("https://example.org:443/a", None, "https://example.org/a"),
    ("http://example.org:443/a", None, "http://example.org:443/a"),  # not the default for http
    ("https://example.org:8443/a", None, "https://example.org:8443/a"),
    ("https://example.org:/a", None, "https://example.org/a"),
    ("http://example.org/a", None, "http://example.org/a"),  # http stays http
    ("https://www.example.org/a", None, "https://www.example.org/a"),  # www stays
    ("https://example.org/a/", None, "https://example.org/a/"),  # trailing slash stays
    ("https://example.org./a", None, "https://example.org/a"),
    ("https://example.org/a#comments", None, "https://example.org/a"),
    ("https://example.org/a?", None, "https://example.org/a"),
    ("https://user:pass@example.org/a", None, "https://example.org/a"),
    ("  https://example.org/a \n", None, "https://example.org/a"),
    ("https://example.org/very/\nlong/link", None, "https://example.org/very/long/link"),
    # tracking parameters
    (
        "https://news.example.ca/story?utm_source=rss&utm_medium=feed&id=7",
        None,
        "https://news.example.ca/story?id=7",
    ),
    ("https://example.org/a?fbclid=IwAR0x&gclid=abc", None, "https://example.org/a"),
    ("https://example.org/a?UTM_Campaign=x&p=2", None, "https://example.org/a?p=2"),
    ("https://example.org/a?%75tm_source=x", None, "https://example.org/a"),
    ("https://example.org/a?mc_cid=1&mc_eid=2&_ga=3&igshid=4", None, "https://example.org/a"),
    ("https://example.org/a?cmpid=rss&ncid=x&ocid=y&sr_share=tw", None, "https://example.org/a"),
    ("https://example.org/a?xtor=RSS-3208&at_medium=rss", None, "https://example.org/a"),
    ("https://example.org/a?ref=rss", None, "https://example.org/a"),
    ("https://example.org/a?ref_src=twsrc", None, "https://example.org/a"),
    ("https://github.com/o/r/blob/x?ref=main", None, "https://github.com/o/r/blob/x?ref=main"),
    # query order, blanks and duplicates
    ("https://example.org/s?q=norad&a=1", None, "https://example.org/s?a=1&q=norad"),
    ("https://example.org/s?b=2&&a=1&", None, "https://example.org/s?a=1&b=2"),
    ("https://example.org/s?flag&a=", None, "https://example.org/s?a=&flag"),
    ("https://example.org/s?a=2&a=1", None, "https://example.org/s?a=1&a=2"),
    ("https://example.org/s?q=a+b", None, "https://example.org/s?q=a+b"),  # "+" kept as given
    ("https://example.org/s?q=a%2Bb", None, "https://example.org/s?q=a%2Bb"),
    ("https://example.org/s?next=/a?b=c", None, "https://example.org/s?next=/a?b=c"),
    # percent-encoding and dot segments
    ("https://example.org/%7Euser/%41", None, "https://example.org/~user/A"),
    ("https://example.org/caf%c3%a9", None, "https://example.org/caf%C3%A9"),
    ("https://example.org/café", None, "https://example.org/caf%C3%A9"),
    ("https://example.org/a b", None, "https://example.org/a%20b"),
    ("https://example.org/a%2Fb", None, "https://example.org/a%2Fb"),  # an escaped slash stays
    ("https://example.org/100%", None, "https://example.org/100%25"),
    ("https://example.org/a/./b/../c", None, "https://example.org/a/c"),
    ("https://example.org/a/%2e%2E/b", None, "https://example.org/b"),
    ("https://example.org/../a", None, "https://example.org/a"),
    ("https://example.org/a/..", None, "https://example.org/"),
    # hosts
    ("https://bücher.example/a", None, "https://xn--bcher-kva.example/a"),
    ("https://Xn--Bcher-Kva.Example/a", None, "https://xn--bcher-kva.example/a"),
    ("http://[2001:DB8::1]:8080/a", None, "http://[2001:db8::1]:8080/a"),
    ("http://[2001:db8::1]:80/a", None, "http://[2001:db8::1]/a"),
    ("http://192.0.2.7/a", None, "http://192.0.2.7/a"),
    # relative links
    ("/politics/item-1", "https://www.example.ca/feed/", "https://www.example.ca/politics/item-1"),
    ("item-2?utm_source=x", "https://www.example.ca/feed/", "https://www.example.ca/feed/item-2"),
    ("../up", "https://www.example.ca/a/b/", "https://www.example.ca/a/up"),
    ("//cdn.example.net/x", "https://www.example.ca/feed", "https://cdn.example.net/x"),
    ("https://other.example/a", "https://www.example.ca/feed", "https://other.example/a"),
    # not http(s) URLs
    ("", None, None),
    ("   ", "https://www.example.ca/feed/", None),
    ("/politics/item-1", None, None),
    ("//cdn.example.net/x", None, None),
    ("mailto:editor@example.org", None, None),
    ("javascript:alert(1)", "https://www.example.ca/", None),
    ("ftp://example.org/file", None, None),
    ("https:///path-only", None, None),
    ("http:example.org", None, None),
    ("https://exa mple.org/", None, None),
    ("https://example..org/", None, None),
    ("https://example.org:99999/", None, None),
    ("https://example.org:8o/", None, None),
    ("http://[::1/", None, None),
    ("http://[zz::1]/", None, None),
    ("not a url", None, None),
]


@pytest.mark.parametrize(("link", "base", "expected"), CANONICAL_CASES)
def test_canonical_url(link: str, base: str | None, expected: str | None) -> None:
    assert canonical_url(link, base) == expected


def test_links_differing_only_in_tracking_are_equal() -> None:
    a = canonical_url("https://Example.org:443/story?id=9&utm_source=a#top")
    b = canonical_url("https://example.org/story?fbclid=zz&id=9&utm_campaign=b")
    assert a is not None
    assert a == b


def test_is_tracking_param() -> None:
    assert is_tracking_param("utm_content")
    assert is_tracking_param("PK_Campaign")
    assert is_tracking_param("ref", "news.example.org")
    assert not is_tracking_param("ref", "github.com")
    assert not is_tracking_param("id")
    assert not is_tracking_param("page")


# --- canonical_url: properties -------------------------------------------------------------------

_tracking = st.sampled_from(sorted(TRACKING_PARAMS) + ["utm_source", "utm_term", "pk_kwd"])
_params = st.lists(
    st.tuples(
        st.one_of(_tracking, st.text(min_size=1, max_size=8)),
        st.text(max_size=8),
    ),
    max_size=5,
)


@given(hypothesis_urls(), _params, st.text(max_size=6))
@example("https://example.org", [("a", "%zz")], "")
@example("https://example.org/a/%2e%2e/..", [], "x")
def test_canonical_url_is_idempotent_on_urls(
    url: str, params: list[tuple[str, str]], fragment: str
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params)
    link = f"{url.split('#')[0]}{'&' if '?' in url else '?'}{query}#{fragment}"
    once = canonical_url(link)
    assert once is not None
    assert canonical_url(once) == once
    parts = urlsplit(once)
    assert parts.scheme in ("http", "https")
    assert parts.fragment == ""
    assert parts.path.startswith("/")
    kept = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
    assert not any(is_tracking_param(k, parts.hostname or "") for k in kept)


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=30), hypothesis_urls()))
def test_canonical_url_never_raises_and_is_idempotent(text: str, base: str | None) -> None:
    once = canonical_url(text, base)
    if once is not None:
        assert once.startswith(("http://", "https://"))
        assert canonical_url(once) == once
        assert canonical_url(once, base) == once  # an absolute URL ignores its base


@given(
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-", min_size=1, max_size=12),
    st.lists(st.text(max_size=10), max_size=4),
)
def test_path_text_survives_canonicalisation(scheme: str, label: str, segments: list[str]) -> None:
    host = f"{label.strip('-') or 'x'}.example"
    once = canonical_url(f"{scheme}://{host}/" + "/".join(s.replace("/", "") for s in segments))
    if once is not None:
        assert canonical_url(once) == once
        assert host_of(once) == host.lower()


# --- host_of -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://www.CBC.ca/news", "www.cbc.ca"),
        ("https://user:pw@example.org:8080/x", "example.org"),
        ("https://example.org./x", "example.org"),
        ("http://[2001:db8::1]:8080/", "2001:db8::1"),
        ("/relative/path", ""),
        ("mailto:a@example.org", ""),
        ("http://[::1/", ""),
        ("", ""),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


# --- redaction -----------------------------------------------------------------------------------

SLACK = "https://hooks.slack.com/services/T0EXAMPLE/B0EXAMPLE/abcDEFghiJKLmnoPQRstuVWX"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (SLACK, "https://hooks.slack.com/services/***"),
        (
            "https://hooks.slack.com/workflows/T0/A0/123/secretpart",
            "https://hooks.slack.com/workflows/***",
        ),
        (
            "https://discord.com/api/webhooks/1234567/tokenTOKENtoken",
            "https://discord.com/api/webhooks/***",
        ),
        (
            "https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456",
            "https://acme.webhook.office.com/webhookb2/***",
        ),
        (
            "https://alice:s3cret@feeds.example.org/private.xml",
            "https://***@feeds.example.org/private.xml",
        ),
        (
            "https://api.example.org/v1/feed?api_key=abc123&page=2",
            "https://api.example.org/v1/feed?api_key=***&page=2",
        ),
        (
            "https://x.example/f?token=t&Signature=s&X-Amz-Credential=c&sig=g&password=p",
            "https://x.example/f?token=***&Signature=***&X-Amz-Credential=***&sig=***&password=***",
        ),
        (
            "https://x.example/cb#access_token=abc&state=1",
            "https://x.example/cb#access_token=***&state=1",
        ),
        ("https://x.example/f?key=&q=norad", "https://x.example/f?key=&q=norad"),
        ("https://www.cbc.ca/rss/politics.xml", "https://www.cbc.ca/rss/politics.xml"),
        ("https://hooks.slack.com/", "https://hooks.slack.com/"),
        ("token=abc&page=1", "token=***&page=1"),
        ("", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_hides_every_url_in_a_log_line() -> None:
    line = f'HTTP Request: POST {SLACK} "HTTP/1.1 200 OK" then https://a.example/?secret=zz done'
    out = redact_text(line)
    assert "abcDEFghiJKLmnoPQRstuVWX" not in out
    assert "zz" not in out
    assert out.startswith("HTTP Request: POST https://hooks.slack.com/services/*** ")
    assert out.endswith("https://a.example/?secret=*** done")
    assert redact_text("no links here") == "no links here"


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=24),
    st.sampled_from(["token", "api_key", "secret", "password", "sig", "client_secret"]),
)
def test_redacted_url_never_contains_the_secret(secret: str, name: str) -> None:
    for url in (
        f"https://hooks.slack.com/services/T1/B2/{secret}",
        f"https://user:{secret}@feeds.example.org/x.xml",
        f"https://feeds.example.org/x.xml?a=1&{name}={secret}&b=2",
    ):
        assert secret not in redact_url(url)
        assert "example.org" in redact_url(url) or "hooks.slack.com" in redact_url(url)
