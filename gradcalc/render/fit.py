"""Tables that fit the console: the table when it fits, else one block per row.

A table wider than the console would have rich squeeze its columns until it
cuts numbers (``-0.196…``) and formulas (``x0*exp…``) with an ellipsis.  A
:class:`Fitted` table is printed as it is whenever its natural width fits (so
wide terminals, files and pipes see the same table as before); otherwise each
row becomes a block: its title on one line, then its fields (a short label and
the whole cell: ``value -2``, ``∂f/∂q 0.196612``) filled onto indented lines,
broken only between fields.  A field too long for a line (a SymPy derivative)
wraps at its spaces, never with an ellipsis.  Numbers hold no spaces, so none
is ever split or cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .escape import terminal

SEPARATOR = "   "  # between the fields of a block's line
INDENT = 2  # the fields of a block, under its title
# Wide enough to measure any table at its natural width (measuring clamps to the width offered).
MEASURE_WIDTH = 100_000


@dataclass(frozen=True)
class Block:
    """One row of a table laid out for a narrow console: a title, then its fields."""

    title: str
    fields: Sequence[str] = field(default_factory=tuple)
    style: str = "bold"
    # Fields that start lines of their own, after the others (a formula).
    tail: Sequence[str] = field(default_factory=tuple)


def natural_width(console: Console, options: ConsoleOptions, table: Table) -> int:
    """How many columns ``table`` takes when nothing in it has to wrap."""
    return Measurement.get(console, options.update_width(MEASURE_WIDTH), table).maximum


def fits(console: Console, options: ConsoleOptions, table: Table) -> bool:
    """Whether rich lays ``table`` out in the console's width with room in each column for its longest word.

    Then a cell wraps between words at the most: no number and no word of a
    formula or a header is cut.  (Rich itself narrows columns below their
    longest word, then cuts it with an ellipsis.)
    """
    if natural_width(console, options, table) <= options.max_width:
        return True
    inner = options.update_width(options.max_width - table._extra_width)  # as Table.__rich_console__ does
    widths = table._calculate_column_widths(console, inner)
    if sum(widths) + table._extra_width > options.max_width:
        return False
    return all(
        width >= table._measure_column(console, options, column).minimum
        for width, column in zip(widths, table.columns, strict=True)
    )


class Fitted:
    """``table`` when it fits the console's width, else its title and ``blocks()``, one per row."""

    def __init__(self, table: Table, blocks: Callable[[], Iterable[Block]] | None = None) -> None:
        self.table = table
        self.blocks = blocks if blocks is not None else lambda: row_blocks(table)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if fits(console, options, self.table):
            yield self.table
            return
        title = self.table.title
        if title:
            yield title if isinstance(title, Text) else Text(terminal(str(title)))
        for block in self.blocks():
            yield Text(terminal(block.title), style=block.style, overflow="fold")
            lines = fill(block.fields, width - INDENT, console)
            for text in block.tail:
                lines += fill([text], width - INDENT, console)
            for line in lines:
                yield Padding(Text(terminal(line), overflow="fold"), (0, 0, 0, INDENT), expand=False)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, min(options.max_width, natural_width(console, options, self.table)))


def fill(fields: Iterable[str], width: int, console: Console) -> list[str]:
    """The fields on as few lines of ``width`` columns as fit, broken only between fields.

    A field longer than a line gets lines of its own, broken at its spaces
    (a word longer than a line, at the width).
    """
    lines: list[str] = []
    line = ""
    for text in (f for f in fields if f):
        if line and cell_len(line + SEPARATOR + text) <= width:
            line += SEPARATOR + text
            continue
        if line:
            lines.append(line)
        if cell_len(text) <= width:
            line = text
            continue
        wrapped = [part.plain.rstrip() for part in Text(text).wrap(console, max(width, 1))]
        lines.extend(wrapped[:-1])
        line = wrapped[-1]
    if line:
        lines.append(line)
    return lines


def cell_text(cell: object) -> str:
    """A table cell as one line of plain text: its lines joined by commas."""
    text = cell.plain if isinstance(cell, Text) else str(cell) if cell is not None else ""
    return ", ".join(part.strip() for part in text.splitlines() if part.strip())


def row_blocks(table: Table, labels: Sequence[str] | None = None) -> list[Block]:
    """Any table's rows as blocks: the first cell as the title, then ``label cell`` for each other cell.

    ``labels`` are short names for the columns (default: their headers, on one line).
    """
    columns = table.columns
    names = list(labels) if labels is not None else [cell_text(c.header) for c in columns]
    cells = [list(c.cells) for c in columns]
    blocks = []
    title = ""
    for row in range(table.row_count):
        texts = [cell_text(column[row]) for column in cells]
        title = texts[0] or title  # a row that continues the one above (another answer to one problem)
        fields = [f"{name} {text}" if name else text for name, text in zip(names[1:], texts[1:], strict=True) if text]
        blocks.append(Block(title, fields))
    return blocks
