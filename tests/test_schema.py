"""The tables the store runs on (``monitor.store.schema``, written by
``monitor.store.schemagen``) are the tables declared in ``monitor.store.tables``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from monitor.store import schema, schemagen

DIALECTS = [sqlite.dialect(), postgresql.dialect()]


def ddl(table: Table, dialect: Dialect) -> list[str]:
    """The statements that make ``table`` and its indexes, one clause a line, sorted (the
    order of constraints within a table is not part of the schema)."""
    lines = str(CreateTable(table).compile(dialect=dialect)).splitlines()
    lines += [str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes]
    return sorted(line.strip().rstrip(",") for line in lines if line.strip())


def defaults(table: Table) -> dict[str, Any]:
    """What the database does not see: the Python-side default of each column."""
    return {c.name: c.default.arg if c.default is not None else None for c in table.columns}  # type: ignore[attr-defined]


def test_the_file_is_what_the_declarations_make() -> None:
    written = Path(schema.__file__).read_text(encoding="utf-8")
    assert written == schemagen.render(), (
        "monitor/store/schema.py does not match monitor/store/tables.py: "
        "run `python -m monitor.store.schemagen`"
    )


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_each_table_makes_the_same_statements_as_its_declaration(dialect: Dialect) -> None:
    declared = schemagen.declared()
    assert sorted(schema.metadata.tables) == sorted(declared.tables)
    for name, table in declared.tables.items():
        ours = schema.metadata.tables[name]
        assert ddl(ours, dialect) == ddl(table, dialect), name
        assert defaults(ours) == defaults(table), name


def made_by(text: str) -> MetaData:
    """The tables that the source ``text`` of a schema module makes."""
    namespace: dict[str, Any] = {}
    exec(compile(text, "schema.py", "exec"), namespace)
    made: MetaData = namespace["metadata"]
    return made


@pytest.mark.parametrize(
    ("table", "old", "new"),
    [
        (  # the storage option
            "story_bands",
            "Integer(), primary_key=True, nullable=False),\n    sqlite_with_rowid=False,\n",
            "Integer(), primary_key=True, nullable=False),\n",
        ),
        ("items", '    Index("ix_items_story", "story"),\n', ""),  # an index
        (
            "feeds",
            'Column("disabled_reason", Text()',
            'Column("disabled_reason", String()',
        ),  # a type
        (
            "feeds",
            '"configured", Boolean(), nullable=False, default=True',
            '"configured", Boolean(), nullable=False, default=False',
        ),  # a default
    ],
)
def test_a_stale_file_would_be_seen(table: str, old: str, new: str) -> None:
    """What the comparison above looks at sees a file that has fallen behind."""
    text = schemagen.render()
    assert text.count(old) == 1
    stale = made_by(text.replace(old, new)).tables[table]
    declared = schemagen.declared().tables[table]
    assert any(ddl(stale, d) != ddl(declared, d) for d in DIALECTS) or (
        defaults(stale) != defaults(declared)
    )


def test_rendering_is_stable_and_the_module_stands_on_its_own() -> None:
    """The written module stands on its own: executed apart, it makes the same tables, and
    rendering twice gives the same text."""
    text = schemagen.render()
    assert text == schemagen.render()
    made = made_by(text)
    for name, table in schema.metadata.tables.items():
        for dialect in DIALECTS:
            assert ddl(made.tables[name], dialect) == ddl(table, dialect)
