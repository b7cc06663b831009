"""Writes ``monitor/store/schema.py``, the tables the store runs on, from their declarations
in ``monitor/store/tables.py`` (SQLModel classes).

The declarations are where the schema is written and what the migrations are checked
against; the store itself needs only their SQLAlchemy Core tables. Making those from the
classes at every start means importing SQLModel and SQLAlchemy's ORM and mapping seventeen
classes, about a tenth of a second of every command that opens the store, for objects it never
uses. So the Core tables are written out once, as code, and ``tests/test_schema.py`` fails
when the file and the declarations disagree. After changing ``tables.py``::

    python -m monitor.store.schemagen

Not imported by the store or the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, Table, UniqueConstraint
from sqlalchemy.types import TypeEngine

from monitor.store.coltypes import UTCDateTime

#: The project's line length (``tool.ruff``): the file is written as ``ruff format`` writes it.
LINE_LENGTH = 100

#: The generated module, beside this one.
TARGET = Path(__file__).with_name("schema.py")

_HEAD = '''"""The store's tables as SQLAlchemy Core tables, written by ``monitor.store.schemagen``
from the declarations in ``monitor.store.tables``: edit those, then run
``python -m monitor.store.schemagen``. ``tests/test_schema.py`` checks the two agree.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from monitor.store.coltypes import UTCDateTime

metadata = MetaData()
'''


def declared() -> MetaData:
    """The metadata of the SQLModel declarations (imports SQLModel)."""
    from monitor.store.tables import SQLModel

    return SQLModel.metadata


def _literal(value: Any) -> str:
    """``value`` as Python source, strings in double quotes as ``ruff format`` writes them."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _type(kind: TypeEngine[Any]) -> str:
    """Python source for a column type. SQLModel's ``AutoString`` is a ``String`` whose only
    difference, a length on MySQL, neither supported database has."""
    from sqlmodel.sql.sqltypes import AutoString

    if isinstance(kind, AutoString):
        text = "String()"
    elif isinstance(kind, UTCDateTime):
        text = "UTCDateTime()"
    else:
        text = repr(kind)
    for dialect, variant in kind._variant_mapping.items():
        text += f".with_variant({_type(variant)}, {_literal(dialect)})"
    return text


def _column(column: Column[Any]) -> str:
    parts = [_literal(column.name), _type(column.type)]
    parts += [f"ForeignKey({_literal(fk.target_fullname)})" for fk in column.foreign_keys]
    if column.primary_key:
        parts.append("primary_key=True")
    if column.autoincrement != "auto":
        parts.append(f"autoincrement={column.autoincrement!r}")
    parts.append(f"nullable={column.nullable!r}")
    if column.default is not None:
        parts.append(f"default={_literal(column.default.arg)}")  # type: ignore[attr-defined]
    if column.server_default is not None:
        parts.append(f"server_default={_literal(column.server_default.arg)}")  # type: ignore[attr-defined]
    line = f"    Column({', '.join(parts)}),"
    if len(line) <= LINE_LENGTH:
        return line
    return "\n".join(["    Column(", *(f"        {part}," for part in parts), "    ),"])


def _table(table: Table) -> str:
    lines = [f"{table.name}_t = Table(", f"    {_literal(table.name)},", "    metadata,"]
    lines += [_column(c) for c in table.columns]
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    for unique in sorted(uniques, key=lambda u: [c.name for c in u.columns]):
        columns = ", ".join(_literal(c.name) for c in unique.columns)
        name = f", name={_literal(unique.name)}" if unique.name else ""
        lines.append(f"    UniqueConstraint({columns}{name}),")
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        columns = ", ".join(_literal(c.name) for c in index.columns)
        flag = ", unique=True" if index.unique else ""
        lines.append(f"    Index({_literal(index.name)}, {columns}{flag}),")
    for key, value in sorted(table.dialect_kwargs.items()):
        lines.append(f"    {key}={_literal(value)},")
    lines.append(")")
    return "\n".join(lines)


def render() -> str:
    """The source of ``schema.py`` for the declarations. What it does not write (a composite
    foreign key, a check constraint, a server default that is an expression) would make the
    file's tables differ from the declarations, which ``tests/test_schema.py`` tells."""
    tables = sorted(declared().tables.values(), key=lambda t: t.name)
    return _HEAD + "".join(f"\n{_table(t)}\n" for t in tables)


def main() -> int:
    text = render()
    if TARGET.exists() and TARGET.read_text(encoding="utf-8") == text:
        print(f"{TARGET} is up to date")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
