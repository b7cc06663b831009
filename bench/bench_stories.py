"""Placing a new item in a story and an event as the window grows, on news whose phrases repeat.

Fills a SQLite store, through ``monitor.ingest.save_items`` (the write path polls take), with
items of the polling farm's ``--text phrases`` news (stock phrases such as "said in a
statement on Monday" recur across thousands of unrelated items, and a few wire stories are
carried by several outlets), all first seen inside the story window. At each window size it
then stores ``--probe`` polls of 30 new items, one ``save_items`` call a poll, and reports per
new item the time spent placing it in a story (reading the candidate keys' newest carriers,
``Store.facts``; picking candidates, ``monitor.storyplan.pick``; reading their signatures,
``Store.story_candidates``; comparing, ``monitor.storyplan._stories``), the time spent placing it
in an event (the event window and its terms' newest carriers, read in ``Store.facts``;
picking candidates, ``monitor.storyplan.place`` less its stories; reading their profiles,
``Store.event_candidates``; comparing, ``monitor.eventplan.assign``; writing its event and
terms, ``monitor.store.events.write``; its profile is made beforehand, as the parse workers
make it) and the time of the whole
save (which also writes the item, its keys, links and matches into B-trees that grow with the
table), as CPU time of this process, which runs the store (the machine's other load and the
disk's sync times stay out); medians of ``--repeat`` rounds, each with fresh items; and the
ratio of the largest window's cost to the smallest's: flat is 1.0.

    python bench/bench_stories.py                        # windows of 10,000 and 200,000 items
    python bench/bench_stories.py --sizes 10000,50000    # quicker
    python bench/bench_stories.py --keep /tmp/windows    # filled windows kept for the next run

With ``--keep DIR``, each window is copied into ``DIR`` once filled (``window-SIZE.db``) and a
later run with the same ``DIR`` and ``--feeds`` starts from that copy instead of filling it
again (a window of 200,000 items takes minutes to fill): it opens the copy as a restarted
store would, then reads the signatures of the newest items into the memory cache, as a store
that had written them would have them. The probes write into a scratch copy, so the kept
window stays as it was filled.

The items are those of ``bench/feedfarm.py``; nothing is fetched or parsed. The garbage
collector runs as in the daemon (``monitor.memory.collect_less_often``, which every command
of ``monitor`` sets; ``--gc default`` leaves Python's).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import feedfarm

from monitor import eventplan, events, memory, stories, storyplan
from monitor.ingest import save_items
from monitor.model import Item
from monitor.store import Store
from monitor.store import events as event_store
from monitor.store.storyindex import STORY_CACHE_SIZE

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLL = 30


class _Spec:
    def __init__(self, n: int) -> None:
        self.url, self.name, self.lang, self.interval = f"https://o{n}.example/f", None, "en", None


def news(serial: int, feed: int, wire: list[feedfarm.Story]) -> Item:
    rng = random.Random(f"bench-stories:{serial}")
    lang = "fr" if serial % 5 == 2 else "en"
    if rng.random() < 0.03:  # a wire story under this outlet's link
        story = rng.choice(wire)
    else:
        story = feedfarm._story(rng, feed, serial, lang, True)
    return Item(
        key=f"k{serial}",
        feed_url=f"https://o{feed}.example/f",
        title=story.title,
        summary=story.summary,
        url=f"https://o{feed}.example/{serial}",
        published=NOW,
        content_hash=f"h{serial}",
    )


class Window:
    def __init__(self, path: Path, feeds: int) -> None:
        self.path = path
        self.feeds = feeds
        self.open()
        self.store.sync_feeds([_Spec(n) for n in range(feeds)], NOW)
        self.feed_ids = [f.id for f in self.store.feeds()]
        self.wire = feedfarm._wire_stories(1)
        self.serial = 0
        self.clock = NOW - timedelta(days=2)

    def open(self) -> None:
        self.store = Store.open(f"sqlite:///{self.path}")
        # how much of a save is placing the items in stories: the steps that do it, timed
        self.placing = 0.0
        self.eventing = 0.0
        # a step timed inside another (the event reads inside Store.facts, the stories
        # inside storyplan.place) counts for itself only
        self._inner: list[float] = []
        # CPU seconds of each timed step
        self.steps: dict[str, float] = {}
        for owner, name, counter in (
            (self.store, "facts", "placing"),
            (self.store, "story_candidates", "placing"),
            (storyplan, "pick", "placing"),
            (storyplan, "_stories", "placing"),
            (event_store, "window", "eventing"),
            (event_store, "recent_carriers", "eventing"),
            (storyplan, "place", "eventing"),
            (self.store, "event_candidates", "eventing"),
            (eventplan, "assign", "eventing"),
            (event_store, "write", "eventing"),
        ):
            original = getattr(owner, name)
            original = getattr(original, "untimed", original)
            timed = self._timed(original, counter, name)
            timed.untimed = original
            setattr(owner, name, timed)

    def keep(self, target: Path) -> None:
        """Copy the window, as it is now, to ``target`` (with its serial and clock beside):
        page by page, with SQLite's backup, so the copy has the filled file's layout and the
        store stays open with what it holds in memory."""
        copy = sqlite3.connect(target)
        try:
            with self.store.engine.connect() as conn:
                conn.connection.driver_connection.backup(copy)  # type: ignore[union-attr]
        finally:
            copy.close()
        state = {"serial": self.serial, "clock": self.clock.isoformat(), "feeds": self.feeds}
        target.with_suffix(".json").write_text(json.dumps(state))

    def restore(self, source: Path, cached: int) -> bool:
        """Continue from a window kept by :meth:`keep`, if ``source`` is one for as many
        feeds; the signatures of its ``cached`` newest items are read into the cache."""
        state_file = source.with_suffix(".json")
        if not source.exists() or not state_file.exists():
            return False
        state = json.loads(state_file.read_text())
        if state["feeds"] != self.feeds:
            return False
        self.store.close()
        shutil.copyfile(source, self.path)
        for extra in ("-wal", "-shm"):
            Path(f"{self.path}{extra}").unlink(missing_ok=True)
        self.open()
        self.serial, self.clock = state["serial"], datetime.fromisoformat(state["clock"])
        with self.store.engine.connect() as conn:
            newest = conn.exec_driver_sql("SELECT max(id) FROM items").scalar() or 0
        self.store.story_candidates(set(range(max(1, newest - cached + 1), newest + 1)))
        return True

    def _timed(self, fn: Any, counter: str, step: str) -> Any:
        """``fn``, adding the CPU time it takes to this window's ``counter`` and to its
        ``step`` in :attr:`steps`."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            self._inner.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.process_time() - start
                inner = self._inner.pop()
                setattr(self, counter, getattr(self, counter) + spent - inner)
                self.steps[step] = self.steps.get(step, 0.0) + spent - inner
                if self._inner:
                    self._inner[-1] += spent

        return timed

    def save(self, count: int) -> float:
        """Store ``count`` new items a poll of :data:`POLL` at a time; the seconds it took."""
        spent = 0.0
        while count > 0:
            n = min(POLL, count)
            feed = self.serial // POLL % len(self.feed_ids)
            items = [news(self.serial + k, feed, self.wire) for k in range(n)]
            # the parse workers compute new items' signatures and event profiles, off the
            # database thread
            sigs = {i.key: stories.signature(i.title, i.summary) for i in items}
            profiles = {i.key: events.profile(i.title, i.summary) for i in items}
            self.serial += n
            self.clock += timedelta(seconds=1)
            start = time.process_time()
            save_items(
                self.store,
                self.feed_ids[feed],
                items,
                [],
                {},
                self.clock,
                signatures=sigs,
                profiles=profiles,
            )
            spent += time.process_time() - start
            count -= n
        return spent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/bench_stories.py", description=__doc__)
    ap.add_argument("--sizes", default="10000,200000", help="window sizes, ascending")
    ap.add_argument("--probe", type=int, default=10, help="polls of 30 items per round (10)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds per size (5)")
    ap.add_argument("--feeds", type=int, default=1000, help="outlets (1000)")
    ap.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep each filled window in DIR, and start from one kept there when it exists",
    )
    ap.add_argument(
        "--gc",
        choices=("daemon", "default"),
        default="daemon",
        help="the garbage collector as monitor sets it (the default) or Python's default",
    )
    args = ap.parse_args(argv)
    if args.gc == "daemon":
        memory.collect_less_often()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[tuple[int, float, float, float]] = []
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        window = Window(Path(tmp) / "stories.db", args.feeds)
        for size in sizes:
            fill = time.perf_counter()
            kept = args.keep / f"window-{size}.db" if args.keep else None
            if kept and window.restore(kept, STORY_CACHE_SIZE):
                how = "kept"
            else:
                window.save(size - window.serial)
                how = f"filled in {time.perf_counter() - fill:.0f} s"
                if kept:
                    window.keep(kept)
            per_item, placing, eventing = [], [], []
            steps: dict[str, list[float]] = {}
            count = args.probe * POLL
            for _ in range(args.repeat):
                window.placing = window.eventing = 0.0
                window.steps = {}
                spent = window.save(count)
                for step, cpu in window.steps.items():
                    steps.setdefault(step, []).append(cpu / count * 1000)
                per_item.append(spent / count * 1000)
                placing.append(window.placing / count * 1000)
                eventing.append(window.eventing / count * 1000)
            rows.append(
                (
                    size,
                    statistics.median(placing),
                    statistics.median(per_item),
                    statistics.median(eventing),
                )
            )
            print(
                f"window {size:>7,} items ({how}): placing "
                f"{rows[-1][1]:.3f} ms a new item ({min(placing):.3f}–{max(placing):.3f}), "
                f"in an event {rows[-1][3]:.3f} ms ({min(eventing):.3f}–{max(eventing):.3f}), "
                f"the whole save {rows[-1][2]:.3f} ms ({min(per_item):.3f}–{max(per_item):.3f})",
                flush=True,
            )
            print(
                "  steps, CPU ms a new item: "
                + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in steps.items()),
                flush=True,
            )
    print()
    print(
        "| items in the window | CPU ms placing a new item in a story | in an event "
        "| CPU ms storing it, all told |"
    )
    print("|---:|---:|---:|---:|")
    for size, place, whole, event in rows:
        print(f"| {size:,} | {place:.3f} | {event:.3f} | {whole:.3f} |")
    first, last = rows[0], rows[-1]
    print(
        f"\nratio {last[0]:,} / {first[0]:,} items: placing {last[1] / first[1]:.2f}, "
        f"in an event {last[3] / first[3]:.2f}, "
        f"the whole save {last[2] / first[2]:.2f} (flat is 1.0)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
