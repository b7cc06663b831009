"""The typer application object and the options every command shares.

Owns: the global ``--config`` option and access to the loaded configuration. Command modules
import ``app`` from here and register their commands on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import typer
from rich.console import Console

app = typer.Typer(
    name="monitor",
    help="Policy Monitor: watch news feeds for policy developments, score and report them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)


@dataclass
class Options:
    config_path: str | None = None


OPTIONS = Options()


@app.callback()
def _global(
    config: str | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Path of monitor.yaml (default: $MONITOR_CONFIG, else ./config/monitor.yaml).",
        envvar="MONITOR_CONFIG",
    ),
) -> None:
    OPTIONS.config_path = config


def config_path() -> str:
    """The configuration file the user asked for, or the default one."""
    return OPTIONS.config_path or os.environ.get("MONITOR_CONFIG") or "config/monitor.yaml"
