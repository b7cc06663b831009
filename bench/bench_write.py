"""The write path alone: a cold cycle's 30,000 new items written the way the poller batches them.

Makes the polling farm's ``--text phrases`` news (1,000 outlets × 30 items; stock phrases recur
across unrelated items and a few wire stories are carried by several outlets, see
``bench/feedfarm.py``), with each item's story signature and event profile made beforehand as
the parse workers make them, and writes the polls into an empty SQLite file through
``monitor.ingest.write_polls`` in the batches the write queue makes when the parse workers
keep ahead of the database thread, as they do in a cold cycle (``monitor.ingest.WRITE_BATCH``
polls and, in versions that have it, ``WRITE_BATCH_ITEMS`` items at most). Reports the CPU
seconds of the writing (what the database thread spends: reads, decisions, writes), per item,
and how many stories and events the items made, so that two versions can be compared on the
same items; medians of ``--repeat`` runs, each in a fresh file. Nothing is fetched or parsed.
The garbage collector runs as in the daemon (``monitor.memory.collect_less_often``, in versions
that have it; ``--gc default`` leaves Python's).

``--text farm`` writes instead what the parse workers hand the database thread in a cold cycle
of ``bench_poll.py``: the polling farm's documents as it serves them by default (summaries of
400 characters or more, a tenth of the feeds with one-sentence summaries, one feed in five
French), each parsed, normalised, signed, profiled and scored with the shipped watchlists by
``monitor.parse_pool.parse_and_score``. Those items carry half as many story keys and event
terms again as ``news`` (the default, kept to compare with earlier figures).
``--batch-items`` sets the items a batch may hold (``WRITE_BATCH_ITEMS``): a cold cycle's
batches are smaller than the largest when the parse workers do not keep far enough ahead.

``--digest`` prints, after each run, a hash of every decision the writing stored (each item's
story, each item's event, the story keys and event terms indexed, the matches): two versions
that print the same hash for the same items decided the same. ``--polls FILE`` keeps the polls
made (pickled) in ``FILE`` and takes them from there when it exists, so that a run does nothing
but import, read the file and write: under ``valgrind --tool=callgrind``, whose instruction
counts do not move with the machine's load, two versions are then compared exactly (the file
is the same for both when their ``Poll`` and ``Item`` classes are). Compile each checkout's
bytecode first (``python -m compileall -q monitor bench``): where none can be written
(``PYTHONDONTWRITEBYTECODE``), every module imported is compiled in the run, and counted.

    python bench/bench_write.py                 # 1,000 polls of 30 items, 3 runs
    python bench/bench_write.py --feeds 200     # quicker
    python bench/bench_write.py --text farm     # what a cold cycle of bench_poll.py writes
    python bench/bench_write.py --text farm --feeds 300 --batch-items 360 --repeat 1 --digest
    python bench/bench_write.py --text farm --feeds 100 --repeat 1 --polls /tmp/polls.pickle
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
        python bench/bench_write.py --text farm --feeds 100 --repeat 1 --polls /tmp/polls.pickle
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import feedfarm
from bench_stories import NOW, POLL, _Spec, news

from monitor import events, ingest, memory, stories
from monitor.ingest import WRITE_BATCH, write_polls
from monitor.plan import Poll, Rules
from monitor.store import Store

#: Whether this version's polls carry event profiles (made by the parse workers since
#: 2026-12-07; before, the store made them while writing): an earlier version can be measured
#: with this script on the same items, its signatures passed decoded as it took them.
PROFILES = "profiles" in Poll.__dataclass_fields__


def polls_for(feed_ids: list[int]) -> list[Poll]:
    """One poll of :data:`POLL` new items per feed, signatures and profiles as bytes, as the
    parse workers send them."""
    wire = feedfarm._wire_stories(1)
    out = []
    for n, feed_id in enumerate(feed_ids):
        items = [news(n * POLL + k, n, wire) for k in range(POLL)]
        sigs = {i.key: stories.signature(i.title, i.summary) for i in items}
        if not PROFILES:
            out.append(Poll(feed_id, NOW, items, sigs, {}))
            continue
        profiles = {
            i.key: events.profile_to_bytes(events.profile(i.title, i.summary)) for i in items
        }
        sketches = {k: stories.signature_to_bytes(sig) for k, sig in sigs.items()}
        out.append(Poll(feed_id, NOW, items, sketches, {}, profiles=profiles))
    return out


def farm_polls(feed_ids: list[int]) -> list[Poll]:
    """One poll per feed of the polling farm's documents (``bench_poll.py``'s default), as the
    parse workers hand them over: items, signatures and profiles as bytes, matches by the
    shipped watchlists."""
    import bench_parse

    from monitor import parse_pool

    bench_parse.hold_shipped_matcher()
    out = []
    bodies = bench_parse.farm_bodies(len(feed_ids), POLL)
    for feed_id, (url, body, lang) in zip(feed_ids, bodies, strict=True):
        parsed = parse_pool.parse_and_score(body, url, None, lang, NOW, parse_pool.MAX_ENTRIES, 1)
        matches = dict(zip([i.key for i in parsed.items], parsed.matches or [], strict=True))
        out.append(
            Poll(feed_id, NOW, parsed.items, parsed.signatures, matches, profiles=parsed.profiles)
        )
    return out


#: What the writing decided, in an order of its own: read back by :func:`decisions_digest`.
DECISIONS = (
    "SELECT id, story FROM items ORDER BY id",
    "SELECT item_id, event FROM item_events ORDER BY item_id",
    "SELECT band, item_id FROM story_bands ORDER BY band, item_id",
    "SELECT term, item_id FROM event_terms ORDER BY term, item_id",
    "SELECT item_id, topic, severity FROM matches ORDER BY item_id, topic",
)


def decisions_digest(store: Store) -> str:
    """A hash of every decision :data:`DECISIONS` reads back from ``store``."""
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        for query in DECISIONS:
            for row in conn.exec_driver_sql(query):
                digest.update(repr(tuple(row)).encode())
            digest.update(b"\n")
    return digest.hexdigest()[:16]


def made_polls(feed_ids: list[int], text: str, keep: Path | None) -> list[Poll]:
    """The polls to write: from ``keep`` when it holds those of as many feeds of this text,
    else made (and then kept there, when ``keep`` is given)."""
    if keep is not None and keep.exists():
        with keep.open("rb") as f:
            kept_text, kept_ids, polls = pickle.load(f)
        if (kept_text, kept_ids) == (text, feed_ids):
            return list(polls)
        print(f"{keep} holds other polls: made anew", file=sys.stderr)
    polls = farm_polls(feed_ids) if text == "farm" else polls_for(feed_ids)
    if keep is not None:
        with keep.open("wb") as f:
            pickle.dump((text, feed_ids, polls), f, protocol=pickle.HIGHEST_PROTOCOL)
    return polls


def run(
    feeds: int, text: str = "news", *, keep: Path | None = None, digest: bool = False
) -> tuple[float, int, int, int, str | None]:
    """CPU seconds writing ``feeds`` polls into a fresh store; items, stories and events, and
    the decisions' digest when asked for."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/write.db")
        store.sync_feeds([_Spec(n) for n in range(feeds)], NOW)
        ids = [f.id for f in store.feeds()]
        polls = made_polls(ids, text, keep)
        most = getattr(ingest, "WRITE_BATCH_ITEMS", None) or len(polls) * POLL
        batch = max(1, min(WRITE_BATCH, most // POLL))
        start = time.process_time()
        for first in range(0, len(polls), batch):
            write_polls(store, polls[first : first + batch], Rules(), random.Random(0))
        spent = time.process_time() - start
        with store.engine.connect() as conn:
            items, made = conn.exec_driver_sql(
                "SELECT count(*), count(DISTINCT story) FROM items"
            ).one()
            grouped = conn.exec_driver_sql("SELECT count(DISTINCT event) FROM item_events").one()
        decided = decisions_digest(store) if digest else None
        store.close()
    return spent, items, made, grouped[0], decided


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/bench_write.py", description=__doc__)
    ap.add_argument("--feeds", type=int, default=1000, help="polls of 30 items (1000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs (3)")
    ap.add_argument(
        "--text",
        choices=("news", "farm"),
        default="news",
        help="bench_stories' news items (the default) or the polling farm's documents parsed "
        "as the parse workers parse them",
    )
    ap.add_argument(
        "--batch-items",
        type=int,
        help="most items a batch holds (default: this version's WRITE_BATCH_ITEMS)",
    )
    ap.add_argument(
        "--gc",
        choices=("daemon", "default"),
        default="daemon",
        help="the garbage collector as a polling process sets it (monitor.memory, where this "
        "version has it; the default) or Python's default",
    )
    ap.add_argument(
        "--digest",
        action="store_true",
        help="print a hash of the decisions stored (stories, events, keys, terms, matches)",
    )
    ap.add_argument(
        "--polls",
        type=Path,
        metavar="FILE",
        help="take the polls from FILE when it holds them, else keep those made there",
    )
    args = ap.parse_args(argv)
    if args.gc == "daemon" and hasattr(memory, "collect_less_often"):
        memory.collect_less_often()
    if args.batch_items:
        ingest.WRITE_BATCH_ITEMS = args.batch_items
    spent = []
    for n in range(args.repeat):
        cpu, items, made, grouped, decided = run(
            args.feeds, args.text, keep=args.polls, digest=args.digest
        )
        spent.append(cpu)
        print(
            f"run {n + 1}: {cpu:.2f} CPU s for {items:,} items "
            f"({made:,} stories, {grouped:,} events)"
            + (f", decisions {decided}" if decided else ""),
            flush=True,
        )
    median = statistics.median(spent)
    print(
        f"median {median:.2f} CPU s ({min(spent):.2f}–{max(spent):.2f}), "
        f"{median / (args.feeds * POLL) * 1000:.3f} ms an item"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
