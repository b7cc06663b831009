"""``monitor feeds``: feed health, and OPML import and export of the configured feeds.

Owns: the ``feeds`` command group, reading and writing the files involved. What a list holds
and which of its feeds are new is :mod:`monitor.opml`'s call. The configuration file is edited
with ruamel.yaml's round trip, so its comments, order and quoting stay as the user wrote them;
the edited file is checked as a whole configuration before it replaces the old one.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from monitor.cli import commands
from monitor.cli.app import app, config_path, console, err_console
from monitor.cli.runtime import load_or_exit
from monitor.config import load_config
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from ruamel.yaml import YAML

# ruamel.yaml and the OPML reader are imported by the commands that use them: every command
# imports this module at start

feeds_app = typer.Typer(
    invoke_without_command=True,
    help="Health of every feed; `feeds import FILE.opml` and `feeds export` move feed lists.",
)
app.add_typer(feeds_app, name="feeds")


@feeds_app.callback()
def feeds(
    ctx: typer.Context,
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Health of every feed: last success, last error, failures in a row, next poll."""
    if ctx.invoked_subcommand is None:
        commands.feeds(fmt=fmt)


def _round_trip() -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # `feeds:` then `  - {url: …}`
    yaml.width = 4096  # never fold a long line the user wrote on one
    return yaml


@feeds_app.command("import")
def import_feeds(
    file: Path = typer.Argument(..., help="An OPML subscription list (OPML 1.0 or 2.0)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would change; write nothing."),
) -> None:
    """Add an OPML file's feeds to the configuration file, keeping its comments and order."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from monitor.opml import OpmlError, plan_import, read_opml

    path = Path(config_path())
    try:
        listed = read_opml(file.read_bytes())
    except OSError as exc:
        err_console.print(f"{file}: cannot read the file ({exc.strerror or exc})", highlight=False)
        raise typer.Exit(2) from None
    except OpmlError as exc:
        err_console.print(f"{file}: not an OPML subscription list: {exc}", highlight=False)
        raise typer.Exit(1) from None
    yaml = _round_trip()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        err_console.print(f"{path}: cannot read the configuration ({exc})", highlight=False)
        raise typer.Exit(2) from None
    doc: Any = yaml.load(text) or CommentedMap()
    entries = doc.get("feeds")
    if entries is None:
        entries = doc["feeds"] = CommentedSeq()
    if not isinstance(entries, list):
        err_console.print(f"{path}: `feeds` must be a list to import into", highlight=False)
        raise typer.Exit(1)
    configured = [e.get("url") for e in entries if isinstance(e, dict)]
    plan = plan_import(listed, [u for u in configured if isinstance(u, str)])
    for feed in plan.add:
        entry = CommentedMap(url=feed.url)
        if feed.name:
            entry["name"] = feed.name
        if feed.lang:
            entry["lang"] = feed.lang
        entry.fa.set_flow_style()
        entries.append(entry)
    if plan.add and not dry_run:
        out = io.StringIO()
        yaml.dump(doc, out)
        _replace_checked(path, out.getvalue())
    verb = "would add" if dry_run else "added"
    console.print(
        f"{verb} {len(plan.add)} feed(s) to {path}; {len(plan.duplicates)} duplicate(s) "
        f"skipped; {len(plan.invalid)} invalid",
        highlight=False,
    )
    for feed in plan.add:
        console.print(
            f"  + {feed.url}" + (f"  ({feed.name})" if feed.name else ""), highlight=False
        )
    for feed in plan.duplicates:
        console.print(f"  = {feed.url}: configured already or listed twice", highlight=False)
    for feed, why in plan.invalid:
        err_console.print(f"{file}: outline '{feed.name or feed.url}': {why}", highlight=False)
    if plan.invalid:
        raise typer.Exit(1)


def _replace_checked(path: Path, text: str) -> None:
    """Write ``text`` over ``path`` only if it is a valid configuration as a whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            load_config(tmp)
        except ConfigError as exc:
            err_console.print(
                f"{path}: left unchanged; with the imported feeds it would not be valid:",
                highlight=False,
            )
            for problem in exc.problems:
                err_console.print(f"  {str(problem).replace(tmp, str(path))}", highlight=False)
            raise typer.Exit(1) from None
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@feeds_app.command("export")
def export_feeds(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here, not stdout."),
) -> None:
    """Write the configured feeds as an OPML 2.0 subscription list."""
    from monitor.opml import OpmlFeed, write_opml

    cfg = load_or_exit()
    body = write_opml(OpmlFeed(f.url, f.name, f.lang) for f in cfg.feeds)
    if output is None:
        typer.echo(body.decode("utf-8"), nl=False)
    else:
        output.write_bytes(body)
        console.print(f"wrote {len(cfg.feeds)} feed(s) to {output}", highlight=False)
