"""``monitor feedback`` and ``monitor tune``: judging items, and rule changes from judgements.

Owns: argument parsing and printing. ``monitor feedback ITEM_ID --topic T --relevant`` (or
``--not-relevant``) records a judgement; ``monitor feedback list`` shows the standing ones
(``--history`` every one); ``monitor feedback export`` writes them as labelled items for
``monitor eval``. ``monitor tune TOPIC`` prints ``monitor.tune``'s suggestions with their
measured effect. The store records, ``monitor.feedback`` and ``monitor.tune`` decide.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from monitor.cli.app import app, console, local
from monitor.cli.commands import _since
from monitor.cli.runtime import READING, load_or_exit, open_store, utcnow
from monitor.config import Config
from monitor.configio import read_jsonl
from monitor.errors import InputError
from monitor.feedback import Judgement, labelled_rows, verdict_words
from monitor.tune import TuneReport, suggest
from monitor.yamlsrc import first_lines

_ACTIONS = ("list", "export")
_EXAMPLE = "e.g. monitor feedback 42 --topic norad --not-relevant"


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _known_topic(cfg: Config, topic: str) -> None:
    ids = [t.id for t in cfg.topics]
    if topic not in ids:
        raise _fail(f"unknown topic '{topic}'; the watchlists define: {', '.join(ids) or '(none)'}")


@app.command()
def feedback(
    target: str = typer.Argument(
        ...,
        metavar="ITEM_ID|list|export",
        help="A stored item's id (see `monitor items`, `monitor matches`) to judge it; "
        "`list` to show judgements; `export` to write them as labelled items for `monitor eval`.",
    ),
    topic: str | None = typer.Option(None, "--topic", "-t", help="The topic judged (or listed)."),
    relevant: bool | None = typer.Option(
        None,
        "--relevant/--not-relevant",
        help="The judgement: the item is (or is not) relevant to the topic.",
    ),
    user: str | None = typer.Option(
        None, "--user", envvar="MONITOR_USER", help="Who judges (default: $MONITOR_USER)."
    ),
    history: bool = typer.Option(
        False, "--history", help="list: every judgement, not only the standing ones."
    ),
    since: str | None = typer.Option(None, help="list: judged in 24h, 7d… or since a date."),
    limit: int | None = typer.Option(None, help="list: at most this many."),
    fmt: str = typer.Option("table", "--format", help="list: table or json"),
) -> None:
    """Judge an item for a topic, list judgements, or export them for `monitor eval`.

    On an item the topic matched, --not-relevant marks a false positive; on one it did not
    match, --relevant marks a miss. The last judgement of an item and topic stands; the
    earlier ones are kept as history.
    """
    if target in _ACTIONS:
        if relevant is not None:
            raise _fail(f"--relevant/--not-relevant judge an item; `{target}` takes none")
        cfg = load_or_exit(needs=READING)
        if topic is not None:
            _known_topic(cfg, topic)
        store = open_store(cfg.database_url)
        try:
            if target == "export":
                for row in labelled_rows(store.feedback.standing(topic=topic)):
                    typer.echo(json.dumps(row, ensure_ascii=False))
                return
            if fmt not in ("table", "json"):
                raise typer.BadParameter("--format must be table or json")
            when = _since(since)
            found = (
                store.feedback.history(topic=topic, limit=limit)
                if history
                else store.feedback.standing(topic=topic, since=when, limit=limit)
            )
            if history and when is not None:
                found = [j for j in found if j.created_at >= when]
        finally:
            store.close()
        _print_list(found, cfg.timezone, fmt, history)
        return
    try:
        item_id = int(target)
    except ValueError:
        raise _fail(
            f"'{target}' is neither an item id nor one of {', '.join(_ACTIONS)}; {_EXAMPLE}"
        ) from None
    if topic is None:
        raise _fail(f"say which topic the judgement is for with --topic; {_EXAMPLE}")
    if relevant is None:
        raise _fail(f"say --relevant or --not-relevant; {_EXAMPLE}")
    cfg = load_or_exit(needs=READING)
    _known_topic(cfg, topic)
    store = open_store(cfg.database_url)
    try:
        made = store.feedback.record(
            item_id,
            topic,
            "relevant" if relevant else "not_relevant",
            now=utcnow(),
            user=user,
            via="cli",
        )
    finally:
        store.close()
    if made is None:
        raise _fail(
            f"no stored item has id {item_id}; `monitor items` lists stored items and their ids"
        )
    line = Text(f"Recorded: item {made.item_id} ")
    line.append(made.title, style="italic")
    line.append(f" is {verdict_words(made.verdict)} to {topic} ({made.kind})")
    console.print(line)


def _print_list(found: list[Judgement], zone: str, fmt: str, history: bool) -> None:
    if fmt == "json":
        typer.echo(json.dumps([j.as_json() for j in found], ensure_ascii=False, indent=2))
        return
    kind = "All judgements" if history else "Standing judgements"
    table = Table(title=f"{kind} ({len(found)})", title_justify="left")
    for name in ("judged", "item", "topic", "verdict", "kind", "user", "via", "title"):
        table.add_column(name, overflow="fold", ratio=3 if name == "title" else None)
    for j in found:
        table.add_row(
            local(j.created_at, zone) or "",
            str(j.item_id),
            j.topic,
            verdict_words(j.verdict),
            j.kind,
            escape(j.user or ""),
            j.via,
            escape(j.title),
        )
    console.print(table)


@app.command()
def tune(
    topic: str = typer.Argument(..., help="The topic to suggest changes for."),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="Labelled items to learn from (the format `monitor eval` reads) instead of the "
        "judgements stored by `monitor feedback`.",
    ),
    limit: int = typer.Option(5, "--limit", help="At most this many suggestions."),
    fmt: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Suggest rule changes for a topic from the judgements, each measured on them.

    Words of false positives that relevant items lack become exclusions; words of missed
    items become aliases or context terms. Each is shown with precision and recall before and
    after (the topic changed in memory, measured as `monitor eval` does) and as YAML to paste
    into the watchlist. Nothing is changed: applying a suggestion is your edit.
    """
    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    cfg = load_or_exit(needs=READING)
    _known_topic(cfg, topic)
    spec = next(t for t in cfg.topics if t.id == topic)
    if labels is not None:
        try:
            rows = read_jsonl(labels)
        except InputError as exc:
            for line in first_lines(exc.problems):
                typer.echo(line, err=True)
            raise typer.Exit(2) from None
        source = str(labels)
    else:
        store = open_store(cfg.database_url)
        try:
            rows = labelled_rows(store.feedback.standing(topic=topic))
        finally:
            store.close()
        source = "the stored judgements"
    report = suggest(spec, rows, limit=limit)
    if fmt == "json":
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        return
    _print_tune(report, source, _watchlist_of(cfg, topic))


def _watchlist_of(cfg: Config, topic: str) -> str:
    from monitor.configio import read_yaml

    for path in cfg.watchlist_files:
        doc, _ = read_yaml(path)
        data = doc.data if doc is not None else None
        if isinstance(data, dict) and any(
            isinstance(t, dict) and t.get("id") == topic for t in data.get("topics") or []
        ):
            return os.path.relpath(path)
    return "its watchlist"


def _print_tune(report: TuneReport, source: str, where: str) -> None:
    console.print(
        f"Topic {report.topic} on {report.labelled} judged items from {source}: {report.before}",
        highlight=False,
    )
    if not report.suggestions:
        console.print(
            "No suggestion: no single term fixes an item without breaking as many. "
            "Judge more items (`monitor feedback`), or read the mistakes with "
            "`monitor eval` on the export.",
            highlight=False,
        )
        return
    for n, s in enumerate(report.suggestions, start=1):
        what = {"exclude": "exclusion", "alias": "alias", "context": "context term"}[s.kind]
        console.print(Text(f"\n{n}. {what} '{s.term}' ({s.evidence})", style="bold"))
        console.print(f"   before: {s.before}", highlight=False)
        console.print(f"   after:  {s.after}", highlight=False)
        console.print(
            f"   fixes: {', '.join(s.fixes)}"
            + (f"; breaks: {', '.join(s.breaks)}" if s.breaks else ""),
            highlight=False,
        )
        console.print(f"   paste into topic {report.topic} of {where}:", highlight=False)
        for line in s.yaml.splitlines():
            console.print(Text("     " + line))
    console.print(
        "\nNothing was changed. After editing, `monitor check` validates the watchlist and "
        "`monitor eval` on `monitor feedback export` measures it.",
        highlight=False,
    )
