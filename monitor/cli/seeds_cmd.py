"""``monitor seeds suggest FILE...``: draft a watch-topic from briefing documents.

Owns: reading the briefs named on the command line and printing ``monitor.seeds``' draft as
watchlist YAML. Imports ``monitor.cli.app``, ``monitor.errors`` and ``monitor.seeds``; nothing
here is imported by other layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from monitor.cli.app import app, err_console
from monitor.cli.eval_cmd import render_table
from monitor.configio import read_jsonl
from monitor.errors import InputError, Problem
from monitor.evaluate import EvalReport, evaluate
from monitor.score.engine import compile_topics
from monitor.score.spec import validate_watchlist
from monitor.yamlsrc import first_lines

if TYPE_CHECKING:
    from monitor.seeds import Skipped

seeds_app = typer.Typer(help="Draft watch-topics from briefing documents.", no_args_is_help=True)
app.add_typer(seeds_app, name="seeds")


def read_documents(
    paths: list[Path],
) -> tuple[list[tuple[str, str]], list[Skipped], list[Problem]]:
    """The text of each brief, the files skipped as not briefs (README, binary, empty...), and
    the problems that stop the draft: files that cannot be read, or no brief left at all."""
    from monitor.seeds import Skipped, as_brief  # keyword extraction loads on use

    documents: list[tuple[str, str]] = []
    skipped: list[Skipped] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            problems.append(Problem(str(path), None, "file not found"))
            continue
        except IsADirectoryError:
            problems.append(
                Problem(str(path), None, f"is a folder; give its briefs, e.g. {path}/*.txt")
            )
            continue
        except OSError as exc:
            problems.append(Problem(str(path), None, f"cannot read file: {exc.strerror}"))
            continue
        brief = as_brief(str(path), data)
        if isinstance(brief, Skipped):
            skipped.append(brief)
        else:
            documents.append((str(path), brief))
    if not problems and not documents:
        problems.append(
            Problem(
                "error",
                None,
                "no brief left to draft from: every file given was skipped (see the warnings); "
                "give briefs as UTF-8 .txt files",
            )
        )
    return documents, skipped, problems


def labelled_rows(file: Path, topic_id: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The labelled items of ``file``, or the problems that keep them from measuring the draft
    (unreadable lines, or no item labelled for ``topic_id``)."""
    try:
        rows = read_jsonl(file)
    except InputError as exc:
        return [], exc.problems
    labelled = sorted({t for row in rows for t in row.get("labels") or {}})
    if topic_id not in labelled:
        known = ", ".join(labelled) or "(none)"
        return [], [
            Problem(
                str(file),
                None,
                f"no item is labelled for topic '{topic_id}', the draft's id; the items are "
                f"labelled for: {known}; draft with --id set to one of them to measure it",
            )
        ]
    return rows, []


def measure(draft: str, rows: list[dict[str, Any]], topic_id: str) -> EvalReport:
    """Evaluate the draft exactly as printed: its YAML loaded, validated and compiled as any
    watchlist is, then scored on the labelled items by ``monitor.evaluate``."""
    from monitor.yamlparse import parse_yaml  # here: every command imports this module

    doc, problems = parse_yaml(draft, "draft.yaml")
    topics, errors = validate_watchlist(doc) if doc is not None else ([], [])
    if problems or errors or doc is None:  # a bug: the draft always validates
        raise AssertionError("the draft does not load: " + "; ".join(map(str, problems + errors)))
    return evaluate(rows, compile_topics(topics), topic_id)


@seeds_app.command("suggest")
def suggest_command(
    files: list[Path] = typer.Argument(
        ..., help="Briefs: UTF-8 .txt files (others are skipped with a warning)."
    ),
    top: int = typer.Option(15, "--top", "-n", help="How many key phrases to propose."),
    lang: str = typer.Option(
        "auto", "--lang", "-l", help="Language of the briefs: auto (each brief's own), en or fr."
    ),
    topic_id: str = typer.Option("draft_topic", "--id", help="Id of the drafted topic."),
    name: str = typer.Option("Draft topic", "--name", help="Name of the drafted topic."),
    eval_file: Path | None = typer.Option(
        None,
        "--eval",
        help="Labelled items (as for monitor eval): print the draft's precision and recall "
        "on them, for the topic named by --id.",
    ),
    show: int = typer.Option(5, "--show", help="Mistakes listed with --eval."),
) -> None:
    """Print a draft topic (key phrases, acronyms with expansions, context) as watchlist YAML."""
    if lang not in ("auto", "en", "fr"):
        typer.echo(f"error: --lang {lang!r} is not supported; use auto, en or fr", err=True)
        raise typer.Exit(2)
    documents, skipped, problems = read_documents(files)
    rows: list[dict[str, Any]] = []
    if eval_file is not None:
        rows, bad = labelled_rows(eval_file, topic_id)
        problems += bad
    for skip in skipped:
        typer.echo(f"warning: {skip}", err=True)
    if problems:
        for line in first_lines(problems):
            typer.echo(line, err=True)
        raise typer.Exit(2)
    from monitor.seeds import render_yaml, suggest

    suggestion = suggest(documents, top=top, lang=None if lang == "auto" else lang)
    draft = render_yaml(suggestion, topic_id=topic_id, name=name)
    if eval_file is None:
        typer.echo(draft)
        return
    report = measure(draft, rows, topic_id)
    ev = report.topics[topic_id]
    typer.echo(
        f"# Measured on {eval_file} ({len(rows)} items): precision {ev.precision:.2f}, "
        f"recall {ev.recall:.2f}, F1 {ev.f1:.2f} (TP {ev.tp}, FP {ev.fp}, FN {ev.fn})\n{draft}"
    )
    render_table(report, show, err_console)
