"""Applying the Alembic migrations that ship with the package.

A database already at the newest revision is the common case (every start of the daemon and
of each command that opens the store): it is recognised with one query and the revisions
written in the migration files, without loading Alembic, which costs more to import than the
rest of opening the store. A database that needs migrating (a new one, or one left by an
older version) is migrated by a short-lived Python process, so that Alembic's modules, its
migration scripts and what running them builds never stay in the memory of a long-running
daemon either; a process that has loaded Alembic already, and an in-memory SQLite database
(which no other process can open), are migrated in place.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)
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


def stored_revisions(engine: Engine) -> list[str]:
    """The revisions the database says it is at, by one query (no Alembic): none for a new
    database."""
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    except SQLAlchemyError:  # no version table yet: a new database
        return []


def at_head(engine: Engine) -> bool:
    """Whether the database is at the newest revision, by one query (no Alembic)."""
    return _is_head(stored_revisions(engine))


def _is_head(revisions: list[str]) -> bool:
    head = written_head()
    return head is not None and revisions == [head]


def upgrade(engine: Engine) -> None:
    """Bring the database schema to the newest revision (a no-op when it is there already):
    in a separate process (:func:`upgrade_in_subprocess`) unless the database lives in this
    process's memory or Alembic is loaded here already.

    Raises:
        StoreError: when the separate process could not migrate the database.
        sqlalchemy.exc.SQLAlchemyError: when migrating in this process failed.
    """
    before = stored_revisions(engine)
    if _is_head(before):
        return
    if in_memory(engine) or "alembic" in sys.modules:
        upgrade_here(engine)
    else:
        upgrade_in_subprocess(engine.url.render_as_string(hide_password=False))
    log.info(
        "database schema upgraded from %s to %s",
        ", ".join(before) or "nothing (a new database)",
        ", ".join(stored_revisions(engine)),
    )


def in_memory(engine: Engine) -> bool:
    """Whether the database is an SQLite database in this process's memory."""
    url = engine.url
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )


#: What the migrating process runs: the URL and the import path come on its standard input,
#: so that a password in the URL never shows in the process list.
_CHILD = """\
import json, sys
spec = json.load(sys.stdin)
sys.path[:] = spec["path"]
from monitor.store.migrate import child_main
sys.exit(child_main(spec["url"]))
"""


def upgrade_in_subprocess(url: str) -> None:
    """Migrate the database at ``url`` to the newest revision in a new Python process, with
    this process's interpreter and import path.

    Raises:
        StoreError: when it failed, with the reason the process gave.
    """
    spec = json.dumps({"url": url, "path": sys.path})
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], input=spec, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"the migrating process exited with {done.returncode}"
        raise StoreError(f"cannot open the database: {reason}")


def child_main(url: str) -> int:
    """The migrating process's work: upgrade the database at ``url``; 0 when done, 1 (with
    the reason as the last line on standard error) when not."""
    from monitor.store.sql import make_engine

    engine = make_engine(url)
    try:
        upgrade_here(engine)
    except SQLAlchemyError as exc:
        print(f"{type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def upgrade_here(engine: Engine) -> None:
    """Migrate the database to the newest revision with Alembic, in this process (under an
    advisory lock on PostgreSQL)."""
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # several workers may start at once: one migrates, the others wait for it
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
