"""The typer application object, the options every command shares, and how output looks.

Owns: the global ``--config`` and ``--version`` options, access to the loaded configuration,
the consoles commands print to, and how times are shown to people (in the configured zone).
Command modules import ``app`` from here and register their commands on it.

Output that is not a terminal (a pipe, a file) is never wrapped: each table row and each
``path:line: message`` stays one line, for grep and editors. ``COLUMNS`` still sets a width.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from monitor import __version__
from monitor.errors import Problem

#: The width given to output that is not a terminal: wide enough that nothing wraps.
UNWRAPPED_WIDTH = 10_000


def _console(*, stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    if probe.is_terminal or os.environ.get("COLUMNS"):
        return probe
    return Console(stderr=stderr, width=UNWRAPPED_WIDTH)


app = typer.Typer(
    name="monitor",
    help="Policy Monitor: watch news feeds for policy developments, score and report them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = _console()
err_console = _console(stderr=True)


@dataclass
class Options:
    config_path: str | None = None


OPTIONS = Options()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"monitor {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    config: str | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Path of monitor.yaml (default: $MONITOR_CONFIG, else ./config/monitor.yaml).",
        envvar="MONITOR_CONFIG",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    OPTIONS.config_path = config


DEFAULT_CONFIG = "config/monitor.yaml"


def config_path() -> str:
    """The configuration file the user asked for, or the default one."""
    return OPTIONS.config_path or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG


def default_config_hint(problems: Iterable[Problem]) -> str | None:
    """What to do when the default configuration file, looked for because none was named,
    is not there (``None`` otherwise): a command run outside the project's directory."""
    if OPTIONS.config_path or os.environ.get("MONITOR_CONFIG"):
        return None
    if not any(p.path == DEFAULT_CONFIG and p.message == "file not found" for p in problems):
        return None
    return (
        f"no --config given and $MONITOR_CONFIG is not set, so {DEFAULT_CONFIG} was looked "
        f"for in the current directory ({os.getcwd()}); run monitor from the directory that "
        "holds config/, or pass --config PATH/monitor.yaml"
    )


def iso(value: datetime | None) -> str | None:
    """A time for scripts (``--format json``): ISO 8601 in UTC."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def local(value: datetime | None, tz: str) -> str | None:
    """A time for people: minutes, in the configured zone, with its abbreviation."""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z") if value else None


def heading(title: str) -> None:
    """A rule across a terminal; a plain line elsewhere (a rule would be as wide as no wrap)."""
    if console.is_terminal:
        console.rule(title)
    else:
        console.print(f"── {title} ──", markup=False, highlight=False)
