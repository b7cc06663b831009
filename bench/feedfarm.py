"""A farm of synthetic news feeds served from their own process, for the polling benchmark.

Owns: generating realistic feed documents (RSS 2.0 and Atom, English and French, titles and
summaries of 20-80 words, some on the default watch-topics, most not, a few wire stories
carried by several feeds) and serving them with the project's test feed server
(``tests.feedserver``), which it drives through commands read on standard input. Imports
nothing from ``monitor``: the farm is the world the monitor polls, not part of it.

Run by ``bench/bench_poll.py``; by hand::

    python bench/feedfarm.py --feeds 1000 --items 30 --hosts 13

It prints one JSON line ``{"bases": [...], "feeds": N}``. Feed ``n`` is
``bases[n % len(bases)] + "/f{n}.xml"``. Then it reads commands, one a line, and answers
each with one JSON line:

``state faults=F update=U seed=S``
    Serve the base documents, except that a fraction ``U`` of the feeds (chosen by ``S``)
    carry three new stories in place of their three oldest, and a fraction ``F`` (always the
    same feeds for a given ``F``) misbehave in one of the ways listed in :data:`FAULTS`.
``stats``
    How many requests were answered, and the most answered at once.
``quit`` (or end of input)
    Stop serving and exit.

With ``--articles F``, a fraction ``F`` of the feeds give one short sentence as each item's
summary, and each item's link is an article page served by the farm (``/a/...`` on the feed's
own host: :func:`article_page`, the story's summary opening its text).

Validators vary like real servers': most feeds send ``ETag`` and ``Last-Modified``, one in ten
only ``Last-Modified``, and one in ten neither (a client can only compare bodies for those).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.feedserver import FeedServer, SampleItem, atom_feed, rss_feed

#: The ways a faulty feed misbehaves, taken in turn. ``hang`` and ``trickle`` cost a client its
#: timeout; the rest answer at once.
FAULTS = (
    "http500",
    "http503",
    "http429",
    "http404",
    "html200",
    "invalid_xml",
    "empty",
    "redirect_loop",
    "truncated",
    "http500",
    "http503",
    "html200",
    "hang",
    "trickle",
)
QUICK_FAULTS = tuple(f for f in FAULTS if f not in ("hang", "trickle"))

BASE_DATE = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)

# -- text ------------------------------------------------------------------------------------
#
# Local news in both languages, made of words drawn with news-like frequencies: function words
# most of the time, then content words, place and people's names, and numbers. Copies of one
# story are rare in real feeds; with ``--text plain`` runs of four words seldom repeat between
# items. Real news does repeat phrases, though: ``--text phrases`` builds sentences around stock
# phrases, the hard case for story clustering's candidate search.

_EN_COMMON = (
    "the of and to in a is that for on with as was by at from it an be this are have has "
    "said will after over more about than into its their who were been but not they which "
    "would could may also had up out when while some other new first last two three"
).split()
_EN_CONTENT = (
    "council mayor budget school hospital transit bus route library park housing rent tenants "
    "landlord nurses doctors clinic patients wait times road repairs bridge construction crews "
    "weather storm flooding snow heat wildfire smoke evacuation residents neighbours festival "
    "concert museum gallery theatre team season coach players fans stadium arena tickets "
    "farmers harvest crops market prices grocery inflation wages workers union strike contract "
    "company jobs plant factory layoffs expansion investment startup technology software "
    "students teachers university college tuition research study scientists survey report "
    "police court judge trial charges investigation inquiry audit review hearing vote motion "
    "bylaw permit zoning development towers downtown suburb neighbourhood community volunteers "
    "charity donation fundraiser shelter food bank recycling garbage water pipes power outage "
    "airport flights terminal passengers highway traffic collision cyclists pedestrians "
    "announced approved delayed rejected proposed launched reopened closed expanded cancelled "
    "promised warned celebrated questioned criticized welcomed confirmed estimated planned "
    "local regional provincial municipal annual public private major small large early late "
    "higher lower rising falling weekly monthly quiet busy popular controversial historic"
).split()
_FR_COMMON = (
    "le la les de des du et en un une pour dans sur par avec au aux est sont a été plus selon "
    "lors cette ces entre deux trois qui que ne pas son sa ses leur leurs mais aussi après "
    "avant depuis chez sans très"
).split()
_FR_CONTENT = (
    "conseil maire budget école hôpital autobus trajet bibliothèque parc logement loyer "
    "locataires infirmières médecins clinique patients attente routes travaux pont chantier "
    "météo tempête inondation neige chaleur incendie fumée évacuation résidents voisins "
    "festival spectacle musée équipe saison joueurs partisans aréna billets agriculteurs "
    "récolte marché prix épicerie salaires travailleurs syndicat grève entreprise emplois usine "
    "investissement étudiants enseignants université recherche étude sondage rapport police "
    "tribunal juge procès enquête vérification audience vote règlement permis quartier "
    "bénévoles organisme dons refuge recyclage collecte eau panne aéroport vols passagers "
    "autoroute circulation cyclistes piétons annoncé approuvé reporté rejeté proposé lancé "
    "rouvert fermé élargi annulé promis averti célébré critiqué confirmé prévu local régional "
    "municipal annuel public privé important petit grand hausse baisse populaire historique"
).split()
_SYLLABLES = "ba ri tor ne sa lo mi vel du ran ko ta li mo pe su na vi go ze ha ber cha".split()

# Phrases from the default watch-topics, mixed into a few items so that some of them match.
_EN_TOPICS = (
    ("NORAD modernization", "Canadian"),
    ("the North Warning System replacement", "Canada"),
    ("continental missile defence", "Ottawa"),
    ("counter-tariffs on American steel", "Canada"),
    ("the CUSMA review and softwood lumber duties", "Canadian"),
    ("the Five Eyes intelligence alliance", "Canada"),
    ("defence spending of two per cent of GDP", "Canada"),
    ("new submarines and fighter jets for the Canadian Armed Forces", "Ottawa"),
    ("Arctic sovereignty and Russian military activity", "Nunavut"),
    ("border security and fentanyl seizures by the CBSA", "Canada"),
)
_EN_NEAR_MISS = (
    ("NORAD tracks Santa Claus", "Christmas Eve"),
    ("electricity tariffs", "Ontario"),
)
_FR_TOPICS = (
    ("les droits de douane sur l'acier", "Canada"),
    ("les dépenses militaires", "Ottawa"),
    ("la modernisation du NORAD", "canadienne"),
    ("la souveraineté dans l'Arctique et les brise-glaces", "Canada"),
)


# Phrases news repeats across unrelated stories (attributions, stock openings, institutions).
# With ``--text phrases`` a sentence is built around one or two of them, drawn with a skewed
# frequency as in real news, so runs of four words recur across thousands of items.
_EN_PHRASES = (
    "said in a statement on Monday",
    "said in a statement on Tuesday",
    "said in a statement on Wednesday",
    "said in a statement on Thursday",
    "said in a statement on Friday",
    "the city council approved",
    "the city council voted to",
    "the United States and Canada",
    "the United States and Mexico",
    "according to a report released",
    "according to a report from",
    "in an interview with The Canadian Press",
    "did not immediately respond to a request for comment",
    "is expected to take effect",
    "for the first time since",
    "the federal government announced",
    "the provincial government announced",
    "at a news conference in Ottawa",
    "at a news conference on",
    "told reporters on Parliament Hill",
    "the Prime Minister's Office said",
    "officials said the move would",
    "a spokesperson for the minister said",
    "the Bank of Canada said",
    "over the next five years",
    "over the next three years",
    "in the coming weeks",
    "earlier this year",
    "last week's announcement",
    "the two countries have",
    "critics say the plan",
    "opposition parties said",
    "a public consultation on the",
    "the latest figures from Statistics Canada",
    "with files from The Associated Press",
    "police said in a news release",
    "no injuries were reported",
    "the investigation is ongoing",
    "more details are expected",
    "the company said in a statement",
)
_FR_PHRASES = (
    "a indiqué par voie de communiqué",
    "a déclaré le ministre",
    "selon un rapport publié",
    "le gouvernement fédéral a annoncé",
    "le gouvernement du Québec a annoncé",
    "en conférence de presse à Ottawa",
    "au cours des prochaines années",
    "pour la première fois depuis",
    "les États-Unis et le Canada",
    "a fait savoir le cabinet du premier ministre",
    "n'a pas répondu à notre demande",
    "selon les données de Statistique Canada",
    "le conseil municipal a adopté",
    "a précisé la porte-parole",
    "dans les prochaines semaines",
)


def _words(text: str) -> int:
    return len(text.split())


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _phrase(rng: random.Random, lang: str) -> str:
    stock = _FR_PHRASES if lang == "fr" else _EN_PHRASES
    # skewed: the first phrases of the list are the most common, as "said in a statement" is
    return stock[
        min(int(rng.paretovariate(1.2)) - 1, len(stock) - 1)
        if rng.random() < 0.5
        else rng.randrange(len(stock))
    ]


def _sentence(rng: random.Random, lang: str, length: int, phrases: bool = False) -> str:
    common, content = (_FR_COMMON, _FR_CONTENT) if lang == "fr" else (_EN_COMMON, _EN_CONTENT)
    if phrases and length >= 8:
        stock = _phrase(rng, lang)
        return f"{_sentence(rng, lang, max(2, length - _words(stock)))} {stock}"
    out = []
    for _ in range(length):
        roll = rng.random()
        if roll < 0.50:
            out.append(rng.choice(common))
        elif roll < 0.88:
            out.append(rng.choice(content))
        elif roll < 0.96:
            out.append(_name(rng))
        else:
            out.append(str(rng.randint(2, 2000)))
    out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def _text(rng: random.Random, lang: str, words: int, lead: str = "", phrases: bool = False) -> str:
    """``lead`` and sentences of 8-20 words, about ``words`` words in all."""
    parts = [lead] if lead else []
    left = words - _words(lead)
    while left > 3:
        n = min(left, rng.randint(8, 20))
        parts.append(_sentence(rng, lang, n, phrases) + ".")
        left -= n
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Story:
    title: str
    summary: str
    link: str
    guid: str


def _story(rng: random.Random, feed: int, serial: int, lang: str, phrases: bool) -> Story:
    """One story: about 7 % on a watch-topic, 2 % a near miss, the rest local news."""
    link = f"https://outlet{feed}.example.org/2025/news/story-{feed}-{serial}"
    title_words = rng.randint(6, 14)
    summary_words = rng.randint(max(8, 20 - title_words), 80 - title_words)
    roll = rng.random()
    lead = ""
    if roll < 0.07 or (roll < 0.09 and lang == "en"):
        if roll < 0.07:
            phrase, place = rng.choice(_FR_TOPICS if lang == "fr" else _EN_TOPICS)
        else:
            phrase, place = rng.choice(_EN_NEAR_MISS)
        title = f"{_sentence(rng, lang, max(2, title_words - _words(phrase)))} {phrase}"
        lead = f"{place} {_sentence(rng, lang, 6).lower()} {phrase}."
    else:
        title = _sentence(rng, lang, title_words, phrases)
    summary = _text(rng, lang, summary_words, lead, phrases)
    if rng.random() < 0.3:  # many feeds send HTML in the description
        more = "Lire la suite" if lang == "fr" else "Read more"
        summary = f'<p>{summary}</p><p><a href="{link}">{more}</a> &raquo;</p>'
    return Story(title, summary, link, link)


def _wire_stories(seed: int, count: int = 40) -> list[Story]:
    """Stories a news agency sends to many outlets: the same text under each outlet's link."""
    rng = random.Random(seed * 7919 + 1)
    out = []
    for k in range(count):
        title = _sentence(rng, "en", rng.randint(7, 12))
        summary = _text(rng, "en", rng.randint(30, 60))
        out.append(Story(title, summary, f"https://wire.example.org/{k}", f"wire-{k}"))
    return out


_NAV = (
    "Home",
    "Politics",
    "Business",
    "World",
    "Opinion",
    "Sports",
    "Arts",
    "Life",
    "Local",
    "Investigations",
    "Podcasts",
    "Newsletters",
    "Subscribe",
    "Sign in",
)


def article_page(
    rng: random.Random,
    title: str,
    lang: str,
    words: int = 600,
    lead: str = "",
    page_data: int = 2500,
) -> tuple[bytes, list[str]]:
    """A news article page as sites serve them, and the paragraphs of its article.

    Around the article (headline, byline, a figure, 8-14 paragraphs, a quote) sits what an
    extractor must leave out: a head with styles, scripts and a JSON blob of page data, a menu,
    breadcrumbs, share buttons, a "related stories" box, a newsletter box, reader comments
    and a footer of links; about 30-40 KB in all (``page_data`` names in the script's blob).
    Every piece of boilerplate carries the word
    ``BOILERPLATE`` so a benchmark can see what leaked into an extraction.
    """
    paragraphs: list[str] = []
    left = words
    first = True
    while left > 20:
        n = min(left, rng.randint(40, 90))
        paragraphs.append(_text(rng, lang, n, lead if first else ""))
        first = False
        left -= n
    menu = "".join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in _NAV)
    related = "".join(
        f'<li><a href="/news/{rng.randint(1, 99999)}">'
        f"BOILERPLATE {_sentence(rng, lang, 9)}</a></li>"
        for _ in range(6)
    )
    comments = "".join(
        f'<div class="comment"><span class="author">{_name(rng)}</span>'
        f"<p>BOILERPLATE {_sentence(rng, lang, rng.randint(10, 30))}.</p></div>"
        for _ in range(rng.randint(2, 6))
    )
    footer = "".join(
        f'<a href="/{_name(rng).lower()}">BOILERPLATE {_name(rng)}</a> ' for _ in range(40)
    )
    blob = json.dumps(
        {"page": {"id": rng.randint(1, 10**9), "tags": [_name(rng) for _ in range(page_data)]}}
    )
    body_html = "".join(
        f"<p>{p}</p>" if k != 3 else f"<blockquote><p>{p}</p></blockquote>"
        for k, p in enumerate(paragraphs)
    )
    byline = f'By {_name(rng)} {_name(rng)} · <time datetime="2025-06-02">June 2, 2025</time>'
    figure = (
        f'<img src="/img/{rng.randint(1, 9999)}.jpg" alt="">'
        f"<figcaption>{_sentence(rng, lang, 8)}.</figcaption>"
    )
    html = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{escape(title)} | Outlet</title>
<meta name="description" content="{escape(paragraphs[0][:150])}">
<meta property="og:title" content="{escape(title)}">
<style>body{{font-family:serif}} .nav li{{display:inline}} .share a{{margin:0 4px}}</style>
<script>window.__DATA__ = {blob};</script>
<script src="/static/app.js" async></script>
</head><body>
<header><a class="logo" href="/">Outlet</a><nav><ul class="nav">{menu}</ul></nav>
<form class="search"><input name="q" placeholder="Search"></form></header>
<div class="breadcrumbs"><a href="/">BOILERPLATE Home</a> › <a href="/politics">Politics</a></div>
<main><article>
<h1>{escape(title)}</h1>
<div class="byline">{byline}</div>
<div class="share"><a href="#">BOILERPLATE Share</a><a href="#">Tweet</a><a href="#">Email</a></div>
<figure>{figure}</figure>
{body_html}
</article>
<aside class="related"><h2>BOILERPLATE Related stories</h2><ul>{related}</ul></aside>
<aside class="newsletter"><p>BOILERPLATE Get the morning briefing in your inbox.</p>
<form><input name="email"><button>Sign up</button></form></aside>
<section class="comments"><h2>BOILERPLATE Comments</h2>{comments}</section>
</main>
<footer><p>{footer}</p><p>BOILERPLATE © 2025 Outlet Media. All rights reserved.</p></footer>
</body></html>
"""
    return html.encode(), paragraphs


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """How one feed looks: its language, format, validators and its stories by serial."""

    n: int
    lang: str
    atom: bool
    validators: str  # "both", "last_modified" or "none"

    def stories(
        self, items: int, version: int, seed: int, wire: list[Story], phrases: bool
    ) -> list[Story]:
        """The ``items`` newest stories at ``version`` (each version adds three)."""
        newest = items + 3 * version
        out = []
        for serial in range(newest - 1, newest - 1 - items, -1):
            rng = random.Random(f"{seed}:{self.n}:{serial}")
            if rng.random() < 0.03:  # a wire story, under this outlet's own link
                w = rng.choice(wire)
                link = f"https://outlet{self.n}.example.org/wire/{w.guid}?utm_source=rss"
                out.append(Story(w.title, w.summary, link, link))
            else:
                out.append(_story(rng, self.n, serial, self.lang, phrases))
        return out

    def document(
        self,
        items: int,
        version: int,
        seed: int,
        wire: list[Story],
        phrases: bool,
        articles: str | None = None,
        serve: Callable[[str, Story, str], None] | None = None,
        long: bool = False,
    ) -> bytes:
        """The feed document; with ``articles`` (a base URL), each item's summary is its
        first sentence and its link an article page there, given to ``serve``; with
        ``long``, each summary is at least 400 characters of text (a feed that says enough
        for ``fulltext: auto`` to leave its articles alone)."""
        stories = self.stories(items, version, seed, wire, phrases)
        if long:
            stories = [
                Story(s.title, _lengthen(s.summary, self.lang, s.guid), s.link, s.guid)
                for s in stories
            ]
        if articles is not None and serve is not None:
            short = []
            for s in stories:
                path = "/a" + urlsplit(s.link).path
                serve(path, s, self.lang)
                first = re.sub(r"<[^>]+>", " ", s.summary).split(". ")[0][:150]
                short.append(Story(s.title, first, articles + path, s.guid))
            stories = short
        samples = [
            SampleItem(
                s.title,
                link=s.link,
                summary=s.summary,
                guid=s.guid,
                published=BASE_DATE - timedelta(minutes=37 * k) + timedelta(hours=version),
            )
            for k, s in enumerate(stories)
        ]
        name = f"Outlet {self.n}"
        if self.atom:
            return atom_feed(name, samples, lang=self.lang)
        return rss_feed(name, samples, lang=self.lang)


def _lengthen(summary: str, lang: str, seed: str) -> str:
    """``summary`` with sentences added until its text is at least 420 characters long."""
    rng = random.Random(seed)
    text = re.sub(r"<[^>]+>", " ", summary)
    while len(" ".join(text.split())) < 420:
        more = _sentence(rng, lang, rng.randint(10, 18)) + "."
        text += " " + more
        summary += " " + more
    return summary


def plans(feeds: int) -> list[FeedPlan]:
    out = []
    for n in range(feeds):
        validators = {0: "none", 1: "last_modified"}.get(n % 10, "both")
        out.append(FeedPlan(n, "fr" if n % 5 == 2 else "en", n % 5 in (1, 3), validators))
    return out


def pick(feeds: int, fraction: float, seed: int) -> list[int]:
    """``fraction`` of the feeds, chosen by ``seed`` (the same feeds for the same arguments)."""
    count = round(feeds * fraction)
    return sorted(random.Random(seed).sample(range(feeds), count))


# -- serving ---------------------------------------------------------------------------------


class Farm:
    def __init__(
        self,
        server: FeedServer,
        feeds: int,
        items: int,
        seed: int,
        gzip: bool,
        faults: tuple[str, ...],
        phrases: bool = False,
        articles: float = 0.0,
    ) -> None:
        self.server = server
        # feeds whose summaries are one short sentence, their articles served by the farm
        self.short = set(pick(feeds, articles, 777)) if articles else set()
        self.pages: set[str] = set()
        self.phrases = phrases
        self.items = items
        self.seed = seed
        self.gzip = gzip
        self.faults = faults
        self.plans = plans(feeds)
        self.wire = _wire_stories(seed)
        self.docs: dict[tuple[int, int], bytes] = {}

    def _doc(self, plan: FeedPlan, version: int) -> bytes:
        key = (plan.n, version)
        if key not in self.docs:
            base = None
            if plan.n in self.short:
                bases = self.server.base_urls
                base = bases[plan.n % len(bases)]
            self.docs[key] = plan.document(
                self.items,
                version,
                self.seed,
                self.wire,
                self.phrases,
                base,
                self._article,
                long=bool(self.short) and base is None,
            )
        return self.docs[key]

    def _article(self, path: str, story: Story, lang: str) -> None:
        """Serve the article of a short-summary story at ``path`` (once): its full summary
        opens the article, so a story on a watch-topic says so in the body."""
        if path in self.pages:
            return
        self.pages.add(path)
        lead = re.sub(r"<[^>]+>", " ", story.summary)
        rng = random.Random(path)
        page, _ = article_page(rng, story.title, lang, rng.randint(400, 800), lead, 300)
        self.server.feed(path, page, content_type="text/html; charset=utf-8")

    def serve(self, plan: FeedPlan, version: int) -> None:
        path = f"/f{plan.n}.xml"
        ctype = "application/atom+xml; charset=utf-8" if plan.atom else None
        modified = BASE_DATE + timedelta(hours=version)
        self.server.feed(
            path,
            self._doc(plan, version),
            content_type=ctype or "application/rss+xml; charset=utf-8",
            etag="auto" if plan.validators == "both" else None,
            last_modified=None if plan.validators == "none" else modified,
            gzip=self.gzip,
        )

    def fault(self, plan: FeedPlan, kind: str) -> None:
        path = f"/f{plan.n}.xml"
        s = self.server
        if kind == "http500":
            s.error(path, 500)
        elif kind == "http503":
            s.error(path, 503, retry_after=300)
        elif kind == "http429":
            s.error(path, 429, retry_after=600)
        elif kind == "http404":
            s.error(path, 404)
        elif kind == "html200":
            s.html(path)
        elif kind == "invalid_xml":
            s.invalid_xml(path)
        elif kind == "empty":
            s.empty(path)
        elif kind == "redirect_loop":
            s.redirect_loop(path)
        elif kind == "truncated":
            s.truncated(path, self._doc(plan, 0))
        elif kind == "hang":
            s.hang(path)
        elif kind == "trickle":
            s.trickle(path, self._doc(plan, 0), interval_s=0.05, chunk=64)
        else:  # pragma: no cover - FAULTS lists every kind handled here
            raise ValueError(f"unknown fault kind {kind!r}")

    def state(self, faults: float, update: float, seed: int) -> dict[str, object]:
        n = len(self.plans)
        updated = set(pick(n, update, seed))
        faulty = pick(n, faults, 424242)
        for plan in self.plans:
            self.serve(plan, 1 if plan.n in updated else 0)
        kinds: dict[str, int] = {}
        for k, index in enumerate(faulty):
            kind = self.faults[k % len(self.faults)]
            kinds[kind] = kinds.get(kind, 0) + 1
            self.fault(self.plans[index], kind)
        self.server.reset()
        return {
            "updated": sorted(updated - set(faulty)),
            "faulty": faulty,
            "kinds": kinds,
        }


def _parse_command(line: str) -> tuple[str, dict[str, str]]:
    words = line.split()
    if not words:
        return "", {}
    args = {}
    for word in words[1:]:
        name, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"expected name=value, got {word!r}")
        args[name] = value
    return words[0], args


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python bench/feedfarm.py",
        description="Serve synthetic news feeds on loopback for the polling benchmark.",
    )
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--hosts", type=int, default=13, help="loopback addresses 127.0.0.1…N")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gzip", action="store_true", help="compress when the client accepts")
    ap.add_argument(
        "--quick-faults",
        action="store_true",
        help="leave out the faults that cost a client its timeout (hang, trickle)",
    )
    ap.add_argument(
        "--text",
        choices=("plain", "phrases"),
        default="plain",
        help="plain: words drawn one by one; phrases: stock news phrases recur across items",
    )
    ap.add_argument(
        "--articles",
        type=float,
        default=0.0,
        help="fraction of feeds whose summaries are one short sentence, with their articles "
        "served by the farm (0.3: 30 %%)",
    )
    args = ap.parse_args(argv)
    faults = QUICK_FAULTS if args.quick_faults else FAULTS
    with FeedServer(hosts=args.hosts, latency_s=args.latency, record=False) as server:
        farm = Farm(
            server,
            args.feeds,
            args.items,
            args.seed,
            args.gzip,
            faults,
            args.text == "phrases",
            args.articles,
        )
        farm.state(0.0, 0.0, 0)
        print(json.dumps({"bases": server.base_urls, "feeds": args.feeds}), flush=True)
        for line in sys.stdin:
            try:
                command, kw = _parse_command(line)
                if command == "state":
                    reply: dict[str, object] = farm.state(
                        float(kw.get("faults", 0)),
                        float(kw.get("update", 0)),
                        int(kw.get("seed", 0)),
                    )
                elif command == "stats":
                    reply = {
                        "requests": server.total_requests(),
                        "max_in_flight": server.max_in_flight(),
                        "connections": server.connections(),
                    }
                elif command == "quit":
                    break
                elif command == "":
                    continue
                else:
                    reply = {"error": f"unknown command {command!r}: use state, stats or quit"}
            except ValueError as exc:
                reply = {"error": str(exc)}
            print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
