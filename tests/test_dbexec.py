"""The process's one executor for store calls: calls leave the event loop's thread, results
and errors come back, and the runtime gives every part the same executor."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from monitor.cli.runtime import make_enricher, make_outbox, make_pipeline, matcher_for
from monitor.config import load_config
from monitor.dbexec import DbExecutor
from monitor.fetch import Fetcher
from monitor.store import Store
from tests.support import write_config


async def test_a_call_runs_off_the_event_loop_and_gives_back_its_result_or_error() -> None:
    db = DbExecutor(2)
    try:
        loop_thread = threading.current_thread()
        ran_on = await db(lambda: threading.current_thread())
        assert ran_on is not loop_thread and ran_on.name.startswith("monitor-db")
        assert await db(divmod, 17, 5) == (3, 2)

        def fails() -> None:
            raise LookupError("no such feed")

        with pytest.raises(LookupError, match="no such feed"):
            await db(fails)
    finally:
        db.close()


async def test_the_runtime_gives_every_part_the_one_executor(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path), environ={})
    store = Store.open(cfg.database_url)
    db = DbExecutor(2)
    matcher = matcher_for(cfg)
    try:
        async with Fetcher() as fetcher:
            pipeline = make_pipeline(cfg, store, fetcher, lambda: matcher, parse_workers=1, db=db)
            enricher = make_enricher(cfg, store, fetcher, pipeline, lambda: matcher)
            outbox = make_outbox(cfg, store, {}, db=db)
            try:
                assert pipeline.db is db
                # each part's calls run on the executor's threads
                names = {
                    await part._in_db(lambda: threading.current_thread().name)
                    for part in (pipeline, enricher, outbox)
                }
                assert names and all(n.startswith("monitor-db") for n in names), names
            finally:
                enricher.close()
                pipeline.close()
        # closing the parts leaves the shared executor to its owner
        assert await db(lambda: 42) == 42
    finally:
        db.close()
        store.close()
