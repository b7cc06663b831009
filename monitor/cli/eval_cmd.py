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

from monitor.cli.app import app, console
from monitor.config import load_watchlists
from monitor.configio import read_jsonl
from monitor.errors import ConfigError, InputError
from monitor.evaluate import EvalReport, TopicEval, evaluate, evaluate_folds
from monitor.score.engine import compile_topics
from monitor.score.spec import TopicSpec
from monitor.yamlsrc import first_lines


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class Folds(StrEnum):
    story = "story"


#: fewer relevant items than this in one language make its figures a hint, not a measure
FEW_POSITIVES = 5


def configured_topics(watchlists: list[Path]) -> list[TopicSpec]:
    """The topics to use: the ``--watchlist`` files if any, else the user's configuration."""
    if watchlists:
        return load_watchlists(watchlists)
    from monitor.cli.runtime import load_or_exit

    return list(load_or_exit(needs={"watchlists"}).topics)


def render_table(report: EvalReport, show: int, out: Console = console) -> None:
    """Print the report for a person: one row per topic, then each topic's mistakes."""
    table = Table(title="Watch-topics against labelled items", title_justify="left")
    for name in ("topic", "TP", "FP", "FN", "precision", "recall", "F1", "alerts"):
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
            f"{ev.alerts}/{ev.matches}",
        )
    out.print(table)
    out.print(
        f"{len(report.items)} items; grade 2 counts as relevant, 0 as not, 1 neither; "
        "alerts: matches that are alerts / all matches."
    )
    render_languages(report, out)
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


def _figures(ev: TopicEval) -> str:
    few = " (few)" if ev.positives < FEW_POSITIVES else ""
    return f"P {ev.precision:.2f} R {ev.recall:.2f} of {ev.positives}{few}"


def render_languages(report: EvalReport, out: Console = console) -> None:
    """One line per topic with its precision and recall in each language of the items."""
    langs = sorted({lang for ev in report.topics.values() for lang in ev.by_lang})
    if not langs:
        return
    out.print(Text("\nBy language (precision, recall of the relevant items):", style="bold"))
    width = max(len(t) for t in report.topics)
    for topic, ev in report.topics.items():
        parts = [
            f"{lang.upper()} {_figures(ev.by_lang[lang])}" for lang in langs if lang in ev.by_lang
        ]
        out.print(f"  {topic:<{width}}  " + "  ·  ".join(parts), highlight=False)
    out.print(
        f"  (few): fewer than {FEW_POSITIVES} relevant items in that language; a hint, "
        "not a measure."
    )


def render_folds(reports: list[EvalReport]) -> None:
    """Per topic, precision, recall and relevant items on each story fold, and the worst."""
    table = Table(
        title=f"Watch-topics on {len(reports)} story folds, each measured on its own",
        title_justify="left",
        box=None,
    )
    table.add_column("topic")
    table.add_column("")
    for i in range(1, len(reports) + 1):
        table.add_column(f"fold {i}", justify="right")
    table.add_column("worst", justify="right")
    table.add_row("items", "", *(str(len(r.items)) for r in reports), "")
    for topic in reports[0].topics:
        evs = [r.topics[topic] for r in reports]
        table.add_row(
            topic,
            "P",
            *(f"{e.precision:.2f}" for e in evs),
            f"{min(e.precision for e in evs):.2f}",
        )
        table.add_row(
            "", "R", *(f"{e.recall:.2f}" for e in evs), f"{min(e.recall for e in evs):.2f}"
        )
        table.add_row("", "n", *(str(e.positives) for e in evs), "", end_section=True)
    console.print(table)
    console.print(
        "P precision, R recall, n relevant items of the fold. Copies of one story stay in one "
        "fold: tune a topic looking at some folds, then read the others."
    )


def run_eval(
    file: Path,
    topics: list[TopicSpec],
    *,
    topic: str | None,
    output: OutputFormat,
    show: int,
    folds: Folds | None = None,
    k: int = 5,
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
        if folds is not None:
            reports = evaluate_folds(rows, matcher, k, topic)
        else:
            report = evaluate(rows, matcher, topic)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    if folds is not None:
        if output is OutputFormat.json:
            data = {"folds": [r.as_json()["topics"] for r in reports]}
            typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            render_folds(reports)
        return 0
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
    folds: Folds | None = typer.Option(
        None,
        "--folds",
        help="Split the items into folds that keep each story's copies together (story_id) "
        "and report every topic on each fold.",
    ),
    k: int = typer.Option(5, "--k", help="How many folds --folds makes."),
) -> None:
    """Measure precision and recall of the watch-topics against labelled news items."""
    try:
        topics = configured_topics(watchlist)
    except ConfigError as exc:
        for line in first_lines(exc.problems):
            typer.echo(line, err=True)
        raise typer.Exit(2) from None
    code = run_eval(file, topics, topic=topic, output=output, show=show, folds=folds, k=k)
    if code:
        raise typer.Exit(code)
