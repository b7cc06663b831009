"""Tables of many one-line rows, printed at the cost of their text.

Owns: :class:`LineTable`, which prints what ``rich.table.Table`` prints (the default heavy-headed
box, a centred title, cells padded by one space, columns as wide as their widest cell) for a
table whose cells each fit on one line, without measuring and rendering every cell as a
renderable of its own: rich spends about half a millisecond a row on that, and ``monitor poll
--once --all`` prints a row per feed. A table that does not fit so (a cell of several lines,
one wider than the console) is given to rich's own table, which wraps it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from rich.box import HEAVY_HEAD
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

#: A cell without these characters is its own text: no markup, emoji code, escape or control
#: character for rich to interpret (a cell with any is converted by rich, as a table does).
_INTERPRETED = re.compile(r"[\[\]:\\\x00-\x1f\x7f]")


class LineTable:
    """Rows of console markup under a title, printed as rich prints its ``Table`` of them
    (every column ``overflow="fold"``)."""

    def __init__(self, title: str, columns: Sequence[str]) -> None:
        self.title = title
        self.columns = tuple(columns)
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cell(s) in a table of {len(self.columns)}")
        self.rows.append(cells)

    def rich_table(self) -> Table:
        """The same table as rich's own (printed when a row does not fit on one line)."""
        table = Table(title=self.title)
        for name in self.columns:
            table.add_column(name, overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        texts = [[_text(console, cell) for cell in row] for row in self.rows]
        headers = [Text(name) for name in self.columns]
        widths = [cell_len(h.plain) for h in headers]
        for row in texts:
            for k, text in enumerate(row):
                if "\n" in text.plain or "\t" in text.plain:
                    yield self.rich_table()
                    return
                widths[k] = max(widths[k], cell_len(text.plain))
        widths = [w + 2 for w in widths]  # a space either side
        table_width = sum(widths) + len(widths) + 1  # and the borders
        if not self.rows or table_width > options.max_width:
            yield self.rich_table()
            return
        yield from console.render(
            console.render_str(self.title, style="table.title", highlight=False),
            options.update(width=table_width, highlight=False, height=None, justify="center"),
        )
        yield from self._lines(console, options, widths, texts)

    def _lines(
        self,
        console: Console,
        options: ConsoleOptions,
        widths: list[int],
        texts: list[list[Text]],
    ) -> Iterator[Segment]:
        box = HEAVY_HEAD.substitute(options, safe=console.safe_box)
        border = console.get_style("")
        header = console.get_style("table.header")
        new_line = Segment.line()
        yield Segment(box.get_top(widths), border)
        yield new_line
        yield Segment(box.head_left, border)
        for k, (name, width) in enumerate(zip(self.columns, widths, strict=True)):
            if k:
                yield Segment(box.head_vertical, border)
            yield Segment(f" {name}{' ' * (width - 1 - cell_len(name))}", header)
        yield Segment(box.head_right, border)
        yield new_line
        yield Segment(box.get_row(widths, "head", edge=True), border)
        yield new_line
        last = len(texts) - 1
        for index, row in enumerate(texts):
            left, divider, right = (
                (box.foot_left, box.foot_vertical, box.foot_right)
                if index == last
                else (box.mid_left, box.mid_vertical, box.mid_right)
            )
            if border == Style.null() and all(not t.spans and not t.style for t in row):
                # nothing styled: the row is one segment
                yield Segment(
                    left
                    + divider.join(
                        f" {t.plain}{' ' * (w - 1 - cell_len(t.plain))}"
                        for t, w in zip(row, widths, strict=True)
                    )
                    + right
                )
                yield new_line
                continue
            yield Segment(left, border)
            for k, (text, width) in enumerate(zip(row, widths, strict=True)):
                if k:
                    yield Segment(divider, border)
                yield Segment(" ")
                yield from text.render(console)
                yield Segment(" " * (width - 1 - cell_len(text.plain)))
            yield Segment(right, border)
            yield new_line
        yield Segment(box.get_bottom(widths), border)
        yield new_line


def _text(console: Console, cell: str) -> Text:
    """``cell`` as rich's table makes it (markup and emoji codes interpreted)."""
    if _INTERPRETED.search(cell) is None:
        return Text(cell)
    return console.render_str(cell, highlight=False)
