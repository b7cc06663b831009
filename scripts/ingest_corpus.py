"""Run every file of a feed corpus through parse + normalize; fail on any exception.

Usage: python scripts/ingest_corpus.py DIR

A file the parser rejects as "not a feed" is a handled outcome (counted, not a failure);
anything else raised is a bug and fails the run.
"""

from __future__ import annotations

import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import ParseError
from monitor.normalize import normalize_entry
from monitor.parse import parse_feed

# the corpus folder's own description files
_NOT_FEEDS = {"README.md", "LICENSE", "MANIFEST.tsv"}


def main(root: str) -> int:
    files = sorted(p for p in Path(root).rglob("*") if p.is_file() and p.name not in _NOT_FEEDS)
    now = datetime.now(UTC)
    parsed = rejected = entries = 0
    crashes: list[str] = []
    t0 = time.perf_counter()
    for path in files:
        body = path.read_bytes()
        try:
            feed = parse_feed(body, url=f"http://example.org/{path.name}")
            for entry in feed.entries:
                normalize_entry(
                    entry, feed_url="http://example.org/feed", feed_link=feed.link, now=now
                )
                entries += 1
            parsed += 1
        except ParseError:
            rejected += 1
        except Exception:
            crashes.append(f"{path}:\n{traceback.format_exc()}")
    took = time.perf_counter() - t0
    print(
        f"corpus {root}: {len(files)} files, {parsed} parsed ({entries} entries), "
        f"{rejected} rejected as not a feed, {len(crashes)} exceptions, {took:.1f}s"
    )
    for crash in crashes[:20]:
        print(crash, file=sys.stderr)
    return 1 if crashes or not files else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
