"""End to end for what ingest keeps and shows: the per-document entry cap, ``monitor items``
and OPML import/export, run as the ``monitor`` command against feeds served on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

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
