"""The ``monitor`` command line: the composition root.

Owns: building the configuration, store, fetcher, channels and clock from the command line, and
printing results. Every other module receives what it needs from here.

Each command group lives in its own module of this package and registers itself on ``app``
when imported; ``_COMMAND_MODULES`` lists them.
"""

from __future__ import annotations

import importlib

from monitor.cli.app import app

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
    for name in _COMMAND_MODULES:
        importlib.import_module(f"monitor.cli.{name}")
    app()
