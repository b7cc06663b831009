"""Handing freed memory back to the system.

Owns: :func:`release_free_memory`, asked for by the write queue (``monitor.ingest``) after
its batches. A cold cycle allocates and frees a batch's worth of parsed items, signatures and
event profiles again and again, interleaved with what stays (caches, the store's rows); the C
allocator (glibc's malloc) keeps the freed space between the blocks that stay, and gives back
only what is free at the top of its heaps: 20-25 MB of a cold cycle's peak RSS was memory
malloc held free. ``malloc_trim`` returns the free pages inside its heaps too. Python's own
small-object arenas are not concerned: they are returned when empty. Decides nothing. Must
not import store, fetch, deliver, pipeline, scheduler or cli.
"""

from __future__ import annotations

import ctypes
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
