"""``monitor seeds suggest FILE...``: draft a watch-topic from briefing documents.

Owns: reading the briefs named on the command line and printing ``monitor.seeds``' draft as
watchlist YAML. Imports ``monitor.cli.app``, ``monitor.errors`` and ``monitor.seeds``; nothing
here is imported by other layers.
"""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.app import app
from monitor.errors import Problem
from monitor.seeds import Skipped, as_brief, render_yaml, suggest
from monitor.yamlsrc import first_lines

seeds_app = typer.Typer(help="Draft watch-topics from briefing documents.", no_args_is_help=True)
app.add_typer(seeds_app, name="seeds")


def read_documents(
    paths: list[Path],
) -> tuple[list[tuple[str, str]], list[Skipped], list[Problem]]:
    """The text of each brief, the files skipped as not briefs (README, binary, empty...), and
    the problems that stop the draft: files that cannot be read, or no brief left at all."""
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


@seeds_app.command("suggest")
def suggest_command(
    files: list[Path] = typer.Argument(
        ..., help="Briefs: UTF-8 .txt files (others are skipped with a warning)."
    ),
    top: int = typer.Option(15, "--top", "-n", help="How many key phrases to propose."),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of the briefs: en or fr."),
    topic_id: str = typer.Option("draft_topic", "--id", help="Id of the drafted topic."),
    name: str = typer.Option("Draft topic", "--name", help="Name of the drafted topic."),
) -> None:
    """Print a draft topic (key phrases, acronyms with expansions, context) as watchlist YAML."""
    if lang not in ("en", "fr"):
        typer.echo(f"error: --lang {lang!r} is not supported; use en or fr", err=True)
        raise typer.Exit(2)
    documents, skipped, problems = read_documents(files)
    for skip in skipped:
        typer.echo(f"warning: {skip}", err=True)
    if problems:
        for line in first_lines(problems):
            typer.echo(line, err=True)
        raise typer.Exit(2)
    typer.echo(render_yaml(suggest(documents, top=top, lang=lang), topic_id=topic_id, name=name))
