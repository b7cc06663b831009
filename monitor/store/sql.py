"""The store's engine and SQL helpers, shared by its per-area parts.

Owns: building the engine (:func:`make_engine`), driver-level bulk inserts and updates
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
from monitor.store.translate import translated as translated

P = ParamSpec("P")
R = TypeVar("R")


class StoreBase:
    """What every part of the store has: the engine and its dialect's name."""

    engine: Engine
    dialect: str


#: Prepared statements each SQLite connection keeps (the driver's default is 128). A store
#: query over many keys is one statement of up to 200 parts, and each length of it is a
#: statement of its own of some 80 KB: 128 of them were 10 MB of memory, for statements that
#: recur once in a while. The statements a poll writes with recur on every write and stay.
SQLITE_CACHED_STATEMENTS = 32
#: Pages the write-ahead log may hold before SQLite copies them into the database file (its
#: default is 1,000, 4 MB). A cold cycle writes about 100 MB of items and indexes: with the
#: default it copied back (and synced) every few batches, often the same index pages again;
#: at 10,000 the database thread spent 8 % less CPU writing the polling farm's documents
#: (``bench/bench_write.py --text farm``, docs/benchmarks.md). Transactions since the last
#: copy are what a power cut may lose (``synchronous=NORMAL``; the database stays whole).
SQLITE_WAL_PAGES = 10_000
#: Bytes the write-ahead log file is cut back to after SQLite has copied it back: the file
#: is reused, and without a limit it would keep the size of its largest run.
SQLITE_WAL_LIMIT = 64 * 1024 * 1024


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite in WAL mode with foreign keys on, or PostgreSQL."""
    if url.startswith("sqlite"):
        # connections are kept open: opening one per call costs a WAL checkpoint and the
        # re-creation of the WAL file each time the last one closes
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                "cached_statements": SQLITE_CACHED_STATEMENTS,
            },
            **({} if memory else {"pool_size": 5, "max_overflow": 10}),
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_PAGES}")
            cur.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_LIMIT}")
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
    return sql, _converters(dialect, table, columns)


@functools.lru_cache(maxsize=64)
def update_plan(
    dialect: Dialect, table: Table, columns: tuple[str, ...], key: str
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The driver-level UPDATE of these columns of the row whose ``key`` is given last, and
    each value's converter (the key's last)."""
    quote = dialect.identifier_preparer.quote
    mark = placeholder(dialect)
    sql = (
        f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(c)} = {mark}' for c in columns)} "
        f"WHERE {quote(key)} = {mark}"
    )
    return sql, _converters(dialect, table, (*columns, key))


def _converters(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(table.c[c].type.bind_processor(dialect) for c in columns)


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
    conn.exec_driver_sql(sql, _converted(converters, rows))


def bulk_update(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    key: str = "id",
) -> None:
    """Update many rows with one ``executemany`` of the driver: each row's values of
    ``columns``, then its ``key``; values converted as :func:`bulk_insert` converts them."""
    if not rows:
        return
    sql, converters = update_plan(conn.dialect, table, columns, key)
    conn.exec_driver_sql(sql, _converted(converters, rows))


def _converted(
    converters: tuple[Callable[[Any], Any] | None, ...], rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    convert = [(i, fn) for i, fn in enumerate(converters) if fn is not None]
    if not convert:
        return rows
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
    return converted


def new_id(result: Any) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer primary key
        raise StoreError("the database returned no id for a new row")
    return int(key[0])


def chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def rows_by_ids(conn: Connection, query: str, column: str, ids: Iterable[int]) -> Iterable[Any]:
    """The driver's rows of ``query`` (a ``SELECT … WHERE`` with nothing after it) with
    ``column`` among ``ids``, the ids sent as one parameter: a JSON array on SQLite, an array on
    PostgreSQL. For the write path's reads of thousands of rows by id, where SQLAlchemy's
    statement and result objects cost more than the database's reads."""
    values = sorted(set(ids))
    if conn.dialect.name == "postgresql":
        sql_text, size = f"{query} {column} = ANY(%s::bigint[])", 1000
        params: Iterable[Any] = chunks(values, size)
    else:
        sql_text, size = f"{query} {column} IN (SELECT value FROM json_each(?))", 5000
        params = (json.dumps(chunk) for chunk in chunks(values, size))
    for param in params:
        # fetched at once: iterating a result costs SQLAlchemy a call chain a row
        yield from conn.exec_driver_sql(sql_text, (param,)).fetchall()


def newest_carriers(
    conn: Connection,
    table: Table,
    column: str,
    keys: Iterable[int],
    first: int,
    depth: int,
    *,
    full_only: bool = False,
) -> dict[int, tuple[int, list[int]]]:
    """For each key of an index table (``column``, ``item_id``), how many items with
    ``item_id >= first`` carry it, counted up to ``depth``, and the ids of those ``depth``
    most recent, newest first: one bounded range read of the primary key per key, so a key
    carried by thousands of items costs what a rare one does. A key no item carries is left
    out. ``full_only``: a key carried by ``depth`` items or more comes with its count only
    (no ids), for callers to whom such a key means nothing.

    Each key's ids come back as one aggregated row, not one row an id: for the write path's
    reads, which ask for tens of thousands of keys, rows are most of the cost.
    """
    out: dict[int, tuple[int, list[int]]] = {}
    quote = conn.dialect.identifier_preparer.quote
    name, col = quote(table.name), quote(column)
    if conn.dialect.name == "postgresql":
        ids = "array_agg(s.item_id)"
        if full_only:
            ids = f"CASE WHEN count(*) >= {depth} THEN NULL ELSE {ids} END"
        for chunk in chunks(sorted(set(keys)), 1000):
            rows = conn.exec_driver_sql(
                f"SELECT k.key, count(*), {ids} FROM unnest(%s::bigint[]) AS k(key) "
                f"CROSS JOIN LATERAL (SELECT item_id FROM {name} "
                f"WHERE {col} = k.key AND item_id >= %s "
                f"ORDER BY item_id DESC LIMIT {depth}) AS s GROUP BY k.key",
                (chunk, first),
            ).fetchall()
            for key, count, found in rows:
                out[key] = (count, sorted(found or (), reverse=True))
        return out
    # one statement for many keys: each key's bounded read is a correlated subquery over the
    # keys, passed as one JSON array (a UNION ALL of a read a key costs three times as much)
    ids = "group_concat(item_id)"
    if full_only:
        ids = f"CASE WHEN count(*) >= {depth} THEN '{_FULL}' ELSE {ids} END"
    one = (
        f"SELECT k.value, (SELECT {ids} FROM (SELECT item_id FROM {name} WHERE {col} = k.value "
        f"AND item_id >= ? ORDER BY item_id DESC LIMIT {depth})) FROM json_each(?) AS k"
    )
    for chunk in chunks(sorted(set(keys)), 5000):
        for key, found in conn.exec_driver_sql(one, (first, json.dumps(chunk))).fetchall():
            if found == _FULL:
                out[key] = (depth, [])
            elif found:
                carriers = [int(i) for i in found.split(",")]
                out[key] = (len(carriers), sorted(carriers, reverse=True))
    return out


#: What a read of :func:`newest_carriers` returns for a key carried by ``depth`` items or more
#: when their ids are not wanted.
_FULL = "full"
