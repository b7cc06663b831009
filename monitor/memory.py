"""Handing freed memory back to the system, and how often the garbage collector runs.

Owns: :func:`release_free_memory`, asked for by the write queue (``monitor.ingest``) after
its batches. A cold cycle allocates and frees a batch's worth of parsed items, signatures and
event profiles again and again, interleaved with what stays (caches, the store's rows); the C
allocator (glibc's malloc) keeps the freed space between the blocks that stay, and gives back
only what is free at the top of its heaps: 20-25 MB of a cold cycle's peak RSS was memory
malloc held free. ``malloc_trim`` returns the free pages inside its heaps too. Python's own
small-object arenas are not concerned: they are returned when empty.

And :func:`collect_less_often`, for a process that polls. Python's cyclic garbage collector
runs its youngest generation every 700 net new container objects, and every tenth of those
the next, and so on up to a pass over the whole heap; a cold cycle makes millions of small
tuples and dataclasses (items, signatures, candidates), nearly all freed by their reference
counts, so those passes found almost nothing and cost a fifth of the daemon's CPU (4.2 of
20.9 CPU s on the 1,000-feed phrase farm), most of it in 32 passes over the whole heap.
Decides nothing. Must not import store, fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_looked = False


def _find_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (musl, macOS)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the free pages the C allocator holds to the system; whether it could be asked
    (only glibc can). Thread-safe: malloc locks each of its heaps in turn. Costs about a
    millisecond for a daemon's heaps: call it after a burst of work, not on every call."""
    global _trim, _looked
    if not _looked:
        _trim, _looked = _find_trim(), True
    if _trim is None:
        return False
    _trim(0)
    return True


#: Net new container objects between two passes over the youngest generation (Python's
#: default is 700).
YOUNG_COLLECTION_EVERY = 20_000


def collect_less_often(young: int = YOUNG_COLLECTION_EVERY) -> None:
    """Run the garbage collector's youngest generation every ``young`` net new container
    objects instead of 700 (the older generations follow, as before, every tenth pass of the
    one below them). Garbage in reference cycles waits longer to be freed; what is freed by
    its reference count (nearly everything) is freed at once, as before. Never lowers a
    threshold set higher."""
    first, *rest = gc.get_threshold()
    if first < young:
        gc.set_threshold(young, *rest)
