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
disk's sync times stay out); medians of ``--repeat`` rounds, each with fresh items, the
windows taking turns round after round (each is a store of its own, all open at once), so
that the machine's drift weighs on every size alike; and the ratio of the largest window's
cost to the smallest's, flat is 1.0, as a ratio of medians and as the median of each round's
ratio to the smallest window's round just before it.

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


#: The window whose save is running (the timed steps add to its figures).
_SAVING: list[Window] = []


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
        """``fn``, adding the CPU time it takes to ``counter`` and to its ``step`` in
        :attr:`steps` of the window saving when it is called (the modules' functions are
        shared by every window open)."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            window = _SAVING[-1] if _SAVING else self
            start = time.process_time()
            window._inner.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.process_time() - start
                inner = window._inner.pop()
                setattr(window, counter, getattr(window, counter) + spent - inner)
                window.steps[step] = window.steps.get(step, 0.0) + spent - inner
                if window._inner:
                    window._inner[-1] += spent

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
            _SAVING.append(self)
            try:
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
            finally:
                _SAVING.pop()
            spent += time.process_time() - start
            count -= n
        return spent


def _round(window: Window, count: int) -> tuple[float, float, float, dict[str, float]]:
    """One round of ``count`` new items in ``window``: CPU ms a new item placing it in a story,
    in an event, storing it all told, and each step's."""
    window.placing = window.eventing = 0.0
    window.steps = {}
    spent = window.save(count)
    per = {step: cpu / count * 1000 for step, cpu in window.steps.items()}
    return (
        window.placing / count * 1000,
        window.eventing / count * 1000,
        spent / count * 1000,
        per,
    )


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
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    count = args.probe * POLL
    with tempfile.TemporaryDirectory() as tmp:
        # each size's window: filled once (one window grown from size to size, copied at
        # each), then opened as a store of its own, so that the rounds can take turns
        filler: Window | None = None
        windows: list[tuple[Window, str]] = []
        for size in sizes:
            kept = (args.keep or Path(tmp)) / f"window-{size}.db"
            window = Window(Path(tmp) / f"probe-{size}.db", args.feeds)
            if args.keep and window.restore(kept, STORY_CACHE_SIZE):
                windows.append((window, "kept"))
                continue
            fill = time.perf_counter()
            if filler is None or filler.serial > size:
                filler = Window(Path(tmp) / "fill.db", args.feeds)
            filler.save(size - filler.serial)
            filler.keep(kept)
            if not window.restore(kept, STORY_CACHE_SIZE):
                raise SystemExit(f"cannot reopen the window just kept in {kept}")
            windows.append((window, f"filled in {time.perf_counter() - fill:.0f} s"))
        if filler is not None:
            filler.store.close()
        # the sizes take turns, round after round: the machine's drift weighs on each alike
        results: list[list[tuple[float, float, float, dict[str, float]]]] = [[] for _ in sizes]
        for _ in range(args.repeat):
            for n, (window, _) in enumerate(windows):
                results[n].append(_round(window, count))
    rows: list[tuple[int, float, float, float]] = []
    for size, (_, how), rounds in zip(sizes, windows, results, strict=True):
        placing = [r[0] for r in rounds]
        eventing = [r[1] for r in rounds]
        per_item = [r[2] for r in rounds]
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
        steps = {step for r in rounds for step in r[3]}
        print(
            "  steps, CPU ms a new item: "
            + ", ".join(
                f"{k} {statistics.median(r[3].get(k, 0.0) for r in rounds):.3f}"
                for k in sorted(steps, key=list(rounds[0][3]).index)
            ),
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
    # each round of the largest window beside the round of the smallest just before it
    paired = statistics.median(
        b[0] / a[0] for a, b in zip(results[0], results[-1], strict=True) if a[0] > 0
    )
    print(
        f"\nratio {last[0]:,} / {first[0]:,} items: placing {last[1] / first[1]:.2f}, "
        f"in an event {last[3] / first[3]:.2f}, "
        f"the whole save {last[2] / first[2]:.2f} (flat is 1.0); placing, the median of "
        f"the {len(results[0])} rounds' ratios (each with the smaller window's round just "
        f"before it): {paired:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
