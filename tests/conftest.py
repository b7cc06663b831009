"""Shared fixtures: configuration files written per test, SQLite and PostgreSQL stores."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store import Store
from tests.receiver import Receiver
from tests.support import write_config

POSTGRES_URL = os.environ.get("MONITOR_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True, scope="session")
def _yaml_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Parsed YAML files are kept in a directory of the test run's, not the user's cache (the
    commands tests start inherit it)."""
    os.environ["MONITOR_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def rx() -> Iterator[Receiver]:
    """A webhook/Slack receiver on 127.0.0.1, recording every request."""
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path, "channels:\n  - {name: console, type: console}\n")


def _postgres_store() -> Iterator[Store]:
    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL tests need MONITOR_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = POSTGRES_URL + ("&" if "?" in POSTGRES_URL else "?") + f"options=-csearch_path%3D{schema}"
    store = Store.open(url)
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store on a SQLite file, and on PostgreSQL when it is configured."""
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
        try:
            yield s
        finally:
            s.close()
    else:
        yield from _postgres_store()


@pytest.fixture
def pg_store() -> Iterator[Store]:
    """A migrated store on PostgreSQL only (skipped, saying why, when it is not configured)."""
    yield from _postgres_store()
