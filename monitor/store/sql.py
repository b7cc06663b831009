"""The store's engine and SQL helpers, shared by its per-area parts.

Owns: building the engine (:func:`make_engine`), the table handles, driver-level bulk inserts
and the JSON form of match reasons (:func:`translated` is re-exported from ``translate``).
Decides nothing. Must not import fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.engine import Connection, Dialect

from monitor.errors import StoreError
from monitor.model import Reason
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
from monitor.store.translate import translated as translated

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


class StoreBase:
    """What every part of the store has: the engine and its dialect's name."""

    engine: Engine
    dialect: str


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


def reasons_json(reasons: Iterable[Reason]) -> str:
    return json.dumps(
        [[r.term, r.field, r.position, r.weight, r.rule] for r in reasons], ensure_ascii=False
    )


def reasons_from_json(text: str) -> tuple[Reason, ...]:
    try:
        data = json.loads(text or "[]")
        return tuple(Reason(str(t), str(f), int(p), float(w), str(r)) for t, f, p, w, r in data)
    except (ValueError, TypeError):
        return ()


def placeholder(dialect: Dialect) -> str:
    """How the driver marks a positional parameter in SQL handed to it directly."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


@functools.lru_cache(maxsize=64)
def insert_plan(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The driver-level INSERT for these columns, and each column type's value converter."""
    quote = dialect.identifier_preparer.quote
    mark = placeholder(dialect)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    return sql, tuple(table.c[c].type.bind_processor(dialect) for c in columns)


def bulk_insert(
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
    sql, converters = insert_plan(conn.dialect, table, columns)
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


def new_id(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer primary key
        raise StoreError("the database returned no id for a new row")
    return int(key[0])


def chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
