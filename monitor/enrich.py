"""Article text, after the poll: fetch the pages of stored items, extract, store, re-score.

Owns: one round of enrichment (:meth:`ArticleEnricher.run`): the items stored since the last
round are offered to ``monitor.articles.plan`` (which decides whose article to fetch), the
fetches that are due are claimed, and each runs on its own: robots.txt is asked (when the
item's feeds honour it), the page fetched with the shared fetcher (per-host limits, timeouts,
a size cap, conditional GET on a refetch), its main text extracted in a parse worker (with the
parse deadline), capped, stored, and the item scored again on title, summary and body; a
topic that matches only now is a new match, delivered like any other. Everything that goes
wrong with one article is recorded on that article (its error kind and message) and holds up
nothing else. Decides nothing itself; never runs inside a feed's poll.

Must not import scheduler, server or cli.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from monitor import articles, plan
from monitor.batching import Coalescer
from monitor.dbexec import DbExecutor
from monitor.errors import ParseError
from monitor.extract import Extracted, extract_article
from monitor.fetch.robots import RobotsCache
from monitor.intents import MatchWrites
from monitor.model import ArticleJob, ArticleOutcome, ItemText, TopicMatch
from monitor.parse_pool import MatcherLike, ParsePool
from monitor.pipeline import FetcherLike
from monitor.score.freshness import DEFAULT_ALERT_MAX_AGE_S, hold_stale_alerts
from monitor.store import Store
from monitor.urls import redact_url

log = logging.getLogger("monitor.articles")

T = TypeVar("T")

#: ids below the last one offered that a round looks at again
RESCAN_IDS = 2000


@dataclass(frozen=True, slots=True)
class ArticleReport:
    """What one article fetch did; one log line each."""

    item_id: int
    url: str
    status: str
    chars: int = 0
    cut: bool = False
    error_kind: str | None = None
    error: str | None = None
    retry: bool = False
    new_topics: tuple[str, ...] = ()
    duration_s: float = 0.0


@dataclass
class EnrichReport:
    """One round: how many items were considered, and every fetch."""

    considered: int = 0
    queued: int = 0
    fetched: list[ArticleReport] = field(default_factory=list)

    @property
    def new_matches(self) -> int:
        return sum(len(r.new_topics) for r in self.fetched)


class ArticleEnricher:
    """Fetches and scores article text for stored items, a round at a time."""

    def __init__(
        self,
        store: Store,
        fetcher: FetcherLike,
        parse_pool: ParsePool,
        matcher: Callable[[], MatcherLike],
        settings: Callable[[], articles.FulltextSettings],
        *,
        robots: RobotsCache | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_bytes: int = 5_000_000,
        concurrency: int = 8,
        batch: int = 200,
        record_batch: int = 500,
        lease_s: float = 600.0,
        window_s: float = 2 * 86400.0,
        alert_max_age_s: float = DEFAULT_ALERT_MAX_AGE_S,
        first_poll_alerts: bool = False,
        extract: Callable[[bytes, str | None, str | None], Extracted] = extract_article,
        db: DbExecutor | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.parse_pool = parse_pool
        self.matcher = matcher
        self.settings = settings
        self.robots = robots
        self.clock = clock
        self.max_bytes = max_bytes
        self.batch = batch
        self.lease_s = lease_s
        self.window_s = window_s
        self.alert_max_age_s = alert_max_age_s
        self.first_poll_alerts = first_poll_alerts
        self.extract = extract
        self._slots = asyncio.Semaphore(concurrency)
        self._offered = 0  # the highest item id offered to the plan so far
        self.record_batch = record_batch
        # outcomes waiting to be recorded (see :meth:`_record`)
        self._outcomes: Coalescer[tuple[ArticleJob, ArticleOutcome], list[str]] = Coalescer(
            self._record_batch, take=lambda queued: min(len(queued), self.record_batch)
        )
        # the process's executor has threads to spare: a round never waits behind a batch
        # of polls being written
        self._db = db or DbExecutor(1, name="monitor-articles")
        self._owns_db = db is None

    async def _in_db(self, fn: Callable[..., T], *args: object, **kw: object) -> T:
        return await self._db(fn, *args, **kw)

    def close(self) -> None:
        if self._owns_db:
            self._db.close()

    async def run(self, *, backlog: bool = True) -> EnrichReport:
        """One round: plan the items stored since the last, then fetch what is due.
        ``backlog=False`` leaves the items brought by their feeds' first poll unconsidered
        (a later round that takes them considers them)."""
        report, jobs, settings = await self._plan_and_claim(self.batch, backlog=backlog)
        if jobs:
            report.fetched = list(
                await asyncio.gather(*(self.fetch_one(j, settings) for j in jobs))
            )
        return report

    async def _plan_and_claim(
        self, limit: int, *, backlog: bool, plan: bool = True, requeue: bool = True
    ) -> tuple[EnrichReport, list[ArticleJob], articles.FulltextSettings]:
        """Offer the items stored since the last round to the plan (unless ``plan`` is
        false), queue amended items again (unless ``requeue`` is false), and claim up to
        ``limit`` fetches that are due."""
        report = EnrichReport()
        now = self.clock()
        since = self.since(now)
        settings = self.settings()  # once a round: it is built from the whole configuration
        # items are offered in id order: a round looks only past the last one offered, less
        # a margin for ids committed out of order (PostgreSQL's sequences do)
        candidates = []
        if plan:
            candidates = await self._in_db(
                self.store.articles.candidates,
                since,
                after_id=max(0, self._offered - RESCAN_IDS),
                limit=self.batch,
                backlog=backlog,
            )
        if candidates:
            self._offered = max(self._offered, candidates[-1].item_id)
        report.considered = len(candidates)
        if candidates:
            planned = articles.plan(candidates, settings)
            report.queued = sum(1 for p in planned if p[2] == "pending")
            await self._in_db(self.store.articles.enqueue, planned, now)
        if requeue:
            await self._in_db(self.store.articles.requeue_amended, since, now)
        jobs = await self._in_db(self.store.articles.claim, now, lease_s=self.lease_s, limit=limit)
        return report, jobs, settings

    def since(self, now: datetime | None = None) -> datetime:
        """Items first seen before this are no longer offered (the window)."""
        return (now or self.clock()) - timedelta(seconds=self.window_s)

    async def drain(self, *, rounds: int = 100, backlog: bool = True) -> EnrichReport:
        """Rounds until nothing is left to consider or fetch now (``monitor poll --once``),
        at most ``rounds`` batches of fetches in all.

        Rounds overlap: once half the fetches in flight are done, the next round plans and
        claims as many as finished, so a page that takes its whole timeout holds up only
        itself, not the batch claimed with it."""
        total = EnrichReport()
        budget = rounds * self.batch  # fetches this drain may claim
        flying: set[asyncio.Task[ArticleReport]] = set()
        # nothing is amended while the drain runs, and once the candidates run out no
        # more come: those steps are not repeated
        planning, first = True, True
        try:
            for _ in range(2 * rounds):  # rounds of planning; the budget bounds the fetches
                limit = min(self.batch - len(flying), budget)
                report, jobs, settings = await self._plan_and_claim(
                    limit, backlog=backlog, plan=planning, requeue=first
                )
                first = False
                planning = planning and report.considered >= self.batch
                total.considered += report.considered
                total.queued += report.queued
                budget -= len(jobs)
                flying |= {asyncio.create_task(self.fetch_one(j, settings)) for j in jobs}
                more = bool(report.considered or jobs) and budget > 0
                # wait for half of the fetches in flight; for all when this is the last round
                # (a fetch that ends queues nothing due now: a retry waits ten minutes)
                keep = len(flying) // 2 if more else 0
                while len(flying) > keep:
                    done, flying = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                    total.fetched += [t.result() for t in done]
                if not more:
                    break
        finally:
            for task in flying:
                task.cancel()
        return total

    async def fetch_one(
        self, job: ArticleJob, settings: articles.FulltextSettings | None = None
    ) -> ArticleReport:
        """Fetch, extract, store and score one article; whatever the page does is recorded
        on it. A bug is logged with its traceback and recorded as ``internal``. At most
        ``concurrency`` fetches are in flight; their outcomes are recorded together."""
        t0 = time.monotonic()
        async with self._slots:
            try:
                outcome = await self._outcome(job, settings or self.settings())
            except Exception as exc:
                log.error("article %s failed", redact_url(job.url), exc_info=exc)
                outcome = ArticleOutcome(
                    "error", error_kind="internal", error=f"{type(exc).__name__}: {exc}"[:1000]
                )
        try:
            topics = await self._record(job, outcome)
        except Exception as exc:
            # left leased: the fetch is tried again when the lease ends
            log.error(
                "article %s: its outcome could not be recorded", redact_url(job.url), exc_info=exc
            )
            topics = []
        report = ArticleReport(
            job.item_id,
            job.url,
            outcome.status,
            chars=len(outcome.text),
            cut=outcome.cut,
            error_kind=outcome.error_kind,
            error=outcome.error,
            retry=outcome.next_attempt_at is not None,
            new_topics=tuple(topics),
            duration_s=time.monotonic() - t0,
        )
        _log_article(report)
        return report

    async def _record(self, job: ArticleJob, outcome: ArticleOutcome) -> list[str]:
        """Record one outcome (and score the item again when it gave text); returns the new
        matches' topics. Outcomes that arrive while others are being recorded wait and are
        then recorded together, in one transaction (``monitor.batching.Coalescer``): a
        round's robots.txt refusals or failures cost one write, not one each, while a lone
        outcome is recorded at once. Until then its article stays leased, so a process that
        dies loses only what a lease's end retries."""
        return await self._outcomes.submit((job, outcome))

    async def _record_batch(
        self, batch: list[tuple[ArticleJob, ArticleOutcome]]
    ) -> list[list[str] | BaseException]:
        now = self.clock()
        pairs = [(job.item_id, outcome) for job, outcome in batch]
        try:
            recorded = await self._in_db(self.store.articles.record_many, pairs, now, self._rescore)
            return list(recorded)
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
            # one outcome the store refuses must not cost the others theirs: each on its own
            log.warning(
                "recording %d article outcomes together failed (%s); recording them one by one",
                len(batch),
                exc,
            )
        results: list[list[str] | BaseException] = []
        for job, outcome in batch:
            try:
                results.append(
                    await self._in_db(
                        self.store.articles.record, job.item_id, outcome, now, self._rescore
                    )
                )
            except Exception as one:
                results.append(one)
        return results

    async def _outcome(
        self, job: ArticleJob, settings: articles.FulltextSettings
    ) -> ArticleOutcome:
        now = self.clock()
        if self.robots is not None and settings.robots_for(job.feed_urls):
            verdict = await self.robots.check(job.url)
            if not verdict.allowed:
                kind = verdict.kind or "robots"
                return ArticleOutcome(
                    "error",
                    error_kind=kind,
                    error=verdict.reason,
                    next_attempt_at=articles.next_attempt(kind, job.attempts, now),
                )
        result = await self.fetcher.fetch(
            job.url,
            etag=job.etag,
            last_modified=job.last_modified,
            kind="page",
            max_bytes=self.max_bytes,
        )
        if result.outcome == "not_modified":
            return ArticleOutcome(
                "not_modified",
                http_status=result.status,
                etag=result.etag,
                last_modified=result.last_modified,
            )
        if result.outcome == "error" or result.body is None:
            kind = result.error_kind or "http"
            return ArticleOutcome(
                "error",
                http_status=result.status,
                error_kind=kind,
                error=result.error or "no body",
                next_attempt_at=articles.next_attempt(kind, job.attempts, now),
            )
        try:
            extracted = await self.parse_pool.run(
                self.extract,
                result.body,
                result.final_url or job.url,
                result.content_type,
                size=len(result.body),
            )
        except ParseError as exc:
            return ArticleOutcome(
                "error",
                http_status=result.status,
                error_kind=exc.kind,
                error=str(exc),
                next_attempt_at=articles.next_attempt(exc.kind, job.attempts, now),
            )
        text, cut = articles.cap_text(extracted.text)
        return ArticleOutcome(
            "ok",
            text=text,
            cut=cut,
            title=extracted.title,
            final_url=result.final_url,
            http_status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
        )

    def _rescore(self, item: ItemText, before: Mapping[str, str]) -> MatchWrites:
        """The item's matches to write, given its stored ones (``monitor.plan``)."""
        return plan.match_writes(before, self._score(item))

    def _score(self, item: ItemText) -> Sequence[TopicMatch]:
        """The item's matches on title, summary and body; alerts held as a poll holds them
        (judged at the time the item was polled)."""
        matches = self.matcher().score(item.title, item.summary, item.lang, item.body)
        return hold_stale_alerts(
            matches,
            published=item.published,
            now=item.first_seen_at or self.clock(),
            backlog=item.backlog and not self.first_poll_alerts,
            max_age_s=self.alert_max_age_s,
        )


def _log_article(r: ArticleReport) -> None:
    fields: dict[str, object] = {
        "event": "article",
        "item": r.item_id,
        "url": redact_url(r.url),
        "status": r.status,
        "chars": r.chars,
        "matches": len(r.new_topics),
        "duration_ms": round(r.duration_s * 1000),
    }
    if r.cut:
        fields["cut"] = True
    if r.status == "error":
        fields.update(error_kind=r.error_kind, error=r.error, retry=r.retry)
        log.warning("article not fetched: %s", r.error, extra={"fields": fields})
    else:
        log.info("article", extra={"fields": fields})
