"""``monitor seeds suggest FILE...``: draft a watch-topic from briefing documents.

Owns: reading the briefs named on the command line and printing ``monitor.seeds``' draft as
watchlist YAML. Imports ``monitor.cli.app``, ``monitor.errors`` and ``monitor.seeds``; nothing
here is imported by other layers.
"""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.app import app
from monitor.errors import InputError, Problem
from monitor.seeds import render_yaml, suggest
from monitor.yamlsrc import first_lines

seeds_app = typer.Typer(help="Draft watch-topics from briefing documents.", no_args_is_help=True)
app.add_typer(seeds_app, name="seeds")


def read_documents(paths: list[Path]) -> list[tuple[str, str]]:
    """The text of each brief; raise ``InputError`` naming every file that cannot be read."""
    documents: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.append(Problem(str(path), None, "file not found"))
            continue
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(str(path), None, f"not UTF-8 text ({exc.reason}); save it as UTF-8")
            )
            continue
        except OSError as exc:
            problems.append(Problem(str(path), None, f"cannot read file: {exc.strerror}"))
            continue
        if not text.strip():
            problems.append(Problem(str(path), None, "the file is empty"))
            continue
        documents.append((str(path), text))
    if problems:
        raise InputError(problems)
    return documents


@seeds_app.command("suggest")
def suggest_command(
    files: list[Path] = typer.Argument(..., help="Briefing documents (UTF-8 text)."),
    top: int = typer.Option(15, "--top", "-n", help="How many key phrases to propose."),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of the briefs: en or fr."),
    topic_id: str = typer.Option("draft_topic", "--id", help="Id of the drafted topic."),
    name: str = typer.Option("Draft topic", "--name", help="Name of the drafted topic."),
) -> None:
    """Print a draft topic (key phrases, acronyms with expansions, context) as watchlist YAML."""
    if lang not in ("en", "fr"):
        typer.echo(f"error: --lang {lang!r} is not supported; use en or fr", err=True)
        raise typer.Exit(2)
    try:
        documents = read_documents(files)
    except InputError as exc:
        for line in first_lines(exc.problems):
            typer.echo(line, err=True)
        raise typer.Exit(2) from None
    typer.echo(render_yaml(suggest(documents, top=top, lang=lang), topic_id=topic_id, name=name))
