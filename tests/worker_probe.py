"""Functions the parse worker tests run in a worker: this module imports nothing of its own, so
running one loads nothing into the worker that it did not hold already."""

from __future__ import annotations

import os
import sys


def loaded(*names: str) -> dict[str, bool]:
    """Whether each module is loaded in this process."""
    return {name: name in sys.modules for name in names}


def whoami() -> tuple[int, int]:
    """This process's id and its parent's."""
    return os.getpid(), os.getppid()


def niceness() -> int:
    """This process's CPU priority (its ``nice`` value)."""
    return os.nice(0)
