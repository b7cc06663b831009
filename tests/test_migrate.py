"""Opening a store at the newest schema without loading Alembic, and upgrading one that is not.

The newest revision is read from the migration files themselves (their ``revision`` and
``down_revision`` lines), so it cannot drift from what Alembic applies: the first test holds
the two together. Real SQLite files; the last test opens one in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command

from monitor.store import Store, migrate

ROOT = Path(__file__).resolve().parent.parent


def test_the_written_head_is_alembics_head() -> None:
    assert migrate.written_head() is not None
    assert migrate.written_head() == migrate.head_revision()


def test_a_database_behind_is_still_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.open(url)
    try:
        cfg = migrate.alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
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
