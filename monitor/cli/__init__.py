"""The ``monitor`` command line: the composition root.

Owns: building the configuration, store, fetcher, channels and clock from the command line, and
printing results. Every other module receives what it needs from here.

Each command group lives in its own module of this package and registers itself on ``app``
when imported; ``_COMMAND_MODULES`` lists them.
"""

from __future__ import annotations

import atexit
import gc
import importlib

from monitor.cli.app import app
from monitor.memory import collect_less_often

_COMMAND_MODULES: tuple[str, ...] = (
    "commands",
    "run_cmd",
    "demo_cmd",
    "eval_cmd",
    "seeds_cmd",
    "items_cmd",
    "feeds_cmd",
    "signals_cmd",
    "feedback_cmd",
    "web_cmd",
)


def main() -> None:
    # What the interpreter's last cyclic collections would find at exit is the whole heap
    # (modules, the configuration, a command's results), all of it freed with the process:
    # frozen, those collections skip it (about 0.3 s of CPU at the end of a poll of 1,000
    # feeds). Registered first, this runs after every other exit handler.
    atexit.register(gc.freeze)
    # A command loads most of its modules now and in its first steps (the store, the fetcher):
    # hundreds of modules' objects, none of them garbage, which the collector's youngest
    # generation, run every 700 new objects, would walk again and again (with no collector at
    # all, a one-feed poll --once takes 0.62 s instead of 0.68); a command that polls collects
    # this rarely anyway (monitor.memory)
    collect_less_often()
    for name in _COMMAND_MODULES:
        importlib.import_module(f"monitor.cli.{name}")
    # the commands' modules stay loaded until exit: the collections a command triggers need
    # not walk them again
    gc.freeze()
    app()
