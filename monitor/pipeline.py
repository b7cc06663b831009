"""One poll cycle: fetch, parse (and score, in the parse workers), then write: read what is
known, decide (``monitor.plan``), write (``monitor.ingest``).

Owns: calling the stages in order for each due feed, concurrently, and reporting what
happened. Decides nothing itself: what a poll writes, and when to poll next, is
``monitor.plan``'s call. A failing feed is recorded as data and the cycle goes on; a bug
propagates. Must not import scheduler, server or cli.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from monitor import cadence, plan
from monitor.budget import INGEST_BYTES, ByteBudget
from monitor.dbexec import DbExecutor
from monitor.errors import ParseError, StoreError
from monitor.events import EventProfile
from monitor.ingest import WRITE_AHEAD, Scored, WriteQueue
from monitor.intents import FeedWrite
from monitor.model import (
    FEED_SOURCE,
    MAX_ENTRIES,
    FeedState,
    FetchKind,
    FetchResult,
    Item,
    SourceSpec,
)
from monitor.parse_pool import MatcherLike, Parsed, ParsePool, parse_and_score
from monitor.score.freshness import DEFAULT_ALERT_MAX_AGE_S
from monitor.sources import SourceRead, read_document, read_listing, read_watched
from monitor.store import Store
from monitor.stories import StorySignature
from monitor.urls import redact_url

log = logging.getLogger("monitor.poll")

T = TypeVar("T")


class FetcherLike(Protocol):
    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
        kind: FetchKind = "feed",
        max_bytes: int | None = None,
    ) -> FetchResult: ...


class RobotsVerdictLike(Protocol):
    @property
    def allowed(self) -> bool: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...


class RobotsLike(Protocol):
    async def check(self, url: str) -> RobotsVerdictLike: ...


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one feed's poll did; one log line each."""

    feed_id: int
    url: str
    name: str | None
    outcome: str
    status: int | None
    items: int = 0
    new_items: int = 0
    changed_items: int = 0
    new_matches: int = 0
    cut: int = 0
    topics: tuple[str, ...] = ()
    error_kind: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    fetch_s: float = 0.0
    next_poll_at: datetime | None = None
    next_poll_reason: str | None = None


@dataclass
class CycleReport:
    """All polls of one cycle."""

    started_at: datetime
    polls: list[PollReport] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def failed(self) -> list[PollReport]:
        return [p for p in self.polls if p.outcome == "error"]

    @property
    def new_items(self) -> int:
        return sum(p.new_items for p in self.polls)

    @property
    def new_matches(self) -> int:
        return sum(p.new_matches for p in self.polls)


class Pipeline:
    """Runs poll cycles over the store's due feeds."""

    def __init__(
        self,
        store: Store,
        fetcher: FetcherLike,
        matcher: Callable[[], MatcherLike],
        policy: cadence.CadencePolicy,
        *,
        parse_pool: ParsePool | None = None,
        owner: str = "local",
        lease_s: float = 600.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        on_poll: Callable[[PollReport], None] | None = None,
        max_entries: int = MAX_ENTRIES,
        alert_max_age_s: float = DEFAULT_ALERT_MAX_AGE_S,
        first_poll_alerts: bool = False,
        sources: dict[str, SourceSpec] | None = None,
        robots: RobotsLike | None = None,
        db: DbExecutor | None = None,
    ) -> None:
        self.store = store
        #: what each site's robots.txt allows, asked before polling a page or a document
        self.robots = robots
        #: how each source that is not a feed is read, by URL (replaced on reload)
        self.sources: dict[str, SourceSpec] = sources or {}
        self.fetcher = fetcher
        self.matcher = matcher
        self.policy = policy
        self.parse_pool = parse_pool or ParsePool(1)
        self.owner = owner
        self.lease_s = lease_s
        self.clock = clock
        self.rng = rng or random.Random()
        self.on_poll = on_poll
        self.max_entries = max_entries
        self.alert_max_age_s = alert_max_age_s
        self.first_poll_alerts = first_poll_alerts
        #: how the store is reached (the process's one executor; a private one if not given)
        self.db = db or DbExecutor(1)
        self._owns_db = db is None
        # feeds between parsing and stored: enough to keep the parse workers busy and to fill
        # the next write batch (bounded by its items, WRITE_BATCH_ITEMS: some 30 polls of
        # feeds whose items are all new), few enough that parsed items do not pile up in
        # memory while the database catches up
        self._ingesting = ByteBudget(INGEST_BYTES, slots=WRITE_AHEAD + 2 * self.parse_pool.workers)
        self._writes = WriteQueue(store, self._in_db, self._rules, self.rng)

    async def _in_db(self, fn: Callable[..., T], *args: object) -> T:
        return await self.db(fn, *args)

    def _rules(self) -> plan.Rules:
        """The rules of the next batch of writes: the matcher and policy as now."""
        return plan.Rules(self.policy, self.matcher(), self.alert_max_age_s)

    def close(self) -> None:
        if self._owns_db:
            self.db.close()
        self.parse_pool.close()

    async def claim(
        self, *, limit: int, urls: Sequence[str] | None = None, lease_s: float | None = None
    ) -> list[FeedState]:
        """Claim up to ``limit`` due feeds (or the given ones) for this worker, with a lease."""
        return await self._in_db(
            partial(
                self.store.claim_due_feeds,
                self.clock(),
                owner=self.owner,
                lease_s=lease_s or self.lease_s,
                limit=limit,
                urls=urls,
            )
        )

    async def heartbeat(self, live_s: float) -> int:
        """Say this worker is alive; returns how many workers share the database."""
        return await self._in_db(
            partial(self.store.heartbeat, self.owner, self.clock(), live_s=live_s)
        )

    async def count_due(self, window_s: float) -> tuple[int, int]:
        """Feeds due and claimed by nobody, and feeds polled by any worker in the last
        ``window_s`` seconds or being polled."""
        now = self.clock()
        return await self._in_db(self.store.count_due, now, now - timedelta(seconds=window_s))

    async def replan(self) -> int:
        """Bring every stored next poll within the current settings (after a reload, at
        start): ``cadence.replan`` decides, the store moves them. Returns how many moved."""

        def replan_all() -> int:
            moves = []
            for feed in self.store.feeds(configured_only=True):
                moved = cadence.replan(feed, self.policy)
                if moved is not None:
                    moves.append((feed.id, feed.next_poll_at, moved))
            return self.store.move_next_polls(moves) if moves else 0

        return await self._in_db(replan_all)

    async def poll_feed(self, feed: FeedState) -> PollReport:
        """Fetch, parse, score and store one feed. Whatever goes wrong while doing so (a body
        nothing foresaw, a full or locked database) is this feed's recorded error, and its
        claim is released: it never ends the cycle nor leaves the feed held until its lease
        runs out."""
        t0 = time.monotonic()
        try:
            return await self._poll_feed(feed, t0)
        except Exception as exc:
            return await self._poll_failed(feed, t0, exc)

    async def _poll_failed(self, feed: FeedState, t0: float, exc: Exception) -> PollReport:
        if isinstance(exc, StoreError):
            kind, error = "database", f"cannot store this poll: {exc}"
        else:  # a bug, or an input nothing foresaw: with its traceback, for a report
            log.error("polling %s failed", redact_url(feed.url), exc_info=exc)
            kind, error = "internal", f"{type(exc).__name__}: {exc}"[:1000]
        now = self.clock()
        result = FetchResult(url=feed.url, outcome="error", error_kind=kind, error=error)
        update = cadence.feed_update(feed, result, now, self.policy, self.rng, new_items=0)
        next_at: datetime | None = update.next_poll_at
        try:
            await self._in_db(self.store.record_poll, feed.id, update)
        except Exception as again:  # the database refuses even this: the lease ends it
            log.error(
                "cannot record the failed poll of %s either (%s); it is polled again when its "
                "lease ends",
                redact_url(feed.url),
                again,
            )
            next_at = None
        report = PollReport(
            feed.id,
            feed.url,
            feed.name,
            "error",
            None,
            error_kind=kind,
            error=error,
            duration_s=time.monotonic() - t0,
            next_poll_at=next_at,
        )
        _log_poll(report)
        if self.on_poll is not None:
            self.on_poll(report)
        return report

    async def _poll_feed(self, feed: FeedState, t0: float) -> PollReport:
        source = self.sources.get(feed.url, FEED_SOURCE)
        result = await self._fetch(feed, source)
        now = self.clock()
        items: list[Item] = []
        cut: int | None = None
        kept: SourceRead | None = None
        if result.outcome == "ok" and result.body is not None:
            # Bodies waiting here are cheap; parsed items waiting for the database are not.
            async with self._ingesting.hold(len(result.body)):
                scored: Scored | None = None
                signatures: Mapping[str, StorySignature | bytes] = {}
                profiles: Mapping[str, EventProfile | bytes] = {}
                if source.kind == "feed":
                    result, parsed, scored = await self._parse(feed, result, now)
                    if parsed is not None:
                        items, signatures, cut = parsed.items, parsed.signatures, parsed.cut
                        profiles = parsed.profiles
                else:
                    result, kept = await self._read_source(feed, source, result, now)
                    items, signatures = (kept.items, kept.signatures) if kept else ([], {})
                    cut = kept.cut if kept else None
                backlog = feed.last_success_at is None and not self.first_poll_alerts
                outcome = plan.Outcome(feed, result, cut)
                poll = plan.Poll(feed.id, now, items, signatures, None, backlog, outcome, profiles)
                written = await self._write(poll, scored)
            if kept is not None and kept.text is not None and kept.text_hash is not None:
                # kept once its change is stored: were this lost, the next poll would find the
                # same change again, under the same key, and store nothing twice
                await self._in_db(
                    self.store.save_page_text, feed.id, kept.text, kept.text_hash, now
                )
        else:
            poll = plan.Poll(feed.id, now, outcome=plan.Outcome(feed, result))
            written = await self._write(poll)
        saved, update = written.saved, written.update
        assert update is not None
        report = PollReport(
            feed_id=feed.id,
            url=feed.url,
            name=feed.name,
            outcome=result.outcome,
            status=result.status,
            items=len(items),
            new_items=saved.new_items,
            changed_items=saved.changed_items,
            new_matches=saved.new_matches,
            cut=cut or 0,
            topics=saved.topics,
            error_kind=result.error_kind,
            error=result.error,
            duration_s=time.monotonic() - t0,
            fetch_s=result.elapsed_s,
            next_poll_at=update.next_poll_at,
            next_poll_reason=update.next_poll_reason,
        )
        _log_poll(report)
        if self.on_poll is not None:
            self.on_poll(report)
        return report

    async def _fetch(self, feed: FeedState, source: SourceSpec) -> FetchResult:
        """Fetch a source. A web page or a document is fetched only when its site's
        robots.txt allows it (unless the source says not to ask); a feed is published to be
        polled."""
        if source.kind == "feed":
            return await self.fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified, body_hash=feed.body_hash
            )
        if source.robots and self.robots is not None:
            verdict = await self.robots.check(feed.url)
            if not verdict.allowed:
                kind = verdict.kind or "robots"
                return FetchResult(feed.url, "error", error_kind=kind, error=verdict.reason)
        return await self.fetcher.fetch(
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            body_hash=feed.body_hash,
            kind="page",
        )

    async def _parse(
        self, feed: FeedState, result: FetchResult, now: datetime
    ) -> tuple[FetchResult, Parsed | None, Scored | None]:
        """Parse a fetched body into items, their story signatures and event profiles, the
        number of entries past the cap and (when the worker has the current matcher) each
        item's matches, in a worker (``None`` when the body does not parse)."""
        assert result.body is not None
        matcher = self.matcher()
        try:
            parsed = await self.parse_pool.run(
                parse_and_score,
                result.body,
                result.final_url or feed.url,
                result.content_type,
                feed.lang,
                now,
                self.max_entries,
                self.parse_pool.share(matcher),
                size=len(result.body),
            )
        except ParseError as exc:
            return _as_error(result, exc), None, None
        scored = None
        if parsed.matches is not None:
            scored = Scored(
                matcher, {i.key: m for i, m in zip(parsed.items, parsed.matches, strict=True)}
            )
        return result, parsed, scored

    async def _read_source(
        self, feed: FeedState, source: SourceSpec, result: FetchResult, now: datetime
    ) -> tuple[FetchResult, SourceRead | None]:
        """Read a web page or a document into items, in a worker (``monitor.sources``)."""
        assert result.body is not None
        url = result.final_url or feed.url
        fn: Callable[..., SourceRead]
        args: tuple[object, ...]
        if source.kind == "document":
            fn, args = read_document, (result.body, url, result.content_type, feed.lang, now)
        elif source.watch == "text":
            previous = await self._in_db(self.store.page_text, feed.id)
            fn = read_watched
            args = (result.body, url, result.content_type, feed.lang, now, source.items)
            args += (previous, feed.name)
        else:
            fn = read_listing
            args = (result.body, url, result.content_type, feed.lang, now, source.items)
            args += (self.max_entries,)
        try:
            read: SourceRead = await self.parse_pool.run(fn, *args, size=len(result.body))
        except ParseError as exc:
            return _as_error(result, exc), None
        return result, read

    async def _write(self, poll: plan.Poll, scored: Scored | None = None) -> FeedWrite:
        """Write a poll with the others waiting (``monitor.ingest.WriteQueue``)."""
        return await self._writes.write(poll, scored)


def _as_error(result: FetchResult, exc: ParseError) -> FetchResult:
    return FetchResult(
        url=result.url,
        outcome="error",
        status=result.status,
        final_url=result.final_url,
        content_type=result.content_type,
        error_kind=exc.kind,
        error=str(exc),
        elapsed_s=result.elapsed_s,
    )


def _log_poll(r: PollReport) -> None:
    level = logging.WARNING if r.outcome == "error" or r.cut else logging.INFO
    if not log.isEnabledFor(level):
        return  # `monitor poll` logs warnings only: no fields made for a record nobody keeps
    fields = {
        "event": "poll",
        "feed": redact_url(r.url),
        "outcome": r.outcome,
        "status": r.status,
        "items": r.items,
        "new": r.new_items,
        "changed": r.changed_items,
        "matches": r.new_matches,
        "duration_ms": round(r.duration_s * 1000),
        "next_poll_at": r.next_poll_at.isoformat(timespec="seconds") if r.next_poll_at else None,
        "next_poll_reason": r.next_poll_reason,
    }
    if r.outcome == "error":
        fields["error_kind"] = r.error_kind
        fields["error"] = r.error
        log.warning("poll failed: %s", r.error, extra={"fields": fields})
    elif r.cut:
        fields["cut"] = r.cut
        log.warning(
            "polled; %d entries past polling.max_entries left unread",
            r.cut,
            extra={"fields": fields},
        )
    else:
        log.info("polled", extra={"fields": fields})
