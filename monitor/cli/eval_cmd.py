"""``monitor eval FILE.jsonl``: precision and recall of the watch-topics on labelled items.

Owns: loading the topics (from the configuration, or from ``--watchlist`` files), compiling
them with the daemon's own ``compile_topics``, and printing ``monitor.evaluate``'s report as a
table or as JSON. Imports from ``monitor.cli.app``, ``monitor.config``, ``monitor.evaluate``,
``monitor.score`` and ``monitor.yamlsrc``; nothing here is imported by other layers.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.cli.app import app, config_path, console
from monitor.config import load_watchlists
from monitor.errors import ConfigError, InputError
from monitor.evaluate import EvalReport, evaluate, read_jsonl
from monitor.score.engine import compile_topics
from monitor.score.spec import TopicSpec
from monitor.yamlsrc import first_lines


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def configured_topics(watchlists: list[Path]) -> list[TopicSpec]:
    """The topics to use: the ``--watchlist`` files if any, else the user's configuration."""
    if watchlists:
        return load_watchlists(watchlists)
    from monitor.config import load_config

    return list(load_config(config_path()).topics)


def render_table(report: EvalReport, show: int, out: Console = console) -> None:
    """Print the report for a person: one row per topic, then each topic's mistakes."""
    table = Table(title="Watch-topics against labelled items", title_justify="left")
    for name in ("topic", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(name, justify="left" if name == "topic" else "right")
    for topic, ev in report.topics.items():
        table.add_row(
            topic,
            str(ev.tp),
            str(ev.fp),
            str(ev.fn),
            f"{ev.precision:.2f}",
            f"{ev.recall:.2f}",
            f"{ev.f1:.2f}",
        )
    out.print(table)
    out.print(f"{len(report.items)} items; grade 2 counts as relevant, 0 as not, 1 neither.")
    for topic, ev in report.topics.items():
        for kind, wrong in (
            ("false positives", ev.false_positives),
            ("missed", ev.false_negatives),
        ):
            if not wrong:
                continue
            out.print(Text(f"\n{topic}: {kind} ({len(wrong)})", style="bold"))
            for item in wrong[:show]:
                line = Text(f"  {item.id}  ")
                line.append(item.title, style="italic")
                line.append(f"  score {item.score:g}, {item.detail}")
                out.print(line)
                for reason in item.reasons:
                    out.print(Text(f"      {reason}", style="dim"))
            if len(wrong) > show:
                out.print(f"  … and {len(wrong) - show} more (--show N to list them)")


def run_eval(
    file: Path,
    topics: list[TopicSpec],
    *,
    topic: str | None,
    output: OutputFormat,
    show: int,
) -> int:
    """Evaluate and print; return the exit code (2 for unusable input, else 0)."""
    try:
        rows = read_jsonl(file)
    except InputError as exc:
        for line in first_lines(exc.problems):
            typer.echo(line, err=True)
        return 2
    matcher = compile_topics(topics)
    try:
        report = evaluate(rows, matcher, topic)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    if output is OutputFormat.json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        render_table(report, show)
    return 0


@app.command("eval")
def eval_command(
    file: Path = typer.Argument(
        ..., help="Labelled items: one JSON object a line with id, title, summary, lang, labels."
    ),
    topic: str | None = typer.Option(None, "--topic", "-t", help="Report this topic only."),
    output: OutputFormat = typer.Option(
        OutputFormat.table, "--format", "-f", help="table for people, json for scripts."
    ),
    watchlist: list[Path] = typer.Option(
        [],
        "--watchlist",
        "-w",
        help="Evaluate these watchlist files instead of the configured ones (repeatable).",
    ),
    show: int = typer.Option(10, "--show", help="Mistakes listed per topic in the table."),
) -> None:
    """Measure precision and recall of the watch-topics against labelled news items."""
    try:
        topics = configured_topics(watchlist)
    except ConfigError as exc:
        for line in first_lines(exc.problems):
            typer.echo(line, err=True)
        raise typer.Exit(2) from None
    code = run_eval(file, topics, topic=topic, output=output, show=show)
    if code:
        raise typer.Exit(code)
