"""Take the pictures of the web pages for the documentation (docs/web-*.png).

Usage: python scripts/screenshot_web.py [--out docs] [--driver /usr/bin/chromedriver]

Owns: a sample store (invented stories from invented outlets over the last month, in English
and French, scored by the shipped watchlists, one story carried by three outlets, a feed
that keeps failing and a few judgements already recorded), the application served over it on
127.0.0.1, and headless chromium driven by selenium photographing each page. Needs Debian's
``chromium`` and ``chromium-driver`` and the test extra (selenium); the tests do not need
this script.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import load_config
from monitor.ingest import save_items
from monitor.model import FeedUpdate, Item
from monitor.score.engine import compile_topics
from monitor.store import Store
from tests.webapp import serving

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)

OUTLETS = [
    ("Capital Wire", "en"),
    ("Northern Ledger", "en"),
    ("Prairie Post", "en"),
    ("Le Quotidien d'Ottawa", "fr"),
    ("Radio Nord", "fr"),
]
STORIES = [
    (
        "Ottawa confirms NORAD radar upgrade for the Arctic",
        "The defence minister said the first over-the-horizon radar sites in the North will be "
        "funded this year, part of the NORAD modernization plan agreed with Washington.",
    ),
    (
        "Droits de douane : Ottawa prépare des contre-mesures sur l'acier américain",
        "Le gouvernement fédéral publiera jeudi une liste de produits visés par des droits de "
        "douane de 25 %, en réponse aux nouvelles taxes américaines sur l'acier.",
    ),
    (
        "Five Eyes ministers meet in Ottawa on intelligence sharing",
        "Ministers from the five partner countries discussed threats to undersea cables and "
        "a common approach to foreign interference.",
    ),
    (
        "Defence budget sets out path to 2 per cent of GDP by 2030",
        "The budget details the purchase of submarines and patrol aircraft, and a defence "
        "spending target in line with NATO's.",
    ),
    (
        "Canada imposes counter-tariffs on US steel and aluminum",
        "Finance officials said the counter-tariffs on steel would take effect within weeks.",
    ),
    (
        "Arctic sovereignty patrols expanded in the Northwest Passage",
        "The Canadian Rangers and the navy will patrol the Northwest Passage through the summer.",
    ),
    (
        "NORAD tracks Russian bombers near Alaska",
        "NORAD said fighter jets were scrambled to identify the aircraft in the air defence zone.",
    ),
    (
        "Tariff talks resume as Canada and US trade officials meet",
        "Trade officials from Canada and the United States resume talks on the tariffs dispute.",
    ),
]
NOISE = [
    ("Hockey night: Senators edge Canadiens in overtime", "A late goal sealed the game."),
    ("Ottawa weather: freezing rain expected overnight", "Drivers are asked to take care."),
    ("City council approves new bike lanes downtown", "The plan adds 12 km of lanes."),
    ("Festival du printemps : la programmation dévoilée", "Trente artistes à l'affiche."),
    (
        "Air defence command renews its northern warning radars",
        "The binational command guarding the continent's airspace will replace the radars.",
    ),
]


def build(store: Store, cfg_topics: list, seed: int = 3) -> None:  # type: ignore[type-arg]
    rng = random.Random(seed)
    matcher = compile_topics(cfg_topics)
    feeds = [
        store.ensure_feed(
            f"https://{name.lower().replace(' ', '-').replace(chr(39), '')}.example.org/feed.xml",
            NOW - timedelta(days=40),
            name=name,
            lang=lang,
        )
        for name, lang in OUTLETS
    ]
    broken = store.ensure_feed(
        "https://old-gazette.example.org/rss", NOW - timedelta(days=40), name="Old Gazette"
    )
    store.record_poll(
        broken.id,
        FeedUpdate(
            polled_at=NOW - timedelta(minutes=20),
            next_poll_at=NOW + timedelta(minutes=40),
            success=False,
            status=503,
            error_kind="http",
            error="HTTP 503 Service Unavailable",
            consecutive_failures=6,
            unhealthy=True,
        ),
    )
    for n, f in enumerate(feeds):
        store.record_poll(
            f.id,
            FeedUpdate(
                polled_at=NOW - timedelta(minutes=3 + n),
                next_poll_at=NOW + timedelta(minutes=12 + n),
                success=True,
                status=200,
                items_per_day=round(rng.uniform(8, 40), 1),
                next_poll_reason="interval",
            ),
        )
    key = 0
    for day in range(30, -1, -1):
        for _ in range(rng.randint(1, 4)):
            title, summary = rng.choice(STORIES + NOISE)
            if day > 0:
                title = f"{title} ({day} days ago)" if rng.random() < 0.5 else title
            carriers = rng.sample(feeds, 3 if day == 0 and title == STORIES[0][0] else 1)
            at = NOW - timedelta(days=day, hours=rng.uniform(0, 10))
            url = f"https://news.example.org/{key}"
            for f in carriers:
                key += 1
                item = Item(
                    key=f"k{key}",
                    feed_url=f.url,
                    title=title,
                    summary=summary,
                    url=url,
                    published=at,
                    lang="fr" if "douane" in title or "Festival" in title else "en",
                    content_hash=f"h{key}",
                )
                found = matcher.score(item.title, item.summary, item.lang)
                save_items(store, f.id, [item], [], {item.key: found} if found else {}, at)
                at += timedelta(minutes=rng.uniform(5, 50))
    # the first story, carried by three outlets, on the morning shown
    first = [
        Item(
            key=f"lead-{f.id}",
            feed_url=f.url,
            title=STORIES[0][0],
            summary=STORIES[0][1],
            url="https://capital-wire.example.org/norad-radar",
            published=NOW - timedelta(hours=3),
            lang="en",
            content_hash="lead",
        )
        for f in feeds[:3]
    ]
    for n, (f, item) in enumerate(zip(feeds[:3], first, strict=True)):
        found = matcher.score(item.title, item.summary, item.lang)
        save_items(store, f.id, [item], [], {item.key: found}, NOW - timedelta(hours=2 - n * 0.5))
    judged = store.matches(limit=40)
    for m in judged[3:12]:
        verdict = "not_relevant" if m.id % 4 == 0 else "relevant"
        store.feedback.record(m.item_id, m.topic, verdict, now=NOW, user="ana", via="web")
    # NORAD review took the story of a bomber intercept, which the analyst does not follow,
    # and missed the radar renewal told without the acronym
    for m in store.matches(topic="norad", limit=None):
        if "bombers" in m.title:
            store.feedback.record(m.item_id, "norad", "not_relevant", now=NOW, user="ana")
    missed = store.items(limit=None)
    for it in missed:
        if it.title.startswith("Air defence command") and not it.topics:
            store.feedback.record(it.id, "norad", "relevant", now=NOW, user="ana")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--driver", default="/usr/bin/chromedriver")
    parser.add_argument("--browser", default="/usr/bin/chromium")
    args = parser.parse_args(argv)

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "monitor.yaml").write_text(
            f"database: sqlite:///{folder / 'web.db'}\n"
            "timezone: America/Toronto\n"
            f"watchlists: ['{ROOT / 'config' / 'watchlists' / '*.yaml'}']\n"
            "status: {listen: '127.0.0.1:0'}\n"
            "channels: [{name: console, type: console}]\n",
            encoding="utf-8",
        )
        cfg = load_config(folder / "monitor.yaml", environ={})
        store = Store.open(cfg.database_url)
        options = webdriver.ChromeOptions()
        options.binary_location = args.browser
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
            options.add_argument(arg)
        options.add_argument("--window-size=1280,900")
        driver = webdriver.Chrome(service=Service(executable_path=args.driver), options=options)
        try:
            build(store, list(cfg.topics))
            lead = store.item(url="https://capital-wire.example.org/norad-radar")
            assert lead is not None
            with serving(store, cfg, now=NOW) as base:
                shots = {
                    "web-matches.png": "/matches",
                    "web-items.png": "/items?q=radar",
                    "web-story.png": f"/stories/{lead.id}",
                    "web-feeds.png": "/feeds",
                    "web-topics.png": "/topics",
                    "web-tune.png": "/topics/norad/tune",
                }
                for name, path in shots.items():
                    driver.get(base + path)
                    if name == "web-matches.png":  # one explanation opened, as on a click
                        driver.find_element(By.CSS_SELECTOR, "details.why summary").click()
                    driver.save_screenshot(str(args.out / name))
                    print(f"wrote {args.out / name}")
        finally:
            driver.quit()
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
