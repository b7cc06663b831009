"""The web pages over HTTP: each page and filter, the login, the cross-site checks, the
escaping of feed text, and /healthz and /metrics, against the application served by uvicorn
on 127.0.0.1 (httpx as the client), on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.access import hash_password, web_auth
from monitor.errors import ConfigError
from monitor.ingest import save_items
from monitor.store import Store
from tests.support import write_config
from tests.test_cli import monitor
from tests.webapp import NOW, TOKEN, Filled, fill, serving, web_config


@pytest.fixture
def site(store: Store, tmp_path: Path) -> Iterator[tuple[httpx.Client, Filled, Store]]:
    filled = fill(store)
    with (
        serving(store, web_config(tmp_path)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield client, filled, store


def _rows(html: str, cls: str) -> list[int]:
    """The item ids of the rows of class ``cls``, in page order."""
    return [int(n) for n in re.findall(rf'<tr id="item-(\d+)" class="{cls}"', html)]


def _row(html: str, item_id: int) -> str:
    """The markup of the page's row of item ``item_id``."""
    return html.split(f'<tr id="item-{item_id}"')[1].split("\n  </tr>")[0]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page carries no form token"
    return found.group(1)


def test_healthz_and_metrics_answer_as_before(site: tuple[httpx.Client, Filled, Store]) -> None:
    client, _, _ = site
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.headers["content-type"] == "application/json"
    assert health.json() == {"status": "ok", "checked": True}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and metrics.text == "monitor_up 1\n"
    assert metrics.headers["content-type"].startswith("text/plain")
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    missing = client.get("/nope")
    assert missing.status_code == 404 and "/healthz" in missing.text


def test_matches_newest_first_with_also_in_score_and_explanation(
    site: tuple[httpx.Client, Filled, Store],
) -> None:
    client, filled, _ = site
    page = client.get("/matches")
    assert page.status_code == 200
    rows = _rows(page.text, "match")
    assert filled.norad in rows and filled.tariffs in rows and filled.old in rows
    # matched at: hostile items 30 min ago, tariffs 1 h, norad 2 h, the old one 10 days
    assert rows.index(filled.tariffs) < rows.index(filled.norad) < rows.index(filled.old)
    row = _row(page.text, filled.norad)
    assert "also in Gazette" in row
    assert "6.00" in row
    assert "<details" in row and "group:norad" in row and "NORAD" in row
    assert "NORAD review" in row  # the topic's name, not its id


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("topic=tariffs", ["tariffs"], ["norad", "old"]),
        ("severity=alert", ["norad"], ["tariffs", "old"]),
        ("lang=fr", ["tariffs"], ["norad", "old"]),
        ("q=MODERNIZATION", ["norad"], ["tariffs", "old"]),
        ("q=aerospace", ["norad"], ["tariffs"]),  # in the summary only
        ("from=2026-03-08&to=2026-03-09", ["norad", "tariffs"], ["old"]),
        ("to=2026-03-01", ["old"], ["norad", "tariffs"]),
    ],
)
def test_each_matches_filter_selects(
    site: tuple[httpx.Client, Filled, Store], query: str, present: list[str], absent: list[str]
) -> None:
    client, filled, _ = site
    rows = _rows(client.get(f"/matches?{query}").text, "match")
    for name in present:
        assert getattr(filled, name) in rows, (query, name)
    for name in absent:
        assert getattr(filled, name) not in rows, (query, name)


def test_matches_filter_by_feed(site: tuple[httpx.Client, Filled, Store]) -> None:
    client, filled, store = site
    gazette = next(f for f in store.feeds() if f.name == "Gazette")
    rows = _rows(client.get(f"/matches?feed={gazette.id}").text, "match")
    assert set(rows) == {filled.norad, filled.tariffs}


def test_a_filter_that_cannot_be_read_says_what_to_write(
    site: tuple[httpx.Client, Filled, Store],
) -> None:
    client, _, _ = site
    bad = client.get("/matches?from=last+week")
    assert bad.status_code == 400
    assert "YYYY-MM-DD" in bad.text and "last week" in bad.text
    assert client.get("/items?feed=globe").status_code == 400
    assert client.get("/matches?from=2026-03-09&to=2026-03-01").status_code == 400


def test_items_lists_everything_and_finds_the_unmatched(
    site: tuple[httpx.Client, Filled, Store],
) -> None:
    client, filled, _ = site
    everything = _rows(client.get("/items").text, "item")
    assert {filled.norad, filled.miss, filled.tariffs, filled.old} <= set(everything)
    found = _rows(client.get("/items", params={"q": "over-the-horizon"}).text, "item")
    assert found == [filled.miss]
    unmatched = _rows(client.get("/items?matched=no").text, "item")
    assert filled.miss in unmatched and filled.norad not in unmatched
    matched = _rows(client.get("/items?matched=yes&topic=tariffs").text, "item")
    assert matched == [filled.tariffs]
    assert filled.tariffs in _rows(client.get("/items?lang=fr").text, "item")
    assert filled.miss not in _rows(client.get("/items?lang=fr").text, "item")


def test_items_pages_through_everything(store: Store, tmp_path: Path) -> None:
    globe = store.ensure_feed("https://globe.example.org/feed.xml", NOW, name="Globe")
    from tests.webapp import _item

    save_items(
        store,
        globe.id,
        [_item(globe.url, f"k{n}", f"Story number {n}") for n in range(120)],
        [],
        {},
        NOW,
    )
    seen: list[int] = []
    with (
        serving(store, web_config(tmp_path)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        url: str | None = "/items"
        while url:
            page = client.get(url).text
            seen += _rows(page, "item")
            nxt = re.search(r'<a href="([^"]+)" rel="next">', page)
            url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert len(seen) == len(set(seen)) == 120


def test_story_shows_every_copy_with_times(site: tuple[httpx.Client, Filled, Store]) -> None:
    client, filled, _ = site
    page = client.get(f"/stories/{filled.norad}")
    assert page.status_code == 200
    copies = page.text.split('id="copies"')[1]
    assert copies.index("Globe") < copies.index("Gazette")  # in the order first seen
    assert copies.count('class="copy') == 2
    assert "2026-03-09 10:00" in copies and "2026-03-09 11:00" in copies
    assert client.get("/stories/999999").status_code == 404


def test_feeds_broken_first(site: tuple[httpx.Client, Filled, Store]) -> None:
    client, _, _ = site
    table = client.get("/feeds").text.split('id="feeds"')[1]
    assert table.index("Broken Wire") < table.index("Globe")
    broken = table.split("Broken Wire")[1].split("</tr>")[0]
    assert "unhealthy" in broken and ">4<" in broken and "503" in broken
    assert "&lt;b&gt;Service Unavailable&lt;/b&gt;" in broken  # the error is text
    globe = table.split(">Globe<")[1].split("</tr>")[0]
    assert "12.5" in globe and "2026-03-09 11:55" in globe


def test_topics_chart_counts_matches_per_day(site: tuple[httpx.Client, Filled, Store]) -> None:
    client, _, _ = site
    page = client.get("/topics").text
    norad = page.split('id="topic-norad"')[1].split("</section>")[0]
    # today: norad-1 and the hostile items; ten days ago: the old one
    bars = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+)</title>", norad)
    assert ("2026-02-27", "1") in bars
    assert any(day == "2026-03-09" and int(n) > 1 for day, n in bars)
    assert "<svg" in norad
    assert "no match judged yet" in norad


def test_feedback_recorded_and_shown(site: tuple[httpx.Client, Filled, Store]) -> None:
    client, filled, store = site
    page = client.get("/matches").text
    sent = client.post(
        "/feedback",
        data={
            "csrf": _csrf(page),
            "item": filled.tariffs,
            "topic": "tariffs",
            "verdict": "not_relevant",
            "back": "/matches?topic=tariffs",
        },
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/matches?topic=tariffs#item-{filled.tariffs}"
    (judged,) = store.feedback.standing(topic="tariffs")
    assert (judged.item_id, judged.verdict, judged.via) == (
        filled.tariffs,
        "not_relevant",
        "web",
    )
    row = _row(client.get("/matches?topic=tariffs").text, filled.tariffs)
    assert "marked not relevant" in row
    topics = client.get("/topics").text.split('id="topic-tariffs"')[1].split("</section>")[0]
    assert "0%" in topics and "1 wrong" in topics


def test_feedback_form_refuses_what_it_cannot_record(
    site: tuple[httpx.Client, Filled, Store],
) -> None:
    client, filled, store = site
    token = _csrf(client.get("/matches").text)
    base = {"csrf": token, "item": filled.norad, "topic": "norad", "verdict": "relevant"}
    assert client.post("/feedback", data={**base, "topic": "nope"}).status_code == 400
    assert client.post("/feedback", data={**base, "verdict": "maybe"}).status_code == 400
    assert client.post("/feedback", data={**base, "item": 999999}).status_code == 404
    stale = client.post("/feedback", data={**base, "csrf": "0" * 64})
    assert stale.status_code == 403 and "token" in stale.text
    assert store.feedback.standing() == []
    # a back address off this site is not followed
    sent = client.post("/feedback", data={**base, "back": "//evil.example.org/"})
    assert sent.headers["location"] == f"/matches#item-{filled.norad}"


def test_cross_site_posts_are_refused(site: tuple[httpx.Client, Filled, Store]) -> None:
    client, filled, store = site
    form = {
        "csrf": _csrf(client.get("/matches").text),
        "item": filled.norad,
        "topic": "norad",
        "verdict": "not_relevant",
    }
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example.org"},
        {"Origin": "null"},
    ):
        refused = client.post("/feedback", data=form, headers=headers)
        assert refused.status_code == 403, headers
        assert "refused" in refused.text
    assert store.feedback.standing() == []
    same = client.post(
        "/feedback",
        data=form,
        headers={"Sec-Fetch-Site": "same-origin", "Origin": str(client.base_url).rstrip("/")},
    )
    assert same.status_code == 303


def test_hostile_feed_text_is_escaped_everywhere(site: tuple[httpx.Client, Filled, Store]) -> None:
    client, filled, _ = site
    pages = [
        client.get("/matches").text,
        client.get("/items").text,
        client.get("/feeds").text,
        client.get("/topics").text,
        *(client.get(f"/stories/{n}").text for n in filled.hostile),
    ]
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert 'href="javascript:' not in html and "href='javascript:" not in html
    matches = pages[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in matches
    assert "&lt;img src=x onerror=alert(7)&gt;" in matches
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[2]  # the feed's name


def test_a_request_naming_another_host_is_refused_without_a_login(
    site: tuple[httpx.Client, Filled, Store],
) -> None:
    client, _, _ = site
    assert client.get("/matches", headers={"Host": "localhost"}).status_code == 200
    rebound = client.get("/matches", headers={"Host": "attacker.example.org"})
    assert rebound.status_code == 403
    assert client.get("/healthz", headers={"Host": "attacker.example.org"}).status_code == 200


def test_login_by_token_or_user_password(store: Store, tmp_path: Path) -> None:
    fill(store)
    env = {
        "MONITOR_WEB_TOKEN": TOKEN,
        "MONITOR_WEB_USERS": "ana:" + hash_password("s3cret pass", b"salt-salt", 1000),
    }
    with (
        serving(store, web_config(tmp_path, env)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        asked = client.get("/matches")
        assert asked.status_code == 401 and "Basic" in asked.headers["www-authenticate"]
        assert client.get("/healthz").status_code == 200  # probes need no login
        assert client.get("/matches", auth=("ana", "wrong")).status_code == 401
        page = client.get("/matches", auth=("ana", "s3cret pass"))
        assert page.status_code == 200 and "ana ·" in page.text
        bearer = client.get("/matches", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status_code == 200
        basic = base64.b64encode(f"x:{TOKEN}".encode()).decode()
        assert client.get("/feeds", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        # a form token is the user's: ana's page does not sign another user's POST
        token = _csrf(page.text)
        form = {"csrf": token, "item": 1, "topic": "norad", "verdict": "relevant"}
        refused = client.post("/feedback", data=form, headers={"Authorization": f"Bearer {TOKEN}"})
        assert refused.status_code == 403


@pytest.mark.parametrize("listen", ["0.0.0.0:8787", "[::]:8787", "192.0.2.7:80"])
def test_listening_off_loopback_without_a_login_is_refused(tmp_path: Path, listen: str) -> None:
    with pytest.raises(ConfigError) as refused:
        web_config(tmp_path, {"MONITOR_STATUS_LISTEN": listen})
    assert "MONITOR_WEB_TOKEN" in str(refused.value) and listen in str(refused.value)
    cfg = web_config(tmp_path, {"MONITOR_STATUS_LISTEN": listen, "MONITOR_WEB_TOKEN": TOKEN})
    assert cfg.status.listen == listen and cfg.web_auth.token == TOKEN


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"MONITOR_WEB_TOKEN": "short"}, "at least 16"),
        ({"MONITOR_WEB_USERS": "ana"}, "no ':'"),
        ({"MONITOR_WEB_USERS": "ana:plaintext"}, "not a password hash"),
    ],
)
def test_credentials_that_cannot_be_used_are_reported(
    tmp_path: Path, env: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        web_config(tmp_path, env)
    assert words in str(refused.value)


def test_check_reports_an_open_address_without_a_login_and_run_refuses_it(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path, "status: {listen: '0.0.0.0:0'}\n")
    env = dict.fromkeys(("MONITOR_WEB_TOKEN", "MONITOR_WEB_USERS", "MONITOR_STATUS_LISTEN"), "")
    env.pop("MONITOR_STATUS_LISTEN")
    line = path.read_text().splitlines().index("status: {listen: '0.0.0.0:0'}") + 1
    checked = monitor(path, "check", env=env)
    assert checked.returncode == 2
    assert f"{path}:{line}: status.listen is 0.0.0.0:0" in checked.stderr, checked.stderr
    ran = monitor(path, "run", env=env)
    assert ran.returncode == 2 and "MONITOR_WEB_TOKEN" in ran.stderr
    assert monitor(path, "check", env={**env, "MONITOR_WEB_TOKEN": TOKEN}).returncode == 0


def test_web_password_prints_a_hash_the_login_accepts(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    made = monitor(path, "web-password", "ana", "--password", "correct horse")
    assert made.returncode == 0, made.stderr
    line = made.stdout.strip()
    assert line.startswith("ana:pbkdf2_sha256$") and "correct horse" not in line
    auth, problems = web_auth({"MONITOR_WEB_USERS": line})
    assert problems == []
    basic = base64.b64encode(b"ana:correct horse").decode()
    assert auth.user(f"Basic {basic}") == "ana"
    assert auth.user(f"Basic {base64.b64encode(b'ana:wrong').decode()}") is None


def test_chart_days_are_local_days_even_when_the_clock_changes() -> None:
    from datetime import date
    from zoneinfo import ZoneInfo

    from monitor.web.charts import bars_svg, day_bounds

    bounds = day_bounds(date(2026, 3, 9), 3, ZoneInfo("America/Toronto"))
    assert [b.isoformat() for b in bounds] == [
        "2026-03-07T05:00:00+00:00",
        "2026-03-08T05:00:00+00:00",  # clocks go forward that night: a 23-hour day
        "2026-03-09T04:00:00+00:00",
        "2026-03-10T04:00:00+00:00",
    ]
    svg = bars_svg([0, 3, 1], date(2026, 3, 9), label="<b>x</b>")
    assert svg.count("<rect") == 2 and "2026-03-08: 3" in svg and "&lt;b&gt;x" in svg


def test_tune_page_suggests_a_change_measured_on_the_judgements(
    site: tuple[httpx.Client, Filled, Store],
) -> None:
    client, filled, store = site
    assert "No judgement of this topic" in client.get("/topics/norad/tune").text
    for item in filled.hostile[:2]:
        store.feedback.record(item, "norad", "not_relevant", now=NOW, via="web")
    store.feedback.record(filled.norad, "norad", "relevant", now=NOW, via="web")
    page = client.get("/topics/norad/tune")
    assert page.status_code == 200
    suggestion = page.text.split('class="card suggestion"')[1].split("</section>")[0]
    assert "Exclude" in suggestion and "<pre" in suggestion and "exclude:" in suggestion
    before, after = re.findall(r"precision (\d\.\d\d) → <b>(\d\.\d\d)</b>", suggestion)[0]
    assert float(after) > float(before)
    assert "<script" not in page.text  # the hostile words are shown as text
    assert client.get("/topics/nope/tune").status_code == 404
    assert 'href="/topics/norad/tune"' in client.get("/topics").text
