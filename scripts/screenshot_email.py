"""Render a sample digest email and take a picture of it for the documentation.

Usage: python scripts/screenshot_email.py [--out docs/digest-email.png] [--html FILE] [--slack]

Owns: a sample digest (invented stories from invented outlets, in English and French, one
carried by several outlets) and the headless-browser call that photographs its HTML email.
``--slack`` prints the same digest as Slack would show it and its first story block, for
docs/delivery.md. Needs Debian's ``chromium`` on the PATH for the picture; the tests do not.
Imports only ``monitor.model``, ``monitor.digest``, ``monitor.links`` and ``monitor.render`` (no
I/O modules). The sample carries the digest links a configured ``web.public_url`` adds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.digest import build_digest
from monitor.links import DigestLinks
from monitor.model import Digest, MatchRecord, Reason
from monitor.render import email_message, slack_messages

ROOT = Path(__file__).resolve().parent.parent
WINDOW_END = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # 08:00 in Toronto
#: the "Open" and "Not relevant" links a digest carries when ``web.public_url`` is set
SAMPLE_LINKS = DigestLinks("https://monitor.example.org", "sample-secret-not-for-use-0123")


def _match(
    n: int,
    *,
    title: str,
    summary: str,
    outlet: str,
    topic: str,
    score: float,
    reasons: list[tuple[str, str, float]],
    severity: str = "digest",
    also_in: tuple[str, ...] = (),
    hours_ago: float = 2.0,
    story: str | None = None,
    item: int | None = None,
) -> MatchRecord:
    slug = outlet.lower().replace(" ", "-").replace("'", "")
    published = WINDOW_END - timedelta(hours=hours_ago)
    return MatchRecord(
        id=n,
        item_id=item or 1000 + n,
        feed_url=f"https://{slug}.example.org/feed.xml",
        feed_name=outlet,
        url=f"https://{slug}.example.org/story/{1000 + n}",
        title=title,
        summary=summary,
        published=published,
        topic=topic,
        score=score,
        severity=severity,
        reasons=tuple(Reason(t, f, 0, w, "group") for t, f, w in reasons),
        matched_at=published + timedelta(minutes=4),
        story=story,
        also_in=also_in,
    )


def sample_matches() -> list[MatchRecord]:
    """Invented but typical matches of the shipped topics, English and French."""
    radar = (
        "Ottawa confirms NORAD radar upgrade for the Arctic",
        "The defence minister said the first over-the-horizon radar sites in the North will be "
        "funded this year, part of the NORAD modernization plan agreed with Washington.",
    )
    return [
        _match(
            1,
            title=radar[0],
            summary=radar[1],
            outlet="Capital Wire",
            topic="norad",
            score=8.5,
            severity="alert",
            reasons=[("NORAD", "title", 3), ("over-the-horizon radar", "summary", 2)],
            also_in=("Northern Ledger", "Prairie Post"),
            hours_ago=3.5,
            story="st-41",
            item=2001,
        ),
        _match(
            2,
            title=radar[0],
            summary=radar[1],
            outlet="Capital Wire",
            topic="arctic_security",
            score=5.0,
            reasons=[("Arctic", "title", 2), ("the North", "summary", 1)],
            also_in=("Northern Ledger", "Prairie Post"),
            hours_ago=3.5,
            story="st-41",
            item=2001,
        ),
        _match(
            3,
            title="Droits de douane : Ottawa prépare des contre-mesures sur l’acier américain",
            summary="Le gouvernement fédéral publiera jeudi une liste de produits visés par des "
            "droits de douane de 25 %, en réponse aux nouvelles taxes américaines sur l’acier "
            "et l’aluminium.",
            outlet="Le Quotidien d'Ottawa",
            topic="tariffs",
            score=7.0,
            reasons=[("droits de douane", "title", 3), ("Ottawa", "title", 0)],
            also_in=("Radio Nord",),
            hours_ago=5,
        ),
        _match(
            4,
            title="Five Eyes ministers meet in Ottawa on intelligence sharing",
            summary="Ministers from the five partner countries discussed threats to undersea "
            "cables and a common approach to foreign interference.",
            outlet="Northern Ledger",
            topic="five_eyes",
            score=6.0,
            reasons=[("Five Eyes", "title", 3), ("intelligence sharing", "title", 2)],
            hours_ago=9,
        ),
        _match(
            5,
            title="Dépenses militaires : le budget prévoit 2 % du PIB d’ici 2030",
            summary="Le plan budgétaire détaille l’achat de sous-marins et de nouveaux avions "
            "de patrouille, et fixe une cible de dépenses de défense conforme à l’OTAN.",
            outlet="Radio Nord",
            topic="defence_spending",
            score=5.5,
            reasons=[("dépenses militaires", "title", 3), ("budget", "title", 1)],
            hours_ago=14,
        ),
    ]


#: the names of the shipped watchlist's topics: people read names, not ids
TOPIC_NAMES = {
    "norad": "NORAD review",
    "five_eyes": "Five Eyes",
    "tariffs": "US–Canada tariffs",
    "defence_spending": "Defence spending",
    "arctic_security": "Arctic security",
}


def sample_digest() -> Digest:
    return build_digest(
        "analysts",
        sample_matches(),
        window_start=WINDOW_END - timedelta(days=1),
        window_end=WINDOW_END,
        timezone="America/Toronto",
        topic_names=TOPIC_NAMES,
    )


def email_html(digest: Digest) -> str:
    msg = email_message(
        digest,
        sender="Policy Monitor <monitor@example.org>",
        to=["analysts@example.org"],
        links=SAMPLE_LINKS,
    )
    part = msg.get_body(preferencelist=("html",))
    if part is None:  # pragma: no cover - email_message always adds the HTML part
        raise RuntimeError("the email has no HTML part")
    return str(part.get_content())


def screenshot(html: str, out: Path, *, browser: str, size: str = "900,1400") -> None:
    """Photograph ``html`` with headless chromium into ``out`` (PNG)."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "digest.html"
        page.write_text(html, encoding="utf-8")
        profile = Path(tmp) / "profile"
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={out.resolve()}",
                f"--window-size={size}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def slack_preview(digest: Digest) -> str:
    """The Slack messages of ``digest`` as plain text, roughly as Slack displays them."""
    lines: list[str] = []
    for message in slack_messages(digest, SAMPLE_LINKS):
        for block in message["blocks"]:
            if block["type"] == "header":
                lines.append(block["text"]["text"])
            elif block["type"] == "context":
                lines.append("   ".join(e["text"] for e in block["elements"]))
            else:
                lines += ["", block["text"]["text"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "digest-email.png")
    parser.add_argument("--html", type=Path, help="Also keep the HTML email in this file.")
    parser.add_argument("--slack", action="store_true", help="Print the Slack form too.")
    parser.add_argument("--browser", default="chromium")
    args = parser.parse_args(argv)
    digest = sample_digest()
    html = email_html(digest)
    if args.html:
        args.html.write_text(html, encoding="utf-8")
    if args.slack:
        print(slack_preview(digest))
        print()
        first = slack_messages(digest, SAMPLE_LINKS)[0]["blocks"][2]
        print(json.dumps(first, ensure_ascii=False, indent=1))
    browser = shutil.which(args.browser)
    if browser is None:
        print(
            f"'{args.browser}' is not installed; on Debian: apt-get install chromium",
            file=sys.stderr,
        )
        return 2
    screenshot(html, args.out, browser=browser)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
