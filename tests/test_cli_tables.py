"""LineTable prints what rich's Table prints for the same rows, character by character and
style by style, on terminals and in pipes; rows that do not fit on one line go to rich."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.markup import escape
from rich.style import Style
from rich.table import Table

from monitor.cli.tables import LineTable

COLUMNS = ("feed", "outcome", "status", "items", "new", "matches", "next poll", "error")
ROWS = [
    ("Outlet 1", "not_modified", "304", "0", "0", "0", "2026-12-07 05:27 UTC", ""),
    (
        escape("Le [Devoir] :fire: 日本語 — édition"),
        "[red]timeout[/red]",
        "",
        "0",
        "0",
        "0",
        "2026-12-07 05:57 UTC",
        escape("could not connect: [Errno 111] http://127.0.0.1:3/x"),
    ),
    ("https://user:xxx@h.example/f.xml", "ok", "200", "30", "3", "1", "", ""),
    ("Outlet 4 :thumbs_up:", "[red]http[/red]", "503", "0", "0", "0", "", "tab\there"),
]


def _chars(console: Console, renderable: object) -> list[tuple[str, Style]]:
    out = []
    for seg in console.render(renderable, console.options):
        if not seg.control:
            out += [(ch, seg.style or Style.null()) for ch in seg.text]
    return out


def _table(rows: list[tuple[str, ...]]) -> LineTable:
    table = LineTable("Poll cycle: 4 feed(s) in 0.8s", COLUMNS)
    for row in rows:
        table.add_row(*row)
    return table


def _console(width: int, terminal: bool) -> Console:
    return Console(
        width=width,
        force_terminal=terminal,
        color_system="truecolor" if terminal else None,
        file=io.StringIO(),
    )


@pytest.mark.parametrize(
    ("width", "terminal"), [(10_000, False), (200, True), (200, False), (80, True), (60, False)]
)
@pytest.mark.parametrize("rows", [ROWS[:1], ROWS[:3], ROWS, [ROWS[1]] * 3])
def test_a_line_table_prints_what_rich_prints(
    width: int, terminal: bool, rows: list[tuple[str, ...]]
) -> None:
    console = _console(width, terminal)
    table = _table(rows)
    assert _chars(console, table) == _chars(console, table.rich_table())


def test_rows_that_fit_are_printed_without_rich_tables_and_the_others_by_rich() -> None:
    console = _console(200, True)

    def parts(table: LineTable) -> list[object]:
        return list(table.__rich_console__(console, console.options))

    assert not any(isinstance(p, Table) for p in parts(_table(ROWS[:3])))
    several_lines = [(*ROWS[0][:-1], "line one\nline two")]
    too_wide = [(*ROWS[0][:-1], "x" * 300)]
    for rows in (several_lines, too_wide, []):
        [only] = parts(_table(rows))
        assert isinstance(only, Table)
        assert _chars(console, _table(rows)) == _chars(console, only)


def test_a_row_must_have_a_cell_per_column() -> None:
    with pytest.raises(ValueError, match="3 cell"):
        _table([("a", "b", "c")])
