"""Rendering digests: Slack Block Kit within Slack's limits, email, webhook JSON, console text;
hostile feed text stays inert and readable everywhere."""

from __future__ import annotations

import email
import email.policy
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import Digest, DigestEntry, MatchRecord, Reason
from monitor.render import (
    SCHEMA_VERSION,
    SLACK_HEADER_TEXT_MAX,
    SLACK_MAX_BLOCKS,
    SLACK_MESSAGE_TEXT_BUDGET,
    SLACK_SECTION_TEXT_MAX,
    clean_text,
    console_text,
    email_message,
    email_subject,
    header_safe_key,
    message_id,
    safe_url,
    slack_escape,
    slack_length,
    slack_messages,
    truncate,
    webhook_body,
)

WHEN = datetime(2026, 3, 9, 12, 15, tzinfo=UTC)

HOSTILE = [
    "<script>alert(1)</script>",
    "<!channel> wake up",
    "hey @here and @channel",
    "ping <@U123> and <#C42|general>",
    "*bold* _italic_ ~strike~ `code`",
    "[click](javascript:alert(1))",
    "AT&amp;T &lt;b&gt; & friends",
    "<http://evil.example|trusted link>",
    "> quoted line",
    "مرحبا بالعالم — שלום",
    "Drapeau 🇨🇦 et fusée 🚀, famille 👨‍👩‍👧",
    "\x1b[31mred\x1b[0m and \u202eevil\u202c",
]


def record(
    n: int,
    title: str = "NORAD modernization funding announced",
    summary: str = "Ottawa and Washington agreed on new funding for NORAD radars.",
    *,
    url: str | None = "https://news.example.org/story?id=1&lang=en",
    topic: str = "norad",
    severity: str = "digest",
    also_in: tuple[str, ...] = (),
    reasons: tuple[Reason, ...] | None = None,
) -> MatchRecord:
    return MatchRecord(
        id=n,
        item_id=1000 + n,
        feed_url="https://feeds.example.org/politics.xml",
        feed_name="CBC Politics",
        url=url,
        title=title,
        summary=summary,
        published=WHEN,
        topic=topic,
        score=7.5,
        severity=severity,
        reasons=reasons
        if reasons is not None
        else (
            Reason("NORAD", "title", 0, 3.0, "acronym"),
            Reason("modernization", "title", 6, 1.5, "phrase"),
            Reason("funding", "summary", 40, 1.0, "phrase"),
            Reason("radar", "summary", 60, 0.5, "phrase"),
        ),
        matched_at=WHEN,
        story=f"story-{n}",
        also_in=also_in,
    )


def entry(rec: MatchRecord, topics: tuple[str, ...] | None = None, **kw: Any) -> DigestEntry:
    return DigestEntry(
        lead=rec,
        topics=topics or (rec.topic,),
        also_in=kw.get("also_in", rec.also_in),
        match_ids=kw.get("match_ids", (rec.id,)),
    )


def digest(
    entries: list[DigestEntry] | tuple[DigestEntry, ...], *, kind: str = "digest", key: str = ""
) -> Digest:
    return Digest(
        key=key or "team-slack:digest:2026-03-09T12:00Z",
        channel="team-slack",
        kind=kind,  # type: ignore[arg-type]
        window_start=datetime(2026, 3, 9, 11, 0, tzinfo=UTC),
        window_end=datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
        entries=tuple(entries),
        timezone="America/Toronto",
    )


def hostile_digest() -> Digest:
    entries = [
        entry(record(i, title=t, summary=HOSTILE[-1 - i], also_in=("Globe <b>", "@here news")))
        for i, t in enumerate(HOSTILE)
    ]
    entries.append(entry(record(99, title="bad link", url="javascript:alert(1)")))
    return digest(entries)


_LOOKALIKES = {"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`"}


def slack_display(text: str) -> str:
    """What Slack shows for escaped mrkdwn text, with look-alikes read as the originals."""
    text = text.replace("\u2060", "").replace("&lt;", "<").replace("&gt;", ">")
    text = text.replace("&amp;", "&")
    return "".join(_LOOKALIKES.get(c, c) for c in text)


def all_texts(message: dict[str, Any]) -> list[str]:
    out = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", ())]
    return out


# --------------------------------------------------------------------------- cleaning


@pytest.mark.parametrize(
    ("raw", "one_line", "cleaned"),
    [
        ("  a \n b\t c  ", True, "a b c"),
        ("a\n\n\n\nb", False, "a\n\nb"),
        ("\x1b[31mred\x1b[0m", True, "[31mred[0m"),
        ("abc\u202edcba\u202c", True, "abcdcba"),
        ("family 👨‍👩‍👧 ok", True, "family 👨‍👩‍👧 ok"),
        ("שלום world", True, "שלום world"),
        (None, True, ""),
        ("a\u2028b", True, "a b"),
        ("nul\x00byte", True, "nulbyte"),
    ],
)
def test_clean_text(raw: str | None, one_line: bool, cleaned: str) -> None:
    assert clean_text(raw, one_line=one_line) == cleaned


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("the quick brown fox jumps", 18, "the quick brown…"),
        ("the quick brown fox jumps", 15, "the quick brow…"),
        ("abcdefghijklmnop", 8, "abcdefg…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@given(st.text(), st.integers(min_value=1, max_value=400))
def test_truncate_never_exceeds_the_limit(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    assert result == text or result.endswith("…")


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org/a?b=1&c=2", True),
        ("http://example.org", True),
        ("HTTPS://EXAMPLE.ORG/x", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//example.org/x", False),
        ("https://exa mple.org", False),
        ("https://example.org/\x00", False),
        ("ftp://example.org/f", False),
        ("https://", False),
        ("https://example.org:99999/", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_url(url: str | None, safe: bool) -> None:
    assert (safe_url(url) is not None) is safe


# --------------------------------------------------------------------------- Slack escaping


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!\u2060channel&gt;"),
        ("<@U123>", "&lt;@\u2060U123&gt;"),
        ("@here", "@\u2060here"),
        ("*bold*", "\u2217bold\u2217"),
        ("_it_ ~s~ `c`", "\u02cdit\u02cd \u223cs\u223c \u02cbc\u02cb"),
        ("&amp;", "&amp;amp;"),
        ("<http://x|y>", "&lt;http://x|y&gt;"),
        ("plain text", "plain text"),
        ("email a@b.org", "email a@\u2060b.org"),
    ],
)
def test_slack_escape_table(raw: str, escaped: str) -> None:
    assert slack_escape(raw) == escaped


_SAFE_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\u2060"
    )
)


@given(_SAFE_TEXT)
def test_slack_escape_is_inert_and_reversible(text: str) -> None:
    escaped = slack_escape(text)
    assert not set("<>*_~`") & set(escaped)
    assert re.sub(r"&(amp|lt|gt);", "", escaped).count("&") == 0
    assert not re.search(r"[@#!]\w", escaped)
    assert slack_display(escaped) == clean_text(text, one_line=False)


def test_hostile_text_is_inert_in_slack() -> None:
    messages = slack_messages(hostile_digest())
    texts = [t for m in messages for t in all_texts(m)]
    joined = "\n".join(texts)
    for forbidden in ("<!channel>", "<!here>", "<@U123>", "<#C42", "<http://evil", "<script"):
        assert forbidden not in joined
    assert "javascript:" not in "".join(re.findall(r"<([^|>]*)\|", joined))
    assert "@here" not in joined and "\x1b" not in joined and "\u202e" not in joined
    links = re.findall(r"<([^|>]+)\|", joined)
    assert links and all(link.startswith("https://news.example.org/") for link in links)


def test_hostile_text_is_readable_in_slack() -> None:
    messages = slack_messages(hostile_digest())
    shown = slack_display("\n".join(t for m in messages for t in all_texts(m)))
    for text in HOSTILE[:-1]:
        assert clean_text(text) in shown
    assert "AT&amp;T &lt;b&gt; & friends" in shown  # no double unescaping
    assert "[31mred[0m and evil" in shown


def test_every_text_object_is_verbatim() -> None:
    for message in slack_messages(hostile_digest()):
        for block in message["blocks"]:
            texts = [block["text"]] if "text" in block else block.get("elements", [])
            for obj in texts:
                if obj["type"] == "mrkdwn":
                    assert obj["verbatim"] is True


# --------------------------------------------------------------------------- Slack shape


def test_slack_message_shape() -> None:
    rec = record(1, also_in=("Globe and Mail", "CTV"))
    d = digest([entry(rec, topics=("norad", "arctic_security"), match_ids=(1, 2))])
    (message,) = slack_messages(d)
    header, context, section = message["blocks"]
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Digest for team-slack: 1 story, 2 matches",
            "emoji": False,
        },
    }
    assert [e["text"] for e in context["elements"]] == [
        "2026-03-09 07:00–08:00 EDT",
        "Topics: norad, arctic\u02cdsecurity",
    ]
    lines = section["text"]["text"].split("\n")
    assert lines[0] == (
        "*<https://news.example.org/story?id=1&amp;lang=en|NORAD modernization funding announced>*"
    )
    assert (
        lines[1]
        == "CBC Politics · 2026-03-09 08:15 EDT · norad, arctic\u02cdsecurity · digest · score 7.5"
    )
    assert (
        lines[2]
        == "Why: 'NORAD' in title (+3); 'modernization' in title (+1.5); 'funding' in summary (+1)"
    )
    assert lines[3] == "> Ottawa and Washington agreed on new funding for NORAD radars."
    assert lines[4] == "Also reported by: Globe and Mail, CTV"
    assert message["text"] == "Policy Monitor digest for team-slack: 1 story, 2 matches"
    assert message["unfurl_links"] is False


def test_story_without_a_safe_link_is_bold_text() -> None:
    (message,) = slack_messages(digest([entry(record(1, url="javascript:alert(1)"))]))
    assert message["blocks"][2]["text"]["text"].startswith("*NORAD modernization")


def test_link_target_cannot_break_out_of_the_link() -> None:
    url = "https://example.org/a|b>c<d"
    (message,) = slack_messages(digest([entry(record(1, url=url))]))
    first = message["blocks"][2]["text"]["text"].split("\n")[0]
    assert first == "*<https://example.org/a%7Cb%3Ec%3Cd|NORAD modernization funding announced>*"


def test_empty_digest_says_so() -> None:
    (message,) = slack_messages(digest([]))
    assert message["blocks"][-1]["text"]["text"] == "No new matches in this window."
    assert message["blocks"][0]["text"]["text"] == "Digest for team-slack: 0 stories, 0 matches"


def test_alert_header() -> None:
    (message,) = slack_messages(digest([entry(record(1, severity="alert"))], kind="alert"))
    assert message["blocks"][0]["text"]["text"] == "Alert for team-slack: 1 story, 1 match"


def _section_titles(messages: list[dict[str, Any]]) -> list[str]:
    titles = []
    for m in messages:
        for block in m["blocks"]:
            if block["type"] == "section":
                first = block["text"]["text"].split("\n")[0]
                titles.append(re.sub(r"^\*<[^|]*\||>\*$|^\*|\*$", "", first))
    return titles


def _check_limits(messages: list[dict[str, Any]]) -> None:
    for m in messages:
        assert len(m["blocks"]) <= SLACK_MAX_BLOCKS
        total = 0
        for block in m["blocks"]:
            if block["type"] == "header":
                assert slack_length(block["text"]["text"]) <= SLACK_HEADER_TEXT_MAX
            elif block["type"] == "section":
                assert 1 <= slack_length(block["text"]["text"]) <= SLACK_SECTION_TEXT_MAX
                total += slack_length(block["text"]["text"])
            elif block["type"] == "context":
                assert 1 <= len(block["elements"]) <= 10
                total += sum(slack_length(e["text"]) for e in block["elements"])
        assert total <= SLACK_MESSAGE_TEXT_BUDGET


def test_large_digest_is_split_in_order_within_limits() -> None:
    entries = [entry(record(i, title=f"Story number {i:03d}")) for i in range(130)]
    messages = slack_messages(digest(entries))
    assert len(messages) >= 3
    _check_limits(messages)
    assert _section_titles(messages) == [f"Story number {i:03d}" for i in range(130)]
    total = len(messages)
    for i, m in enumerate(messages, start=1):
        assert m["text"].endswith(f"(part {i} of {total})")
    assert messages[0]["blocks"][0]["type"] == "header"
    assert messages[1]["blocks"][0]["elements"][0]["text"].endswith(f"(part 2 of {total})")


def test_long_texts_split_by_character_budget_before_block_count() -> None:
    long = "x" * 2000
    entries = [entry(record(i, title=f"T{i} " + long, summary=long)) for i in range(20)]
    messages = slack_messages(digest(entries))
    assert len(messages) > 1
    assert all(len(m["blocks"]) < SLACK_MAX_BLOCKS for m in messages)
    _check_limits(messages)


def test_worst_case_story_is_shrunk_to_fit_a_section() -> None:
    amp = "&" * 400  # every character escapes to five
    rec = record(
        1,
        title=amp,
        summary=amp,
        url="https://example.org/?" + "a=&" * 90,
        also_in=tuple(f"{i}{amp}" for i in range(12)),
        reasons=tuple(Reason(amp, "title", 0, 1.0, "phrase") for _ in range(5)),
    )
    (message,) = slack_messages(digest([entry(rec)]))
    text = message["blocks"][2]["text"]["text"]
    assert slack_length(text) <= SLACK_SECTION_TEXT_MAX
    assert text.startswith("*<https://example.org/?a=&amp;")  # the link survives shrinking


_ANY_TEXT = st.text(max_size=5000)
_URLS = st.one_of(
    st.none(),
    st.just("https://example.org/" + "a&" * 1200),
    st.text(max_size=300).map(lambda s: "https://example.org/" + s),
)


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(
        st.tuples(_ANY_TEXT, _ANY_TEXT, _URLS, st.lists(st.text(max_size=200), max_size=15)),
        min_size=0,
        max_size=8,
    ),
    channel=st.text(min_size=1, max_size=300),
)
def test_slack_limits_hold_for_any_text(
    items: list[tuple[str, str, str | None, list[str]]], channel: str
) -> None:
    entries = [
        entry(
            record(i, title=t, summary=s, url=u, reasons=(Reason(t[:500], "title", 0, 1.0, s),)),
            also_in=tuple(also),
        )
        for i, (t, s, u, also) in enumerate(items)
    ]
    d = replace(digest(entries), channel=channel)
    messages = slack_messages(d)
    _check_limits(messages)
    assert sum(1 for m in messages for b in m["blocks"] if b["type"] == "section") == max(
        1, len(entries)
    )


# --------------------------------------------------------------------------- email


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(msg: email.message.EmailMessage) -> email.message.EmailMessage:
    out = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(out, email.message.EmailMessage)
    return out


def test_email_headers() -> None:
    d = digest([entry(record(1), match_ids=(1, 2)), entry(record(2, topic="tariffs"))])
    msg = parsed(
        email_message(
            d, sender="Policy Monitor <monitor@example.org>", to=["a@example.org", "b@example.org"]
        )
    )
    assert msg["Subject"] == "[monitor] Digest: 2 stories, 3 matches — norad, tariffs"
    assert msg["From"] == "Policy Monitor <monitor@example.org>"
    assert msg["To"] == "a@example.org, b@example.org"
    assert msg["Message-ID"] == message_id(d.key, "monitor@example.org")
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Monitor-Digest"] == d.key
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_message_id_is_deterministic_per_digest_key() -> None:
    a = message_id("k1", "m@example.org")
    assert a == message_id("k1", "Other Name <m@example.org>")
    assert a != message_id("k2", "m@example.org")
    assert message_id("k1", "m@bad domain!").endswith("@policy-monitor.invalid>")


def test_subject_is_one_bounded_line() -> None:
    topics = [f"topic_{i}" for i in range(30)]
    entries = [entry(record(i, topic=t)) for i, t in enumerate(topics)]
    subject = email_subject(digest(entries), "[watch]\r\nBcc: x@example.org")
    assert "\n" not in subject and "\r" not in subject
    assert len(subject) <= 200
    assert subject.startswith("[watch] Bcc: x@example.org Digest: 30 stories, 30 matches — topic_0")
    assert "+26 more" in subject


def test_hostile_text_is_inert_and_readable_in_email_html() -> None:
    msg = parsed(email_message(hostile_digest(), sender="m@example.org", to=["a@example.org"]))
    html_part = msg.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    parser = _Html()
    parser.feed(html)
    assert "script" not in parser.tags
    assert not [a for a, _ in parser.attrs if a.startswith("on")]
    hrefs = [v for a, v in parser.attrs if a == "href"]
    assert hrefs and all(h is not None and h.startswith("https://news.example.org/") for h in hrefs)
    text = "".join(parser.text)
    for hostile in HOSTILE[:-1]:
        assert clean_text(hostile) in text
    assert "AT&amp;T &lt;b&gt; & friends" in text  # shown as written, not unescaped twice
    assert "&amp;amp;T" in html
    assert "\x1b" not in html and "\u202e" not in html
    assert 'dir="auto"' in html


def test_hostile_text_is_plain_in_email_text_part() -> None:
    msg = parsed(email_message(hostile_digest(), sender="m@example.org", to=["a@example.org"]))
    plain_part = msg.get_body(("plain",))
    assert plain_part is not None
    plain = plain_part.get_content()
    for hostile in HOSTILE[:-1]:
        assert clean_text(hostile) in plain
    assert "javascript:" not in plain.split("bad link")[1].split("\n\n")[0].split("\n")[2]
    assert "\x1b" not in plain and "\u202e" not in plain
    assert "https://news.example.org/story?id=1&lang=en" in plain


def test_email_for_an_empty_digest() -> None:
    msg = parsed(email_message(digest([]), sender="m@example.org", to=["a@example.org"]))
    plain = msg.get_body(("plain",))
    assert plain is not None and "No new matches in this window." in plain.get_content()


# --------------------------------------------------------------------------- webhook


def test_webhook_body_schema() -> None:
    rec = record(1, also_in=("Globe",))
    d = digest([entry(rec, topics=("norad", "arctic_security"), match_ids=(1, 7))])
    body = json.loads(webhook_body(d))
    assert body["schema_version"] == SCHEMA_VERSION
    assert body["digest_key"] == d.key
    assert body["kind"] == "digest" and body["channel"] == "team-slack"
    assert body["window"] == {"start": "2026-03-09T11:00:00Z", "end": "2026-03-09T12:00:00Z"}
    assert body["counts"] == {"stories": 1, "matches": 2}
    assert body["topics"] == ["norad", "arctic_security"]
    (match,) = body["matches"]
    assert match["item"] == 1001 and match["match_ids"] == [1, 7]
    assert match["url"] == rec.url and match["title"] == rec.title
    assert match["story"] == "story-1" and match["topic"] == "norad"
    assert match["topics"] == ["norad", "arctic_security"]
    assert match["score"] == 7.5 and match["severity"] == "digest"
    assert match["published"] == "2026-03-09T12:15:00Z"
    assert match["reasons"][0] == {
        "term": "NORAD",
        "field": "title",
        "position": 0,
        "weight": 3.0,
        "rule": "acronym",
    }
    assert match["also_in"] == ["Globe"]


def test_webhook_body_is_deterministic_utf8_and_safe() -> None:
    d = hostile_digest()
    assert webhook_body(d) == webhook_body(d)
    text = webhook_body(d).decode("utf-8")
    assert "مرحبا" in text and "🚀" in text
    body = json.loads(text)
    assert body["matches"][-1]["url"] is None  # javascript: URL dropped
    assert all("\x1b" not in m["summary"] for m in body["matches"])


@pytest.mark.parametrize(
    ("key", "same"),
    [("team:digest:2026-03-09T12:00Z", True), ("a b", False), ("clé", False), ("", False)],
)
def test_header_safe_key(key: str, same: bool) -> None:
    result = header_safe_key(key)
    assert (result == key) is same
    assert all(33 <= ord(c) < 127 for c in result)
    assert header_safe_key(key) == result


# --------------------------------------------------------------------------- console


def test_console_text() -> None:
    text = console_text(hostile_digest())
    assert text.startswith("Policy Monitor digest · team-slack · 2026-03-09 07:00–08:00 EDT\n")
    assert "1. <script>alert(1)</script>" in text
    assert "\x1b" not in text and "\u202e" not in text
    assert "https://news.example.org/story?id=1&lang=en" in text
    assert "javascript:alert(1)" not in text.split("bad link")[1]


def test_console_text_empty() -> None:
    assert "No new matches in this window." in console_text(digest([]))


def test_local_times_follow_the_digest_timezone() -> None:
    rec = replace(record(1), published=WHEN + timedelta(days=240))  # November, EST
    d = replace(digest([entry(rec)]), timezone="America/Toronto")
    assert "2026-11-04 07:15 EST" in console_text(d)
    assert "2026-11-04 12:15 UTC" in console_text(replace(d, timezone="UTC"))


def test_people_read_topic_names_and_scripts_read_ids() -> None:
    """Slack once showed ``fiveˍeyes`` (an id whose ``_`` became a look-alike): people's
    channels show the topic's name; the webhook keeps the id for scripts."""
    from monitor.digest import build_digest, digest_from_json, digest_to_json

    records = [record(1, topic="five_eyes"), record(2, title="Arctic radar", topic="norad")]
    built = build_digest(
        "team-slack",
        records,
        window_start=None,
        window_end=WHEN,
        timezone="America/Toronto",
        topic_names={"five_eyes": "Five Eyes", "norad": "NORAD review", "unused": "Unused"},
    )
    assert digest_from_json(digest_to_json(built)) == built  # retries render the same
    mail = email_message(built, sender="m@example.org", to=["a@example.org"], subject_prefix="[m]")
    parts = [p.get_content() for p in mail.walk() if p.get_content_maintype() == "text"]
    shown = {
        "slack": json.dumps(slack_messages(built), ensure_ascii=False),
        "console": console_text(built),
        "email": "\n".join([str(mail["Subject"]), *parts]),
    }
    for channel, text in shown.items():
        assert "Five Eyes" in text and "NORAD review" in text, channel
        assert "five\u02cdeyes" not in text and "five_eyes" not in text, channel
        assert "Unused" not in text
    body = json.loads(webhook_body(built))
    assert sorted(body["topics"]) == ["five_eyes", "norad"]


def test_an_amended_item_shows_it_was_updated_and_its_old_title() -> None:
    from dataclasses import replace

    rec = replace(record(1, title="NORAD funding doubled"), previous_title="NORAD funding set")
    d = digest([entry(rec)])
    assert "NORAD funding doubled (updated; was: NORAD funding set)" in console_text(d)
    assert "was: NORAD funding set" in " ".join(all_texts(slack_messages(d)[0]))
    (match,) = json.loads(webhook_body(d))["matches"]
    assert (match["title"], match["previous_title"]) == (
        "NORAD funding doubled",
        "NORAD funding set",
    )
    plain = json.loads(webhook_body(digest([entry(record(2))])))["matches"][0]
    assert plain["previous_title"] is None and "updated" not in console_text(
        digest([entry(record(2))])
    )


def test_an_impossible_stored_date_is_shown_as_unknown_in_every_rendering() -> None:
    """A publication date in year 1 (stored before dates were checked) read in a zone west
    of UTC cannot be converted: every renderer leaves it out instead of failing."""
    poisoned = replace(record(1), published=datetime(1, 1, 1, tzinfo=UTC))
    built = replace(digest([entry(poisoned), entry(record(2))]), timezone="America/Toronto")
    text = console_text(built)
    assert "NORAD" in text and "0001" not in text
    slack = json.dumps(slack_messages(built))
    assert "0001-01-01" not in slack
    mail = email_message(built, sender="m@example.org", to=["a@example.org"])
    assert "0001-01-01" not in mail.as_string()
    [first, _] = json.loads(webhook_body(built))["matches"]
    assert first["published"] is None
