"""Opening a store at the newest schema without loading Alembic, and upgrading one that is not
in a separate process, so that Alembic does not load into the one that opened it either.

The newest revision is read from the migration files themselves (their ``revision`` and
``down_revision`` lines), so it cannot drift from what Alembic applies: the first test holds
the two together. Real SQLite files and PostgreSQL (when configured); the tests about what a
process loads open the database in a fresh interpreter (this one has loaded Alembic, and so
migrates in place).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from monitor.errors import StoreError
from monitor.store import Store, migrate
from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent


def test_the_written_head_is_alembics_head() -> None:
    assert migrate.written_head() is not None
    assert migrate.written_head() == migrate.head_revision()


def old_database(url: str, revision: str) -> Store:
    """A store at ``url`` whose schema was taken back to ``revision``."""
    store = Store.open(url)
    cfg = migrate.alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return store


def test_a_database_behind_is_still_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = old_database(url, "0005")
    try:
        assert migrate.current_revision(store.engine) == "0005"
        assert not migrate.at_head(store.engine)
    finally:
        store.close()
    again = Store.open(url)
    try:
        assert migrate.current_revision(again.engine) == migrate.head_revision()
        assert migrate.at_head(again.engine)
    finally:
        again.close()


def test_a_new_database_is_not_at_head(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert not migrate.at_head(engine)
    finally:
        engine.dispose()


def test_opening_a_database_at_head_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'current.db'}"
    Store.open(url).close()
    probe = (
        "import sys\n"
        "from monitor.store import Store\n"
        f"Store.open({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# Opens the store at the URL on standard input in a fresh interpreter, as a command does, and
# says what it found and loaded.
OPEN = """
import json, sys
from monitor.store import Store, migrate
store = Store.open(sys.stdin.read())
print(json.dumps({
    "revisions": migrate.stored_revisions(store.engine),
    "alembic": sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "mako")),
}))
store.close()
"""


def open_elsewhere(url: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", OPEN], input=url, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_new_database_is_migrated_by_another_process(tmp_path: Path) -> None:
    report = open_elsewhere(f"sqlite:///{tmp_path / 'new.db'}")
    assert report == {"revisions": [migrate.written_head()], "alembic": []}


def test_an_old_database_is_migrated_by_another_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old_database(url, "0005").close()
    report = open_elsewhere(url)
    assert report == {"revisions": [migrate.written_head()], "alembic": []}
    again = Store.open(url)  # and what it made is what Alembic says the head is
    try:
        assert migrate.current_revision(again.engine) == migrate.head_revision()
    finally:
        again.close()


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema (dropped afterwards)."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need MONITOR_TEST_POSTGRES_URL")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield (
            POSTGRES_URL
            + ("&" if "?" in POSTGRES_URL else "?")
            + (f"options=-csearch_path%3D{schema}")
        )
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_a_new_postgresql_schema_is_migrated_by_another_process(pg_schema_url: str) -> None:
    report = open_elsewhere(pg_schema_url)
    assert report == {"revisions": [migrate.written_head()], "alembic": []}
    store = Store.open(pg_schema_url)  # the tables are there, in that schema
    try:
        assert store.counts()["items"] == 0
    finally:
        store.close()


def test_the_migrating_process_says_why_it_failed(tmp_path: Path) -> None:
    where = tmp_path / "not-a-directory"
    where.write_text("a file, so no database can be made under it", encoding="utf-8")
    with pytest.raises(StoreError, match="cannot open the database: OperationalError"):
        migrate.upgrade_in_subprocess(f"sqlite:///{where / 'monitor.db'}")
