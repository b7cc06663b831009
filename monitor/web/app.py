"""The Starlette application: the analyst's pages, the feedback form, ``/healthz``, ``/metrics``.

Owns: the routes, reading their query strings into ``monitor.store.analyst.Filter`` values (a
value that cannot be read is a 400 page saying what to write), and rendering the jinja2
templates of ``templates/`` with autoescaping on, so feed text is shown as text whatever it
holds; links go out only to http(s) addresses (``monitor.render.safe_url``). Database calls
run in threads, off the event loop. What a page shows is read, never decided, here: matches
and scores come from the store, precision from ``monitor.feedback``, suggested rule changes
from ``monitor.tune``. Must not import
scheduler or cli.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from monitor.config import Config
from monitor.dbexec import DbExecutor
from monitor.feedback import TopicFeedback, labelled_rows, topic_feedback
from monitor.link_handler import link_page, link_submit
from monitor.links import LINK_PATH
from monitor.metrics import CONTENT_TYPE
from monitor.render import safe_url
from monitor.store import Store
from monitor.store.analyst import Filter, Pages
from monitor.tune import suggest
from monitor.web import charts
from monitor.web.guard import Guard, csrf_ok, csrf_token

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]
PAGE = 50  # rows a list page shows
DAYS = 30  # days a topic's chart covers
VERDICTS = ("relevant", "not_relevant")
_TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class WebContext:
    """What the pages need from the daemon; ``config`` gives the configuration in force."""

    store: Store
    config: Callable[[], Config]
    health: HealthCheck
    metrics: Callable[[], bytes]
    scrub: Callable[[str], str] = lambda text: text
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: signs the form tokens; a new one at each start (a form from before it is refused)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    #: how the pages reach the store (the daemon's one executor; their own if not given)
    db: DbExecutor = field(default_factory=lambda: DbExecutor(2, name="monitor-web"))


class BadQuery(ValueError):
    """A query-string value a page cannot use; the message says what would be right."""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,  # every template: feed text is never markup here
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = safe_url
    return env


def make_app(ctx: WebContext) -> Starlette:
    """The application over ``ctx``."""
    env = _environment()
    pages = Pages(ctx.store.engine, ctx.store.text_index)

    def zone() -> ZoneInfo:
        return ZoneInfo(ctx.config().timezone)

    def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        cfg = ctx.config()
        tz = zone()
        user = getattr(request.state, "user", None)

        def when(t: datetime | None) -> str:
            return t.astimezone(tz).strftime("%Y-%m-%d %H:%M") if t else ""

        body = env.get_template(name).render(
            request_path=request.url.path,
            here=_here(request),
            user=user,
            csrf=csrf_token(ctx.secret, user),
            topic_names={t.id: t.name for t in cfg.topics},
            when=when,
            timezone=cfg.timezone,
            **values,
        )
        return HTMLResponse(body, status_code=status)

    async def healthz(request: Request) -> Response:
        ok, details = await ctx.health()
        # reasons quote errors, and errors may quote what they were given
        text = json.dumps({"status": "ok" if ok else "unhealthy", **details})
        return Response(
            ctx.scrub(text), status_code=200 if ok else 503, media_type="application/json"
        )

    async def metrics(request: Request) -> Response:
        return Response(ctx.metrics(), media_type=CONTENT_TYPE)

    async def home(request: Request) -> Response:
        return RedirectResponse("/matches", status_code=303)

    async def listing(
        request: Request,
        template: str,
        rows_of: Callable[[Filter, int], Awaitable[tuple[list[Any], bool]]],
    ) -> Response:
        """A list page: its filter read, a page of rows, their judgements, the choices."""
        try:
            f, page = _filter(request, zone())
        except BadQuery as exc:
            return await _bad(request, exc)
        rows, more = await rows_of(f, page * PAGE)
        judged = await _judgements(ctx, [getattr(r, "item_id", None) or r.id for r in rows])
        return render(
            request,
            template,
            rows=rows,
            judged=judged,
            choices=await ctx.db(pages.choices),
            form=dict(request.query_params),
            pager=_pager(request, page, more),
        )

    async def match_rows(f: Filter, offset: int) -> tuple[list[Any], bool]:
        ids, more = await ctx.db(pages.match_ids, f, limit=PAGE, offset=offset)
        found = await ctx.db(ctx.store.matches, ids=ids, limit=None)
        order = {mid: n for n, mid in enumerate(ids)}
        return sorted(found, key=lambda m: order[m.id]), more

    async def item_rows(f: Filter, offset: int) -> tuple[list[Any], bool]:
        rows, more = await ctx.db(pages.items, f, limit=PAGE, offset=offset)
        return list(rows), more

    async def matches(request: Request) -> Response:
        return await listing(request, "matches.html", match_rows)

    async def items(request: Request) -> Response:
        return await listing(request, "items.html", item_rows)

    async def story(request: Request) -> Response:
        item_id = int(request.path_params["item_id"])
        copies = await ctx.db(pages.copies, item_id)
        if not copies:
            raise HTTPException(404, f"no stored item has id {item_id}")
        return render(request, "story.html", copies=copies, item_id=item_id)

    async def feeds(request: Request) -> Response:
        states = await ctx.db(ctx.store.feeds)
        # the broken first: disabled, then unhealthy, then failing; then by name
        rows = sorted(
            states,
            key=lambda s: (
                s.disabled_reason is None,
                not s.unhealthy,
                s.consecutive_failures == 0,
                (s.name or s.url).lower(),
            ),
        )
        return render(request, "feeds.html", rows=rows, now=ctx.clock())

    async def topics(request: Request) -> Response:
        tz = zone()
        today = ctx.clock().astimezone(tz).date()
        per_topic = await ctx.db(pages.match_counts, charts.day_bounds(today, DAYS, tz))
        said = topic_feedback(await ctx.db(ctx.store.feedback.standing))
        cards = []
        for t in ctx.config().topics:
            days = per_topic.get(t.id, [0] * DAYS)
            cards.append(
                {
                    "id": t.id,
                    "name": t.name,
                    "total": sum(days),
                    "chart": charts.bars_svg(days, today, label=f"{t.name}: matches per day"),
                    "feedback": said.get(t.id, TopicFeedback(t.id)),
                }
            )
        return render(request, "topics.html", cards=cards, days=DAYS)

    async def tune(request: Request) -> Response:
        """Rule changes suggested from the topic's judgements, each measured on them."""
        topic_id = request.path_params["topic"]
        spec = next((t for t in ctx.config().topics if t.id == topic_id), None)
        if spec is None:
            raise HTTPException(404, f"no topic has the id '{topic_id}'")
        judgements = await ctx.db(ctx.store.feedback.standing, topic=topic_id)
        rows = labelled_rows(judgements)
        # measuring suggestions is CPU work, not a store call: off the store's threads
        report = await asyncio.to_thread(suggest, spec, rows) if rows else None
        return render(request, "tune.html", topic=spec, report=report)

    async def feedback(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        user = getattr(request.state, "user", None)
        if not csrf_ok(ctx.secret, user, form.get("csrf")):
            return PlainTextResponse(
                "refused: the form's token is missing or stale; reload the page and try again\n",
                status_code=403,
            )
        topics = {t.id for t in ctx.config().topics}
        verdict, topic = form.get("verdict", ""), form.get("topic", "")
        try:
            item_id = int(form.get("item", ""))
        except ValueError:
            item_id = -1
        problems = []
        if verdict not in VERDICTS:
            problems.append(f"verdict must be one of {', '.join(VERDICTS)}")
        if topic not in topics:
            problems.append(f"topic must be one of {', '.join(sorted(topics)) or '(none)'}")
        if item_id < 0:
            problems.append("item must be a stored item's id")
        if problems:
            return PlainTextResponse("; ".join(problems) + "\n", status_code=400)
        made = await ctx.db(
            ctx.store.feedback.record,
            item_id,
            topic,
            verdict,
            now=ctx.clock(),
            user=user,
            via="web",
        )
        if made is None:
            return PlainTextResponse(f"no stored item has id {item_id}\n", status_code=404)
        back = form.get("back", "")
        if not back.startswith("/") or back.startswith("//"):
            back = "/matches"
        return RedirectResponse(f"{back}#item-{item_id}", status_code=303)

    async def link(request: Request) -> Response:
        """A digest's feedback link: GET shows the item and its buttons, POST records."""
        cfg = ctx.config()
        if cfg.web.secret is None:
            return PlainTextResponse(
                "digest links are not configured here (web.secret)\n", status_code=404
            )
        token = request.path_params["token"]
        common: dict[str, Any] = {
            "secret": cfg.web.secret.get_secret_value(),
            "now": ctx.clock(),
            "topic_names": {t.id: t.name for t in cfg.topics},
        }
        if request.method == "POST":
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            user = cfg.web_auth.user(request.headers.get("authorization"))
            answer = await ctx.db(link_submit, ctx.store, token, form, user=user, **common)
        else:
            answer = await ctx.db(link_page, ctx.store, token, **common)
        return HTMLResponse(answer.html, status_code=answer.status)

    async def not_found(request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else ""
        if request.url.path in ("/healthz", "/metrics") or not detail or detail == "Not Found":
            detail = "not found: try /matches, /healthz or /metrics"
        return PlainTextResponse(f"{detail}\n", status_code=404)

    async def _bad(request: Request, exc: BadQuery) -> Response:
        return render(request, "error.html", status=400, message=str(exc))

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/", home, methods=["GET"]),
            Route("/matches", matches, methods=["GET"]),
            Route("/items", items, methods=["GET"]),
            Route("/stories/{item_id:int}", story, methods=["GET"]),
            Route("/feeds", feeds, methods=["GET"]),
            Route("/topics", topics, methods=["GET"]),
            Route("/topics/{topic}/tune", tune, methods=["GET"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route(LINK_PATH + "{token}", link, methods=["GET", "POST"]),
        ],
        middleware=[
            Middleware(
                Guard,
                auth=lambda: ctx.config().web_auth,
                public_host=lambda: urlsplit(ctx.config().web.public_url or "").hostname,
            )
        ],
        exception_handlers={404: not_found},
    )


async def _judgements(ctx: WebContext, item_ids: list[int]) -> dict[tuple[int, str], str]:
    """The standing verdict of each (item, topic) among ``item_ids``."""
    if not item_ids:
        return {}
    found = await ctx.db(ctx.store.feedback.standing, item_ids=item_ids)
    return {(j.item_id, j.topic): j.verdict for j in found}


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _pager(request: Request, page: int, more: bool) -> dict[str, str | None]:
    def at(n: int) -> str:
        params = {k: v for k, v in request.query_params.items() if k != "page" and v}
        if n:
            params["page"] = str(n + 1)
        return request.url.path + ("?" + urlencode(params) if params else "")

    return {
        "previous": at(page - 1) if page > 0 else None,
        "next": at(page + 1) if more else None,
        "page": str(page + 1),
    }


def _day(value: str, name: str, tz: ZoneInfo) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadQuery(
            f"{name} is '{value}'; write a date as YYYY-MM-DD, e.g. 2026-03-09"
        ) from None
    return datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)


def _filter(request: Request, tz: ZoneInfo) -> tuple[Filter, int]:
    """The filter and the page (from 0) a list page's query string asks for."""
    q = request.query_params

    def text(name: str) -> str | None:
        value = (q.get(name) or "").strip()
        return value or None

    feed = text("feed")
    if feed is not None and not feed.isdigit():
        raise BadQuery(f"feed is '{feed}'; choose a feed from the list (its number)")
    page = text("page") or "1"
    if not page.isdigit() or int(page) < 1:
        raise BadQuery(f"page is '{page}'; write a page number from 1")
    since = _day(v, "from", tz) if (v := text("from")) else None
    until = _day(v, "to", tz) + timedelta(days=1) if (v := text("to")) else None
    if since is not None and until is not None and until <= since:
        raise BadQuery("the 'to' date is before the 'from' date; swap them")
    matched = {"yes": True, "no": False, None: None}.get(text("matched"), None)
    return (
        Filter(
            q=text("q"),
            topic=text("topic"),
            severity=text("severity"),
            lang=text("lang"),
            feed_id=int(feed) if feed else None,
            since=since,
            until=until,
            matched=matched,
        ),
        int(page) - 1,
    )
