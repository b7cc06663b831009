"""End to end for what ingest keeps and shows: the per-document entry cap, ``monitor items``
and OPML import/export, run as the ``monitor`` command against feeds served on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, rss_feed
from tests.support import write_config
from tests.test_cli import monitor


def test_entries_past_the_cap_are_logged_and_shown_in_feeds(tmp_path: Path) -> None:
    with FeedServer() as server:
        url = server.feed("/archive.xml", rss_feed("Archive", [f"Episode {n}" for n in range(12)]))
        cfg = write_config(
            tmp_path,
            f"""
            polling: {{max_entries: 5}}
            feeds:
              - {{url: "{url}", name: Archive}}
            """,
        )
        polled = monitor(cfg, "poll", "--once")
    assert polled.returncode == 0, polled.stderr
    assert "5 new item(s)" in polled.stdout
    assert "7 entries past polling.max_entries" in polled.stderr
    [feed] = json.loads(monitor(cfg, "feeds", "--format", "json").stdout)
    assert feed["entries_cut"] == 7
    table = monitor(cfg, "feeds")
    assert "7 entries past polling.max_entries not read" in " ".join(table.stdout.split())


@pytest.mark.slow
def test_items_lists_what_each_feed_stored_matched_or_not(tmp_path: Path) -> None:
    from tests.test_cli import OFF_TOPIC, ON_TOPIC

    with FeedServer() as server:
        news = server.feed("/news.xml", rss_feed("News", ON_TOPIC + OFF_TOPIC))
        wire = server.feed("/wire.xml", rss_feed("Wire", [OFF_TOPIC[1]]))
        cfg = write_config(
            tmp_path,
            f"""
            feeds:
              - {{url: "{news}", name: News}}
              - {{url: "{wire}", name: Wire}}
            """,
        )
        polled = monitor(cfg, "poll", "--once")
    assert polled.returncode == 0, polled.stderr
    out = monitor(cfg, "items", "--format", "json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    # per feed, newest first; an item carried by both feeds is listed under each
    assert [(i["feed_name"], i["title"]) for i in listed[:2]] == [
        ("News", ON_TOPIC[1].title),
        ("News", ON_TOPIC[0].title),
    ]
    assert {i["title"] for i in listed[2:4]} == {s.title for s in OFF_TOPIC}
    assert [(i["feed_name"], i["title"]) for i in listed[4:]] == [("Wire", OFF_TOPIC[1].title)]
    by_title = {i["title"]: i for i in listed[:4]}
    first = by_title[ON_TOPIC[0].title]
    assert set(first) >= {"id", "feed", "url", "title", "published", "story", "topics"}
    assert first["feed"] == news and first["topics"] == ["norad"]
    assert first["url"] == "https://news.example.org/norad-talks"
    assert first["published"] == "2026-11-20T12:00:00+00:00"
    hydro = by_title[OFF_TOPIC[1].title]
    assert hydro["topics"] == [] and hydro["story"]  # unmatched, still listed
    assert hydro["id"] == listed[4]["id"]

    only = json.loads(monitor(cfg, "items", "--feed", wire, "--format", "json").stdout)
    assert [i["title"] for i in only] == [OFF_TOPIC[1].title]
    recent = json.loads(monitor(cfg, "items", "--since", "1h", "--format", "json").stdout)
    assert len(recent) == len(listed)
    table = monitor(cfg, "items")
    assert table.returncode == 0, table.stderr
    assert "Ontario electricity tariffs" in table.stdout and "norad" in table.stdout
    bad = monitor(cfg, "items", "--since", "soon")
    assert bad.returncode != 0 and "neither a duration" in bad.stderr


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Exported elsewhere</title></head><body>
  <outline text="Canada">
    <outline type="rss" text="Desk" title="Defence Desk" xmlUrl="https://desk.example/rss"/>
    <outline type="rss" text="Known" xmlUrl="https://known.example/rss"/>
    <outline type="rss" text="Broken" xmlUrl="javascript:alert(1)"/>
  </outline>
  <outline type="rss" text="Quotidien" xmlUrl="https://quotidien.example/fil" language="fr"/>
</body></opml>
"""


@pytest.mark.slow
def test_feeds_import_keeps_comments_and_order_and_export_round_trips(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        """
        # polling as the team agreed
        polling: {interval: 20m}
        feeds:
          # the wire first
          - {url: "https://known.example/rss", name: Known}   # keep me
          - {url: "https://other.example/rss", name: Other, lang: en}
        channels:
          - {name: console, type: console}
        """,
    )
    before = cfg.read_text()
    opml = tmp_path / "list.opml"
    opml.write_text(OPML, encoding="utf-8")

    result = monitor(cfg, "feeds", "import", str(opml))
    assert result.returncode == 1  # the invalid outline makes the exit status say so
    assert "added 2 feed(s)" in result.stdout and "1 duplicate(s) skipped" in result.stdout
    assert "https://known.example/rss: configured already" in result.stdout
    assert "outline 'Broken'" in result.stderr and "not an http(s) URL" in result.stderr
    after = cfg.read_text()
    # every line that was there is still there, in order; the new feeds follow the old ones
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == [
        "  - {url: https://desk.example/rss, name: Defence Desk}",
        "  - {url: https://quotidien.example/fil, name: Quotidien, lang: fr}",
    ]
    assert [line for line in after.splitlines() if line in before.splitlines()] == (
        before.splitlines()
    )
    assert after.index("quotidien") < after.index("channels:")

    again = monitor(cfg, "feeds", "import", str(opml))
    assert "added 0 feed(s)" in again.stdout and after == cfg.read_text()

    exported = monitor(cfg, "feeds", "export")
    assert exported.returncode == 0, exported.stderr
    assert '<opml version="2.0">' in exported.stdout
    (tmp_path / "round.opml").write_text(exported.stdout, encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    fresh = write_config(other, "channels:\n  - {name: console, type: console}\n")
    imported = monitor(fresh, "feeds", "import", str(tmp_path / "round.opml"))
    assert imported.returncode == 0, imported.stderr
    feeds = [
        (f["url"], f["name"])
        for f in json.loads(monitor(fresh, "feeds", "--format", "json").stdout)
    ]
    assert feeds == [
        ("https://known.example/rss", "Known"),
        ("https://other.example/rss", "Other"),
        ("https://desk.example/rss", "Defence Desk"),
        ("https://quotidien.example/fil", "Quotidien"),
    ]


def test_feeds_import_of_a_file_that_is_not_opml_changes_nothing(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "feeds: []\n")
    before = cfg.read_text()
    bad = tmp_path / "feed.xml"
    bad.write_text("<rss version='2.0'><channel/></rss>", encoding="utf-8")
    result = monitor(cfg, "feeds", "import", str(bad))
    assert result.returncode == 1 and "root element is <rss>" in result.stderr
    missing = monitor(cfg, "feeds", "import", str(tmp_path / "nowhere.opml"))
    assert missing.returncode == 2 and "cannot read the file" in missing.stderr
    assert cfg.read_text() == before
