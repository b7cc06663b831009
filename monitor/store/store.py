"""The database: feeds, items, matches, stories and the delivery outbox.

Owns: every SQL statement and SQLAlchemy error translation (into :class:`StoreError`). Returns
``monitor.model`` values only; table classes never leave this package. Decisions (is a match
new, which story is an item in) are made by pure modules this one calls. Must not import fetch,
deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from array import array
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar
from uuid import uuid4

from sqlalchemy import (
    Engine,
    Table,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor import stories
from monitor.dedupe import match_changes, triage
from monitor.errors import StoreError
from monitor.model import (
    Delivery,
    Digest,
    FeedState,
    FeedUpdate,
    Item,
    ListedItem,
    MatchRecord,
    Reason,
    StoredItem,
    TopicMatch,
)
from monitor.store import articles, listing, migrate, pages
from monitor.store import events as event_store
from monitor.store.signals import SignalStore, link_signals, record_amendment
from monitor.store.tables import (
    DeliveryMatchRow,
    DeliveryRow,
    FeedItemRow,
    FeedRow,
    ItemRow,
    MatchRow,
    MetaRow,
    StoryBandRow,
    WorkerRow,
)
from monitor.store.translate import translated as _translated

if TYPE_CHECKING:
    from monitor.store.feedback import FeedbackStore

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

feeds_t = FeedRow.__table__  # type: ignore[attr-defined]
items_t = ItemRow.__table__  # type: ignore[attr-defined]
feed_items_t = FeedItemRow.__table__  # type: ignore[attr-defined]
matches_t = MatchRow.__table__  # type: ignore[attr-defined]
bands_t = StoryBandRow.__table__  # type: ignore[attr-defined]
deliveries_t = DeliveryRow.__table__  # type: ignore[attr-defined]
delivery_matches_t = DeliveryMatchRow.__table__  # type: ignore[attr-defined]
meta_t = MetaRow.__table__  # type: ignore[attr-defined]
workers_t = WorkerRow.__table__  # type: ignore[attr-defined]

STORY_WINDOW = timedelta(days=3)
PRUNE_LOCK = 0x6D6F6E0002  # advisory lock key of the retention job ("mon" + 2)


class _StoryCache:
    """Story and signature of recently stored items, by item id, least recently used out first.

    A new item's story is found by comparing it with recent items that share a candidate key;
    without this cache each of those would be read back and shingled again every time it comes
    up. An entry is small: the sketch as 64-bit integers in an array (about 0.4 KB for a news
    item). A changed item's entry is dropped. Thread-safe. Items written by another process
    are read from the database once, then kept here like the rest.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[int, tuple[str, array[int], int]] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, ids: Iterable[int]) -> dict[int, tuple[str, stories.StorySignature]]:
        out: dict[int, tuple[str, stories.StorySignature]] = {}
        with self._lock:
            for item_id in ids:
                hit = self._data.get(item_id)
                if hit is not None:
                    self._data.move_to_end(item_id)
                    out[item_id] = (hit[0], stories.StorySignature(tuple(hit[1]), hit[2]))
        return out

    def put(self, item_id: int, story: str, sig: stories.StorySignature) -> None:
        value = (story, array("q", sig.hashes), sig.size)
        with self._lock:
            self._data[item_id] = value
            self._data.move_to_end(item_id)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def drop(self, item_id: int) -> None:
        with self._lock:
            self._data.pop(item_id, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


#: Items whose story signatures a store keeps in memory (about 0.4 KB each).
STORY_CACHE_SIZE = 20_000


class FeedSpecLike(Protocol):
    """What the store needs of a configured feed."""

    @property
    def url(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def lang(self) -> str | None: ...
    @property
    def interval(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What one feed's save wrote."""

    new_items: int = 0
    linked_items: int = 0
    changed_items: int = 0
    new_matches: int = 0
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PollWrite:
    """One feed's poll as :meth:`Store.write_polls` writes it.

    ``items`` are the feed's parsed items (none when no body was parsed), ``signatures`` their
    story signatures by item key (computed off the database thread; missing ones are computed
    when needed), and ``update`` the poll's outcome to record: a :class:`FeedUpdate`, a
    function of what was saved (the next poll depends on how many items were new), or
    ``None`` to record nothing.
    """

    feed_id: int
    now: datetime
    update: FeedUpdate | Callable[[SaveResult], FeedUpdate] | None
    items: Sequence[Item] = ()
    signatures: Mapping[str, stories.StorySignature] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PollWritten:
    """What :meth:`Store.write_polls` wrote for one feed."""

    saved: SaveResult
    update: FeedUpdate | None


@dataclass(frozen=True, slots=True, eq=False)
class _FeedBatch:
    """One feed's share of a batch: its new and changed items and their matches (compared
    and hashed by identity: two polls of one feed are two batches)."""

    feed_id: int
    now: datetime
    new: Sequence[Item]
    changed: Sequence[Item]
    scored: Mapping[str, Sequence[TopicMatch]]
    signatures: Mapping[str, stories.StorySignature]


def _poll_values(upd: FeedUpdate) -> dict[str, Any]:
    """The feed columns a poll's outcome sets (a failed poll keeps the validators)."""
    values: dict[str, Any] = {
        "last_polled_at": upd.polled_at,
        "next_poll_at": upd.next_poll_at,
        "next_poll_reason": upd.next_poll_reason,
        "last_status": upd.status,
        "consecutive_failures": upd.consecutive_failures,
        "unhealthy": upd.unhealthy,
        "disabled_reason": upd.disabled_reason,
        "lease_owner": None,
        "lease_until": None,
    }
    if upd.items_per_day is not None:
        values["items_per_day"] = upd.items_per_day
    if upd.entries_cut is not None:
        values["entries_cut"] = upd.entries_cut
    if upd.success:
        values.update(
            last_success_at=upd.polled_at,
            last_error_kind=None,
            last_error=None,
            etag=upd.etag,
            last_modified=upd.last_modified,
        )
        if upd.body_hash is not None:
            values["body_hash"] = upd.body_hash
    else:
        values.update(last_error_kind=upd.error_kind, last_error=upd.error)
    return values


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite in WAL mode with foreign keys on, or PostgreSQL."""
    if url.startswith("sqlite"):
        # connections are kept open: opening one per call costs a WAL checkpoint and the
        # re-creation of the WAL file each time the last one closes
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({} if memory else {"pool_size": 5, "max_overflow": 10}),
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _feed_state(row: Any) -> FeedState:
    return FeedState(
        id=row.id,
        url=row.url,
        name=row.name,
        lang=row.lang,
        interval_s=row.interval_s,
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        next_poll_at=row.next_poll_at,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        last_error_kind=row.last_error_kind,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        disabled_reason=row.disabled_reason,
        items_per_day=row.items_per_day,
        unhealthy=bool(row.unhealthy),
        entries_cut=row.entries_cut or 0,
        next_poll_reason=row.next_poll_reason,
    )


def _reasons_json(reasons: Iterable[Reason]) -> str:
    return json.dumps(
        [[r.term, r.field, r.position, r.weight, r.rule] for r in reasons], ensure_ascii=False
    )


def _reasons(text: str) -> tuple[Reason, ...]:
    try:
        data = json.loads(text or "[]")
        return tuple(Reason(str(t), str(f), int(p), float(w), str(r)) for t, f, p, w, r in data)
    except (ValueError, TypeError):
        return ()


class Store:
    """Access to the database. Thread-safe: every method takes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._stories = _StoryCache(STORY_CACHE_SIZE)
        self.articles = articles.ArticleStore(engine, self._apply_matches)
        self.signals = SignalStore(engine)  # signals' own tables and queries

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Connect, and bring the schema up to date unless ``upgrade`` is false."""
        try:
            engine = make_engine(url)
            if upgrade:
                migrate.upgrade(engine)
            elif migrate.current_revision(engine) != migrate.head_revision():
                raise StoreError(
                    f"the database at {engine.url.render_as_string(hide_password=True)} "
                    "is not at the current schema; `monitor run` (or any command that opens "
                    "it) upgrades it"
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the database: {exc}") from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @functools.cached_property
    def feedback(self) -> FeedbackStore:
        """Judgements of items (:mod:`monitor.store.feedback`)."""
        from monitor.store.feedback import FeedbackStore

        return FeedbackStore(self.engine)

    @_translated
    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    @_translated
    def installation_id(self) -> str:
        """This database's random installation id (made when the schema was created; made
        again here if the row was lost, the first writer's id winning a race)."""
        query = select(meta_t.c.value).where(meta_t.c.name == "installation_id")
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        if found is not None:
            return str(found)
        try:
            with self.engine.begin() as conn:
                conn.execute(meta_t.insert().values(name="installation_id", value=uuid4().hex))
        except IntegrityError:
            pass
        with self.engine.connect() as conn:
            return str(conn.execute(query).scalar_one())

    # -- feeds -----------------------------------------------------------------------------

    @_translated
    def sync_feeds(self, specs: Sequence[FeedSpecLike], now: datetime) -> None:
        """Make the feed table reflect the configuration; unlisted feeds stop being polled."""
        wanted = {s.url: s for s in specs}
        with self.engine.begin() as conn:
            rows = {r.url: r for r in conn.execute(select(feeds_t.c.url, feeds_t.c.id))}
            for url, spec in wanted.items():
                values = {
                    "name": spec.name,
                    "lang": spec.lang,
                    "interval_s": spec.interval,
                    "configured": True,
                }
                if url in rows:
                    conn.execute(update(feeds_t).where(feeds_t.c.url == url).values(**values))
                else:
                    conn.execute(
                        feeds_t.insert().values(
                            url=url, created_at=now, consecutive_failures=0, **values
                        )
                    )
            gone = [url for url in rows if url not in wanted]
            if gone:
                conn.execute(
                    update(feeds_t).where(feeds_t.c.url.in_(gone)).values(configured=False)
                )

    @_translated
    def ensure_feed(
        self, url: str, now: datetime, *, name: str | None = None, lang: str | None = None
    ) -> FeedState:
        """The feed with this URL, created (not configured, so not polled by `run`) if new."""
        with self.engine.begin() as conn:
            row = conn.execute(select(feeds_t).where(feeds_t.c.url == url)).first()
            if row is None:
                conn.execute(
                    feeds_t.insert().values(
                        url=url,
                        name=name,
                        lang=lang,
                        configured=False,
                        created_at=now,
                        consecutive_failures=0,
                    )
                )
                row = conn.execute(select(feeds_t).where(feeds_t.c.url == url)).one()
            return _feed_state(row)

    @_translated
    def feeds(self, *, configured_only: bool = False) -> list[FeedState]:
        query = select(feeds_t).order_by(feeds_t.c.id)
        if configured_only:
            query = query.where(feeds_t.c.configured.is_(True))
        with self.engine.connect() as conn:
            return [_feed_state(r) for r in conn.execute(query)]

    @_translated
    def claim_due_feeds(
        self,
        now: datetime,
        *,
        owner: str,
        lease_s: float = 300.0,
        limit: int = 1000,
        urls: Sequence[str] | None = None,
    ) -> list[FeedState]:
        """Claim feeds due at ``now`` for ``owner`` with a lease that expires after ``lease_s``.

        On PostgreSQL, rows another worker is claiming are skipped (``FOR UPDATE SKIP
        LOCKED``), so several processes never poll one feed in the same cycle; a worker that
        dies leaves a lease that simply expires. Disabled feeds (410 Gone) are not claimed,
        unless asked for by URL (``urls``), which also ignores when they are due.
        """
        c = feeds_t.c
        if urls is None:
            query = select(feeds_t).where(self._due(now))
        else:  # feeds asked for by URL are polled now, due or not, even if disabled
            query = select(feeds_t).where(
                or_(c.lease_until.is_(None), c.lease_until < now), c.url.in_(list(urls))
            )
        query = query.order_by(c.next_poll_at.asc().nulls_first(), c.id).limit(limit)
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            rows = conn.execute(query).all()
            if rows:
                until = now + timedelta(seconds=lease_s)
                ids = [r.id for r in rows]
                # guarded: a row another process leased since our select is not taken again
                # (SQLite has no row locks; its writers queue on this update)
                conn.execute(
                    update(feeds_t)
                    .where(c.id.in_(ids), or_(c.lease_until.is_(None), c.lease_until < now))
                    .values(lease_owner=owner, lease_until=until)
                )
                if self.dialect != "postgresql":
                    mine = {
                        r.id
                        for r in conn.execute(
                            select(c.id).where(
                                c.id.in_(ids), c.lease_owner == owner, c.lease_until == until
                            )
                        )
                    }
                    rows = [r for r in rows if r.id in mine]
            return [_feed_state(r) for r in rows]

    @_translated
    def move_next_polls(self, moves: Sequence[tuple[int, datetime | None, datetime]]) -> int:
        """Set feeds' next poll times: ``(feed id, the time read, the new time)`` each. A feed
        whose next poll changed since it was read (a poll just wrote it) is left alone.
        Returns how many moved."""
        c = feeds_t.c
        moved = 0
        with self.engine.begin() as conn:
            for feed_id, was, new in moves:
                same = c.next_poll_at.is_(None) if was is None else c.next_poll_at == was
                result = conn.execute(
                    update(feeds_t).where(c.id == feed_id, same).values(next_poll_at=new)
                )
                moved += int(result.rowcount or 0)
        return moved

    def _due(self, now: datetime) -> Any:
        """The condition of a configured, enabled feed that is due and not leased at ``now``."""
        c = feeds_t.c
        return and_(
            or_(c.lease_until.is_(None), c.lease_until < now),
            c.configured.is_(True),
            c.disabled_reason.is_(None),
            or_(c.next_poll_at.is_(None), c.next_poll_at <= now),
        )

    @_translated
    def count_due(self, now: datetime, since: datetime) -> tuple[int, int]:
        """How many feeds are due at ``now`` and claimed by no worker, and how many were
        polled since ``since`` or are being polled (claimed, their lease running)."""
        c = feeds_t.c
        with self.engine.connect() as conn:
            due = conn.execute(select(func.count()).select_from(feeds_t).where(self._due(now)))
            busy = conn.execute(
                select(func.count())
                .select_from(feeds_t)
                .where(or_(c.lease_until >= now, c.last_polled_at >= since))
            )
            return int(due.scalar_one()), int(busy.scalar_one())

    @_translated
    def heartbeat(self, owner: str, now: datetime, *, live_s: float) -> int:
        """Record that worker ``owner`` is alive at ``now``; forget workers not seen for
        ``live_s`` seconds. Returns how many workers are alive, this one included."""
        c = workers_t.c
        with self.engine.begin() as conn:
            seen = conn.execute(update(workers_t).where(c.name == owner).values(seen_at=now))
            if not seen.rowcount:
                conn.execute(workers_t.insert().values(name=owner, seen_at=now))
            conn.execute(workers_t.delete().where(c.seen_at < now - timedelta(seconds=live_s)))
            return int(conn.execute(select(func.count()).select_from(workers_t)).scalar_one())

    @_translated
    def page_text(self, feed_id: int) -> str | None:
        """A watched page's text as last seen (:mod:`monitor.store.pages`)."""
        return pages.page_text(self.engine, feed_id)

    @_translated
    def save_page_text(self, feed_id: int, text: str, text_hash: str, now: datetime) -> None:
        pages.save_page_text(self.engine, feed_id, text, text_hash, now)

    @_translated
    def leave(self, owner: str) -> None:
        """Worker ``owner`` stops: the others need not wait for it to be forgotten."""
        with self.engine.begin() as conn:
            conn.execute(workers_t.delete().where(workers_t.c.name == owner))

    @_translated
    def release_leases(self, owner: str) -> int:
        """Give back every feed ``owner`` still holds (it is stopping); returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(feeds_t)
                .where(feeds_t.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
            return int(result.rowcount or 0)

    @_translated
    def record_poll(self, feed_id: int, upd: FeedUpdate) -> None:
        """Write a poll's outcome and release the feed's lease."""
        with self.engine.begin() as conn:
            self._record_polls(conn, [(feed_id, upd)])

    def _record_polls(self, conn: Connection, polls: Sequence[tuple[int, FeedUpdate]]) -> None:
        """Write polls' outcomes, one ``executemany`` per shape of update."""
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for feed_id, upd in polls:
            values = _poll_values(upd)
            if upd.new_url:
                taken = conn.execute(
                    select(feeds_t.c.id).where(feeds_t.c.url == upd.new_url)
                ).first()
                if taken is None:
                    values["url"] = upd.new_url
                else:
                    log.warning("feed %s moved to a URL already stored; keeping both", feed_id)
            shapes[tuple(sorted(values))].append(
                {"_feed_id": feed_id, **{f"_{k}": v for k, v in values.items()}}
            )
        for columns, rows in shapes.items():
            stmt = (
                update(feeds_t)
                .where(feeds_t.c.id == bindparam("_feed_id"))
                .values({c: bindparam(f"_{c}") for c in columns})
            )
            conn.execute(stmt, rows)

    # -- items -----------------------------------------------------------------------------

    @_translated
    def stored_hashes(self, feed_id: int, keys: Sequence[str]) -> dict[str, str]:
        """Content hashes of the given item keys already stored for this feed."""
        with self.engine.connect() as conn:
            stored = self._stored_hashes(conn, [(feed_id, k) for k in keys])
            return {key: h for (_, key), h in stored.items()}

    def _stored_hashes(
        self, conn: Connection, pairs: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], str]:
        """Content hashes of these (feed, item key) pairs, where stored."""
        wanted = set(pairs)
        feed_ids = sorted({f for f, _ in wanted})
        out: dict[tuple[int, str], str] = {}
        for chunk in _chunks(sorted({k for _, k in wanted}), 500):
            rows = conn.execute(
                select(
                    feed_items_t.c.feed_id, feed_items_t.c.key, feed_items_t.c.content_hash
                ).where(feed_items_t.c.feed_id.in_(feed_ids), feed_items_t.c.key.in_(chunk))
            )
            for r in rows:
                if (r.feed_id, r.key) in wanted:
                    out[(r.feed_id, r.key)] = r.content_hash
        return out

    def _stored_by_url(
        self, conn: Connection, pairs: Sequence[tuple[int, str]]
    ) -> dict[int, dict[str, tuple[str, str]]]:
        """Per feed, the key and content hash each of these canonical URLs was first stored
        under by that feed."""
        out: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
        wanted = set(pairs)
        feed_ids = sorted({f for f, _ in wanted})
        fi = feed_items_t.c
        for chunk in _chunks(sorted({u for _, u in wanted}), 500):
            rows = conn.execute(
                select(fi.feed_id, fi.key, fi.content_hash, items_t.c.url)
                .join(items_t, items_t.c.id == fi.item_id)
                .where(fi.feed_id.in_(feed_ids), items_t.c.url.in_(chunk))
                .order_by(fi.first_seen_at, fi.key)
            )
            for r in rows:
                if (r.feed_id, r.url) in wanted:
                    out[r.feed_id].setdefault(r.url, (r.key, r.content_hash))
        return out

    @_translated
    def save_items(
        self,
        feed_id: int,
        new: Sequence[Item],
        changed: Sequence[Item],
        scored: Mapping[str, Sequence[TopicMatch]],
        now: datetime,
        *,
        signatures: Mapping[str, stories.StorySignature] | None = None,
    ) -> SaveResult:
        """Store one feed's new and changed items and their matches, in one transaction.

        A new item whose canonical URL is already stored (another feed carried it) is linked
        to this feed, not stored again. A new item that is a near-duplicate of a recent one
        joins its story. A changed item's matches count as new only when a topic newly
        matches or its severity rises (``monitor.dedupe.match_changes``).

        ``signatures`` (item key → :func:`monitor.stories.signature` of its title and summary)
        may be computed beforehand, off this thread; missing ones are computed here.
        """
        batch = _FeedBatch(feed_id, now, new, changed, scored, signatures or {})
        with self.engine.begin() as conn:
            return self._save(conn, [batch])[0]

    @_translated
    def save_feed_items(
        self,
        feed_id: int,
        items: Sequence[Item],
        score: Callable[[Item], Sequence[TopicMatch]],
        now: datetime,
        *,
        signatures: Mapping[str, stories.StorySignature] | None = None,
    ) -> SaveResult:
        """Sort a feed's parsed items against what is stored (``monitor.dedupe.triage``),
        score the new and changed ones with ``score``, and store them as :meth:`save_items`
        does, in one transaction (:meth:`write_polls` for one feed, without its poll)."""
        write = PollWrite(feed_id, now, None, items, signatures or {})
        with self.engine.begin() as conn:
            return self._write(conn, [write], score)[0].saved

    def write_polls(
        self, writes: Sequence[PollWrite], score: Callable[[Item], Sequence[TopicMatch]]
    ) -> list[PollWritten | StoreError]:
        """Write several feeds' polls: their new and changed items, matches and outcomes.

        Each feed's parsed items are sorted against what is stored
        (``monitor.dedupe.triage``), the new and changed ones scored with ``score`` and stored
        as :meth:`save_items` stores them, then the poll's outcome is recorded as
        :meth:`record_poll` does. All in one transaction, with a few statements for the whole
        batch: a commit costs more than the rows of several feeds. When the batch fails, each
        feed is written again in a transaction of its own, so one feed's failure (returned in
        its place as a :class:`StoreError`) never loses another's poll.
        """
        if not writes:
            return []
        try:
            with self.engine.begin() as conn:
                return list(self._write(conn, writes, score))
        except SQLAlchemyError as exc:
            if len(writes) == 1:
                return [StoreError(f"database error in write_polls: {exc}")]
            log.warning(
                "a batch of %d polls failed (%s); writing them one by one", len(writes), exc
            )
        out: list[PollWritten | StoreError] = []
        for write in writes:
            out += self.write_polls([write], score)
        return out

    def _write(
        self,
        conn: Connection,
        writes: Sequence[PollWrite],
        score: Callable[[Item], Sequence[TopicMatch]],
    ) -> list[PollWritten]:
        stored = self._stored_hashes(conn, [(w.feed_id, i.key) for w in writes for i in w.items])
        # links of items with a key not stored: the feed may have changed an item's guid
        by_url = self._stored_by_url(
            conn,
            [
                (w.feed_id, i.url)
                for w in writes
                for i in w.items
                if i.url and (w.feed_id, i.key) not in stored
            ],
        )
        batches: list[_FeedBatch] = []
        for w in writes:
            sorted_items = triage(
                w.items,
                {
                    i.key: stored[(w.feed_id, i.key)]
                    for i in w.items
                    if (w.feed_id, i.key) in stored
                },
                by_url.get(w.feed_id),
            )
            scored = {i.key: score(i) for i in (*sorted_items.new, *sorted_items.changed)}
            batches.append(
                _FeedBatch(
                    w.feed_id, w.now, sorted_items.new, sorted_items.changed, scored, w.signatures
                )
            )
        saved = self._save(conn, batches)
        written: list[PollWritten] = []
        polls: list[tuple[int, FeedUpdate]] = []
        for w, result in zip(writes, saved, strict=True):
            upd = w.update(result) if callable(w.update) else w.update
            if upd is not None:
                polls.append((w.feed_id, upd))
            written.append(PollWritten(result, upd))
        if polls:
            self._record_polls(conn, polls)
        return written

    def _save(self, conn: Connection, batches: Sequence[_FeedBatch]) -> list[SaveResult]:
        inserted = self._insert_new(conn, batches)
        results = []
        for b, (new_items, linked, topics) in zip(batches, inserted, strict=True):
            n_changed = 0
            for item in b.changed:
                row = conn.execute(
                    select(feed_items_t.c.item_id, items_t.c.title)
                    .join(items_t, items_t.c.id == feed_items_t.c.item_id)
                    .where(feed_items_t.c.feed_id == b.feed_id, feed_items_t.c.key == item.key)
                ).first()
                if row is None:
                    continue
                n_changed += 1
                conn.execute(
                    update(feed_items_t)
                    .where(feed_items_t.c.feed_id == b.feed_id, feed_items_t.c.key == item.key)
                    .values(content_hash=item.content_hash, last_seen_at=b.now)
                )
                # its text changed: so did its signature and its candidate keys
                sig = b.signatures.get(item.key) or stories.signature(item.title, item.summary)
                old_sig = self._stored_signature(conn, row.item_id)
                conn.execute(
                    update(items_t)
                    .where(items_t.c.id == row.item_id)
                    .values(
                        title=item.title,
                        summary=item.summary,
                        content_hash=item.content_hash,
                        sketch=stories.signature_to_bytes(sig),
                        updated_at=b.now,
                        # an amended title: the one readers saw before, for "updated (was …)"
                        **({"previous_title": row.title} if row.title != item.title else {}),
                    )
                )
                self._replace_keys(conn, row.item_id, old_sig, sig)
                scored = b.scored.get(item.key, ())
                amended = (row.item_id, b.feed_id, b.now, row.title, item.title, scored)
                record_amendment(conn, *amended)
                topics += self._apply_matches(conn, row.item_id, scored, b.now)
            results.append(SaveResult(new_items, linked, n_changed, len(topics), tuple(topics)))
        return results

    def _insert_new(
        self, conn: Connection, batches: Sequence[_FeedBatch]
    ) -> list[tuple[int, int, list[str]]]:
        """Write the feeds' new items; per feed, (items stored, items linked, new match topics).

        An item whose canonical URL is stored already, or belongs to an earlier item of the
        batch, is linked to that item. The rest are inserted in one statement (ids come back
        in order), then their story keys, feed links and matches in one each.
        """
        new = [(b, item) for b in batches for item in b.new]
        if not new:
            return [(0, 0, []) for _ in batches]
        stored = self._items_by_url(conn, {i.url for _, i in new if i.url})
        fresh: list[tuple[_FeedBatch, Item]] = []
        # for each new item, its stored item id, or -1 - its position in ``fresh``
        owners: list[int] = []
        in_batch: dict[str, int] = {}
        for b, item in new:
            if item.url and item.url in stored:
                owners.append(stored[item.url])
            elif item.url and item.url in in_batch:
                owners.append(-1 - in_batch[item.url])
            else:
                if item.url:
                    in_batch[item.url] = len(fresh)
                owners.append(-1 - len(fresh))
                fresh.append((b, item))
        ids: list[int] = []
        if fresh:
            sigs = [
                b.signatures.get(i.key) or stories.signature(i.title, i.summary) for b, i in fresh
            ]
            keys_of = [sorted(set(sig.keys)) for sig in sigs]
            since = min(b.now for b in batches) - STORY_WINDOW
            story_ids = self._assign_stories(conn, [i for _, i in fresh], sigs, keys_of, since)
            rows = [
                (
                    item.url,
                    item.title,
                    item.summary,
                    item.published,
                    item.author,
                    item.source,
                    item.lang,
                    item.content_hash,
                    item.fingerprint,
                    story,
                    stories.signature_to_bytes(sig),
                    b.now,
                    b.now,
                )
                for (b, item), story, sig in zip(fresh, story_ids, sigs, strict=True)
            ]
            ids = self._insert_items(conn, rows)
            bands = [(k, item_id) for item_id, keys in zip(ids, keys_of, strict=True) for k in keys]
            _bulk_insert(conn, bands_t, ("band", "item_id"), bands)
            for item_id, story, sig in zip(ids, story_ids, sigs, strict=True):
                self._stories.put(item_id, story, sig)
            event_store.place(conn, _new_items(fresh, ids, story_ids), min(b.now for b in batches))
        _bulk_insert(
            conn,
            feed_items_t,
            ("feed_id", "key", "item_id", "content_hash", "first_seen_at", "last_seen_at"),
            [
                (
                    b.feed_id,
                    item.key,
                    owner if owner >= 0 else ids[-1 - owner],
                    item.content_hash,
                    b.now,
                    b.now,
                )
                for (b, item), owner in zip(new, owners, strict=True)
            ],
        )
        topics: dict[_FeedBatch, list[str]] = defaultdict(list)
        match_rows: list[dict[str, Any]] = []
        for item_id, (b, item) in zip(ids, fresh, strict=True):
            changes = match_changes({}, b.scored.get(item.key, ()))  # a new item has none yet
            for tm in (*changes.new, *changes.raised):
                match_rows.append(
                    {
                        "item_id": item_id,
                        "topic": tm.topic,
                        "score": tm.score,
                        "severity": tm.severity,
                        "urgent": tm.urgent,
                        "reasons": _reasons_json(tm.reasons),
                        "matched_at": b.now,
                        "updated_at": b.now,
                    }
                )
                topics[b].append(tm.topic)
        if match_rows:
            conn.execute(matches_t.insert(), match_rows)
        stored_here = Counter(b for b, _ in fresh)
        return [(stored_here[b], len(b.new) - stored_here[b], topics[b]) for b in batches]

    def _insert_items(self, conn: Connection, rows: list[tuple[Any, ...]]) -> list[int]:
        """Insert items (tuples in :data:`_ITEM_COLUMNS` order); their ids, in order."""
        if self.dialect != "sqlite":
            result = conn.execute(
                items_t.insert().returning(items_t.c.id, sort_by_parameter_order=True),
                [dict(zip(_ITEM_COLUMNS, row, strict=True)) for row in rows],
            )
            return [r.id for r in result]
        # SQLite returns ids in order only one row at a time. Without an explicit id it gives a
        # row the largest id so far plus one, and from its first insert on, this transaction
        # holds the database's write lock: the newest ids are these rows'.
        _bulk_insert(conn, items_t, _ITEM_COLUMNS, rows)
        newest = conn.exec_driver_sql(
            "SELECT id FROM items ORDER BY id DESC LIMIT ?", (len(rows),)
        ).fetchall()
        ids = [r[0] for r in reversed(newest)]
        if ids != list(range(ids[0], ids[0] + len(rows))):  # pragma: no cover - see above
            raise StoreError("new items did not get consecutive ids; nothing was written")
        return ids

    def _items_by_url(self, conn: Connection, urls: set[str]) -> dict[str, int]:
        """The first stored item with each of these canonical URLs."""
        out: dict[str, int] = {}
        for chunk in _chunks(sorted(urls), 500):
            rows = conn.execute(
                select(items_t.c.url, func.min(items_t.c.id).label("id"))
                .where(items_t.c.url.in_(chunk))
                .group_by(items_t.c.url)
            )
            out.update({r.url: r.id for r in rows})
        return out

    def _assign_stories(
        self,
        conn: Connection,
        fresh: Sequence[Item],
        sigs: Sequence[stories.StorySignature],
        keys_of: Sequence[Sequence[int]],
        since: datetime,
    ) -> list[str]:
        """The story of each new item, taken in order: that of the most similar of the recent
        items (first seen at or after ``since``, stored or earlier in the batch) that
        :func:`monitor.stories.pick_candidates` picks for it, if close enough, else a story of
        its own. Reads at most :data:`~monitor.stories.KEY_DEPTH` stored items per key."""
        stored = self._recent_carriers(conn, {k for item_keys in keys_of for k in item_keys}, since)
        # the batch's items are newer than any stored one: (1, position) sorts after (0, id)
        batch: defaultdict[int, deque[tuple[int, int]]] = defaultdict(stories.carrier_queue)

        def carriers(key: int) -> Iterable[tuple[int, int]]:
            newer = batch.get(key)
            if newer:
                yield from reversed(newer)
            for item_id in stored.get(key, ()):
                yield (0, item_id)

        picked = []
        for item_keys in keys_of:
            picked.append(stories.pick_candidates(item_keys, carriers))
            # positions are only compared with later items of the batch: add after picking
            for k in item_keys:
                batch[k].append((1, len(picked) - 1))
        known = self._story_signatures(
            conn, {ref for refs in picked for origin, ref in refs if origin == 0}
        )
        out: list[str] = []
        for item, sig, refs in zip(fresh, sigs, picked, strict=True):
            recent = [
                (out[ref], sigs[ref]) if origin == 1 else known[ref]
                for origin, ref in refs
                if origin == 1 or ref in known
            ]
            story = stories.assign_story(sig, recent)
            out.append(story or stories.story_id_for(f"{item.feed_url}|{item.key}"))
        return out

    def _recent_carriers(
        self, conn: Connection, keys: set[int], since: datetime
    ) -> dict[int, list[int]]:
        """For each key, the ids of the :data:`~monitor.stories.KEY_DEPTH` most recent stored
        items first seen at or after ``since`` that carry it, newest first.

        Each key is its own bounded range read of the ``(band, item_id)`` primary key, so a
        key carried by thousands of items costs what a rare one does."""
        out: dict[int, list[int]] = defaultdict(list)
        # Ids grow with time, so "first seen since" is "id at least the first id seen since":
        # one lookup on the time index, then the key lookups need no join with the items.
        first = conn.execute(
            select(func.min(items_t.c.id)).where(items_t.c.first_seen_at >= since)
        ).scalar()
        if first is None or not keys:
            return out
        depth = stories.KEY_DEPTH
        table = bands_t.name
        if self.dialect == "postgresql":
            # one statement a chunk: each key's newest rows through a lateral index read
            for chunk in _chunks(sorted(keys), 1000):
                rows = conn.exec_driver_sql(
                    f"SELECT k.band, s.item_id FROM unnest(%s::bigint[]) AS k(band) "
                    f"CROSS JOIN LATERAL (SELECT item_id FROM {table} "
                    f"WHERE band = k.band AND item_id >= %s "
                    f"ORDER BY item_id DESC LIMIT {depth}) AS s",
                    (chunk, first),
                )
                for band, item_id in rows:
                    out[band].append(item_id)
        else:
            self._recent_carriers_sqlite(conn, keys, first, out)
        for ids in out.values():
            ids.sort(reverse=True)
        return out

    @staticmethod
    def _recent_carriers_sqlite(
        conn: Connection, keys: set[int], first: int, out: dict[int, list[int]]
    ) -> None:
        depth = stories.KEY_DEPTH
        table = bands_t.name
        mark = _placeholder(conn.dialect)
        one = (
            f"SELECT band, item_id FROM (SELECT band, item_id FROM {table} "
            f"WHERE band = {mark} AND item_id >= {mark} ORDER BY item_id DESC LIMIT {depth})"
        )
        # SQLite allows 500 terms in a compound SELECT
        for chunk in _chunks(sorted(keys), 200):
            rows = conn.exec_driver_sql(
                " UNION ALL ".join([one] * len(chunk)),
                tuple(v for k in chunk for v in (k, first)),
            )
            for band, item_id in rows:
                out[band].append(item_id)

    def _stored_signature(self, conn: Connection, item_id: int) -> stories.StorySignature:
        """The signature stored with an item (shingled from its text if none was kept)."""
        row = conn.execute(
            select(items_t.c.sketch, items_t.c.title, items_t.c.summary).where(
                items_t.c.id == item_id
            )
        ).one()
        if row.sketch:
            return stories.signature_from_bytes(row.sketch)
        return stories.signature(row.title, row.summary)

    def _replace_keys(
        self,
        conn: Connection,
        item_id: int,
        old: stories.StorySignature,
        new: stories.StorySignature,
    ) -> None:
        """Index an amended item under its new text's keys instead of its old text's (each
        deleted by its primary key: the table has no index on ``item_id``)."""
        gone = sorted(set(old.keys) - set(new.keys))
        for chunk in _chunks(gone, 500):
            conn.execute(
                delete(bands_t).where(bands_t.c.band.in_(chunk), bands_t.c.item_id == item_id)
            )
        added = sorted(set(new.keys) - set(old.keys))
        _bulk_insert(conn, bands_t, ("band", "item_id"), [(k, item_id) for k in added])
        self._stories.drop(item_id)

    def _story_signatures(
        self, conn: Connection, ids: set[int]
    ) -> dict[int, tuple[str, stories.StorySignature]]:
        """Story and signature of each stored item in ``ids`` that has a story: from the
        cache, else as stored with the item, else from its stored text."""
        out = self._stories.get_many(ids)
        missing = sorted(ids - out.keys())
        for chunk in _chunks(missing, 500):
            rows = conn.execute(
                select(
                    items_t.c.id,
                    items_t.c.story,
                    items_t.c.sketch,
                    items_t.c.title,
                    items_t.c.summary,
                ).where(items_t.c.id.in_(chunk))
            )
            for r in rows:
                if r.story:
                    if r.sketch:
                        sig = stories.signature_from_bytes(r.sketch)
                    else:
                        sig = stories.signature(r.title, r.summary)
                    self._stories.put(r.id, r.story, sig)
                    out[r.id] = (r.story, sig)
        return out

    def _apply_matches(
        self, conn: Connection, item_id: int, current: Sequence[TopicMatch], now: datetime
    ) -> list[str]:
        """Write an item's matches; return the topics that count as new matches."""
        previous = {
            r.topic: r.severity
            for r in conn.execute(
                select(matches_t.c.topic, matches_t.c.severity).where(
                    matches_t.c.item_id == item_id
                )
            )
        }
        changes = match_changes(previous, current)
        for tm in changes.new:
            conn.execute(
                matches_t.insert().values(
                    item_id=item_id,
                    topic=tm.topic,
                    score=tm.score,
                    severity=tm.severity,
                    urgent=tm.urgent,
                    reasons=_reasons_json(tm.reasons),
                    matched_at=now,
                    updated_at=now,
                )
            )
        for tm, counts in [(m, True) for m in changes.raised] + [
            (m, False) for m in changes.refreshed
        ]:
            values: dict[str, Any] = {
                "score": tm.score,
                "severity": tm.severity,
                "urgent": tm.urgent,
                "reasons": _reasons_json(tm.reasons),
                "updated_at": now,
            }
            if counts:
                values["matched_at"] = now
            conn.execute(
                update(matches_t)
                .where(matches_t.c.item_id == item_id, matches_t.c.topic == tm.topic)
                .values(**values)
            )
        return [m.topic for m in (*changes.new, *changes.raised)]

    # -- reading matches and items ---------------------------------------------------------

    @_translated
    def matches(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        topic: str | None = None,
        topics: Sequence[str] | None = None,
        min_score: float | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = 500,
    ) -> list[MatchRecord]:
        """Stored matches, newest first (by publication time, else the time matched: the time
        people are shown), each with its story and the other feeds carrying it."""
        m, i = matches_t.c, items_t.c
        query = (
            select(
                m.id,
                m.item_id,
                m.topic,
                m.score,
                m.severity,
                m.reasons,
                m.matched_at,
                m.urgent,
                i.url,
                i.title,
                i.summary,
                i.published,
                i.story,
                i.source,
                i.previous_title,
                event_store.item_events_t.c.event,
            )
            .join(items_t, i.id == m.item_id)
            .outerjoin(event_store.item_events_t, event_store.item_events_t.c.item_id == i.id)
            .order_by(func.coalesce(i.published, m.matched_at).desc(), m.id.desc())
        )
        conds = []
        if since is not None:
            conds.append(m.matched_at >= since)
        if until is not None:
            conds.append(m.matched_at < until)
        if topic is not None:
            conds.append(m.topic == topic)
        if topics is not None:
            conds.append(m.topic.in_(list(topics)))
        if min_score is not None:
            conds.append(m.score >= min_score)
        if ids is not None:
            conds.append(m.id.in_(list(ids)))
        if conds:
            query = query.where(and_(*conds))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            carriers = self._carriers(conn, {r.item_id for r in rows})
            siblings = self._story_carriers(conn, {r.story for r in rows if r.story})
            by_event = event_store.event_outlets(
                conn, events_wanted={r.event for r in rows if r.event}
            )
        out = []
        for r in rows:
            feeds = carriers.get(r.item_id, [])
            first_url, first_name = feeds[0] if feeds else ("", None)
            others = [name or url for url, name in feeds[1:]]
            reported = [(o.feed_url, o.feed_name) for o in by_event.get(r.event, ())]
            for url, name in siblings.get(r.story, []) + reported:
                label = name or url
                if url != first_url and label not in others:
                    others.append(label)
            if r.source and r.source not in others and r.source != first_name:
                others.append(r.source)
            out.append(
                MatchRecord(
                    id=r.id,
                    item_id=r.item_id,
                    feed_url=first_url,
                    feed_name=first_name,
                    url=r.url,
                    title=r.title,
                    summary=r.summary,
                    published=r.published,
                    topic=r.topic,
                    score=r.score,
                    severity=r.severity,
                    reasons=_reasons(r.reasons),
                    matched_at=r.matched_at,
                    story=r.story,
                    event=r.event,
                    also_in=tuple(others),
                    urgent=bool(r.urgent),
                    previous_title=r.previous_title,
                )
            )
        return out

    def _carriers(
        self, conn: Connection, item_ids: set[int]
    ) -> dict[int, list[tuple[str, str | None]]]:
        out: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
        for chunk in _chunks(sorted(item_ids), 500):
            rows = conn.execute(
                select(feed_items_t.c.item_id, feeds_t.c.url, feeds_t.c.name)
                .join(feeds_t, feeds_t.c.id == feed_items_t.c.feed_id)
                .where(feed_items_t.c.item_id.in_(chunk))
                .order_by(feed_items_t.c.first_seen_at, feeds_t.c.id)
            )
            for r in rows:
                out[r.item_id].append((r.url, r.name))
        return out

    def _story_carriers(
        self, conn: Connection, story_ids: set[str]
    ) -> dict[str, list[tuple[str, str | None]]]:
        out: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for chunk in _chunks(sorted(story_ids), 500):
            rows = conn.execute(
                select(items_t.c.story, feeds_t.c.url, feeds_t.c.name)
                .join(feed_items_t, feed_items_t.c.item_id == items_t.c.id)
                .join(feeds_t, feeds_t.c.id == feed_items_t.c.feed_id)
                .where(items_t.c.story.in_(chunk))
                .order_by(feed_items_t.c.first_seen_at)
            )
            for r in rows:
                if (r.url, r.name) not in out[r.story]:
                    out[r.story].append((r.url, r.name))
        return out

    @_translated
    def event_outlets(
        self, *, events: Collection[str] | None = None, since: datetime | None = None
    ) -> dict[str, list[event_store.EventOutlet]]:
        """Each event's outlets, earliest first: see :func:`monitor.store.events.event_outlets`."""
        with self.engine.connect() as conn:
            return event_store.event_outlets(conn, events_wanted=events, since=since)

    @_translated
    def item(self, item_id: int | None = None, *, url: str | None = None) -> StoredItem | None:
        """One stored item by id or canonical URL, with its feeds and matches."""
        query = select(items_t)
        query = query.where(items_t.c.id == item_id) if item_id is not None else query
        query = query.where(items_t.c.url == url) if url is not None else query
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
            if row is None:
                return None
            feeds = [name or u for u, name in self._carriers(conn, {row.id}).get(row.id, [])]
            found = conn.execute(select(matches_t).where(matches_t.c.item_id == row.id)).all()
        return StoredItem(
            id=row.id,
            url=row.url,
            title=row.title,
            summary=row.summary,
            published=row.published,
            lang=row.lang,
            story=row.story,
            first_seen_at=row.first_seen_at,
            feeds=tuple(feeds),
            matches=tuple(
                TopicMatch(m.topic, m.score, m.severity, _reasons(m.reasons), m.urgent)
                for m in found
            ),
        )

    @_translated
    def items(
        self,
        *,
        since: datetime | None = None,
        feed_url: str | None = None,
        limit: int | None = None,
    ) -> list[ListedItem]:
        """What was stored from each feed, matched or not (:func:`listing.list_items`)."""
        with self.engine.connect() as conn:
            return listing.list_items(conn, since=since, feed_url=feed_url, limit=limit)

    @_translated
    def counts(self) -> dict[str, int]:
        """Row counts of the main tables (for status output and tests)."""
        with self.engine.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for name, t in (
                    ("feeds", feeds_t),
                    ("items", items_t),
                    ("feed_items", feed_items_t),
                    ("matches", matches_t),
                )
            }

    @_translated
    def prune(self, *, unmatched_before: datetime, bands_before: datetime) -> int | None:
        """Delete unmatched items first seen before ``unmatched_before``; returns how many.

        On PostgreSQL one worker prunes at a time (an advisory lock); the others return None.
        """
        with self.engine.begin() as conn:
            if (
                self.dialect == "postgresql"
                and not conn.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PRUNE_LOCK}
                ).scalar_one()
            ):
                return None
            conn.execute(
                delete(bands_t).where(
                    bands_t.c.item_id.in_(
                        select(items_t.c.id).where(items_t.c.first_seen_at < bands_before)
                    )
                )
            )
            old = select(items_t.c.id).where(
                items_t.c.first_seen_at < unmatched_before,
                ~items_t.c.id.in_(select(matches_t.c.item_id)),
            )
            ids = [r.id for r in conn.execute(old)]
            event_store.prune(conn, terms_before=bands_before, item_ids=ids)
            for chunk in _chunks(ids, 500):
                conn.execute(delete(bands_t).where(bands_t.c.item_id.in_(chunk)))
                conn.execute(delete(feed_items_t).where(feed_items_t.c.item_id.in_(chunk)))
                articles.delete_for(conn, chunk)
                conn.execute(delete(items_t).where(items_t.c.id.in_(chunk)))
            self._stories.clear()
            return len(ids)

    # -- the outbox ------------------------------------------------------------------------

    @_translated
    def undelivered_matches(
        self,
        channel: str,
        kind: str,
        *,
        since: datetime,
        until: datetime,
        topics: Sequence[str] | None = None,
        min_score: float = 0.0,
        severities: Sequence[str] | None = None,
        exclude_kinds: Sequence[str] = (),
        limit: int = 1000,
    ) -> list[MatchRecord]:
        """Matches in [since, until) not yet put in a ``kind`` delivery of this channel."""
        dm = delivery_matches_t.c
        taken = select(dm.match_id).where(
            dm.channel == channel, dm.kind.in_([kind, *exclude_kinds])
        )
        with self.engine.connect() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(matches_t.c.id)
                    .where(
                        matches_t.c.matched_at >= since,
                        matches_t.c.matched_at < until,
                        matches_t.c.score >= min_score,
                        ~matches_t.c.id.in_(taken),
                        *([matches_t.c.topic.in_(list(topics))] if topics is not None else []),
                        *(
                            [matches_t.c.severity.in_(list(severities))]
                            if severities is not None
                            else []
                        ),
                    )
                    .order_by(matches_t.c.matched_at, matches_t.c.id)
                    .limit(limit)
                )
            ]
        return self.matches(ids=ids, limit=None) if ids else []

    @_translated
    def enqueue_delivery(self, digest: Digest, payload: str, now: datetime) -> int | None:
        """Record a built digest and its matches in one transaction; return its id.

        Returns None, writing nothing, when a delivery with the same key exists or one of its
        matches already went into a delivery of the same kind for this channel (another
        worker built it first): a digest is recorded once, so it is sent once.
        """
        match_ids = sorted({i for e in digest.entries for i in e.match_ids})
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    deliveries_t.insert().values(
                        channel=digest.channel,
                        kind=digest.kind,
                        key=digest.key,
                        window_start=digest.window_start,
                        window_end=digest.window_end,
                        status="pending",
                        attempts=0,
                        parts_sent=0,
                        next_attempt_at=now,
                        payload=payload,
                        created_at=now,
                    )
                )
                delivery_id = _new_id(result)
                if match_ids:
                    conn.execute(
                        delivery_matches_t.insert(),
                        [
                            {
                                "delivery_id": delivery_id,
                                "match_id": m,
                                "channel": digest.channel,
                                "kind": digest.kind,
                            }
                            for m in match_ids
                        ],
                    )
                link_signals(conn, delivery_id, digest)
                return delivery_id
        except IntegrityError:
            return None

    @_translated
    def last_window_end(self, channel: str, kind: str = "digest") -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.max(deliveries_t.c.window_end)).where(
                    deliveries_t.c.channel == channel, deliveries_t.c.kind == kind
                )
            ).scalar_one_or_none()

    @_translated
    def claim_deliveries(
        self, now: datetime, *, lease_s: float = 120.0, limit: int = 100
    ) -> list[Delivery]:
        """Pending deliveries due now, oldest first; each is leased so one worker sends it."""
        d = deliveries_t.c
        query = (
            select(deliveries_t)
            .where(d.status == "pending", d.next_attempt_at <= now)
            .order_by(d.created_at, d.id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        with self.engine.begin() as conn:
            for r in conn.execute(query).all():
                # On SQLite the select takes no lock: another process (``monitor digest`` next
                # to ``monitor run``) may have claimed the row since. Only a guarded update that
                # still finds it due claims it, so a delivery is never sent by two at once.
                taken = conn.execute(
                    update(deliveries_t)
                    .where(d.id == r.id, d.status == "pending", d.next_attempt_at <= now)
                    .values(next_attempt_at=now + timedelta(seconds=lease_s))
                )
                if taken.rowcount:
                    claimed.append(r)
        return [self._delivery(r) for r in claimed]

    def _delivery(self, r: Any, match_count: int = 0) -> Delivery:
        return Delivery(
            id=r.id,
            channel=r.channel,
            kind=r.kind,
            key=r.key,
            status=r.status,
            attempts=r.attempts,
            parts_sent=r.parts_sent,
            created_at=r.created_at,
            window_start=r.window_start,
            window_end=r.window_end,
            next_attempt_at=r.next_attempt_at,
            sent_at=r.sent_at,
            last_error=r.last_error,
            match_count=match_count,
            payload=r.payload,
        )

    @_translated
    def delivery_progress(self, delivery_id: int, parts_sent: int) -> None:
        """Record that the first ``parts_sent`` messages of a split delivery were accepted."""
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery_id)
                .values(parts_sent=parts_sent)
            )

    @_translated
    def delivery_sent(self, delivery_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery_id)
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=deliveries_t.c.attempts + 1,
                    last_error=None,
                )
            )

    @_translated
    def delivery_failed(
        self, delivery_id: int, error: str, *, next_attempt_at: datetime | None
    ) -> None:
        """Record a failed attempt; with no next attempt the delivery is dead."""
        values: dict[str, Any] = {
            "attempts": deliveries_t.c.attempts + 1,
            "last_error": error[:2000],
        }
        if next_attempt_at is None:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = next_attempt_at
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries_t).where(deliveries_t.c.id == delivery_id).values(**values)
            )

    @_translated
    def retry_delivery(self, delivery_id: int, now: datetime) -> bool:
        """Put a dead (or failing) delivery back in the queue now; False if there is none."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(deliveries_t)
                .where(deliveries_t.c.id == delivery_id, deliveries_t.c.status != "sent")
                .values(status="pending", next_attempt_at=now, attempts=0)
            )
            return bool(result.rowcount)

    @_translated
    def deliveries(
        self, *, status: str | None = None, channel: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        d = deliveries_t.c
        counts = (
            select(delivery_matches_t.c.delivery_id, func.count().label("n"))
            .group_by(delivery_matches_t.c.delivery_id)
            .subquery()
        )
        query = (
            select(deliveries_t, counts.c.n)
            .outerjoin(counts, counts.c.delivery_id == d.id)
            .order_by(d.created_at.desc(), d.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(d.status == status)
        if channel is not None:
            query = query.where(d.channel == channel)
        with self.engine.connect() as conn:
            return [self._delivery(r, r.n or 0) for r in conn.execute(query)]

    @_translated
    def outbox_depth(self) -> dict[str, int]:
        """Deliveries by status (pending, sent, dead)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries_t.c.status, func.count()).group_by(deliveries_t.c.status)
            )
            return {status: int(n) for status, n in rows}


_ITEM_COLUMNS = (
    "url",
    "title",
    "summary",
    "published",
    "author",
    "source",
    "lang",
    "content_hash",
    "fingerprint",
    "story",
    "sketch",
    "first_seen_at",
    "updated_at",
)


def _new_items(
    fresh: Sequence[tuple[_FeedBatch, Item]], ids: Sequence[int], story_ids: Sequence[str]
) -> list[event_store.NewItem]:
    return [
        event_store.NewItem(
            item_id,
            item.title,
            item.summary,
            story,
            story == stories.story_id_for(f"{item.feed_url}|{item.key}"),
            item.published or b.now,
        )
        for (b, item), item_id, story in zip(fresh, ids, story_ids, strict=True)
    ]


def _placeholder(dialect: Dialect) -> str:
    """How the driver marks a positional parameter in SQL handed to it directly."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


@functools.lru_cache(maxsize=64)
def _insert_plan(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The driver-level INSERT for these columns, and each column type's value converter."""
    quote = dialect.identifier_preparer.quote
    mark = _placeholder(dialect)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    return sql, tuple(table.c[c].type.bind_processor(dialect) for c in columns)


def _bulk_insert(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Insert many rows (tuples in ``columns`` order) with one ``executemany`` of the driver.

    Each value goes through its column type's own converter, so values are stored exactly as
    SQLAlchemy stores them; a value repeated across rows (a poll's time) is converted once.
    For the big tables of a poll, SQLAlchemy's per-row parameter handling costs more than
    the inserts themselves.
    """
    if not rows:
        return
    sql, converters = _insert_plan(conn.dialect, table, columns)
    convert = [(i, fn) for i, fn in enumerate(converters) if fn is not None]
    if convert:
        memo: dict[tuple[int, Any], Any] = {}
        converted: list[tuple[Any, ...]] = []
        for row in rows:
            values = list(row)
            for i, fn in convert:
                key = (i, values[i])
                if key not in memo:
                    memo[key] = fn(values[i])
                values[i] = memo[key]
            converted.append(tuple(values))
        rows = converted
    conn.exec_driver_sql(sql, rows)


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer primary key
        raise StoreError("the database returned no id for a new row")
    return int(key[0])


def _chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


__all__ = ["IntegrityError", "PollWrite", "PollWritten", "SaveResult", "Store", "make_engine"]
