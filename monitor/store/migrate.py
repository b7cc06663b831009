"""Applying the Alembic migrations that ship with the package.

A database already at the newest revision is the common case (every start of the daemon and
of each command that opens the store): it is recognised with one query and the revisions
written in the migration files, without loading Alembic, which costs more to import than the
rest of opening the store.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

_HERE = Path(__file__).resolve().parent
MIGRATION_LOCK = 0x6D6F6E0001  # advisory lock key for schema upgrades ("mon" + 1)
_REVISION = re.compile(r"""^revision(?:: *str)? *= *["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision\b[^=\n]*= *["']([^"']+)["']""", re.MULTILINE)


def alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(_HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def written_head() -> str | None:
    """The newest revision as the migration files write it (``revision = "…"`` and
    ``down_revision = "…"``): the one no other file names as its predecessor; ``None`` unless
    there is exactly one."""
    revisions: set[str] = set()
    previous: set[str] = set()
    for path in (_HERE / "migrations" / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        before = _DOWN_REVISION.search(source)
        if before is not None:
            previous.add(before.group(1))
    heads = revisions - previous
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def at_head(engine: Engine) -> bool:
    """Whether the database is at the newest revision, by one query (no Alembic)."""
    head = written_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            stored = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    except SQLAlchemyError:  # no version table yet: a new database
        return False
    return stored == [head]


def upgrade(engine: Engine) -> None:
    """Bring the database schema to the newest revision (a no-op when it is there already)."""
    if at_head(engine):
        return
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # several workers may start at once: one migrates, the others wait for it
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
