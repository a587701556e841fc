"""Plain-text tables for the command line: each column as wide as its widest cell.

Every command that prints rows (``alerts list``, ``deliveries list``, ``silence list``, an
alert's history) prints them through :func:`print_table`, so a long value widens its column
instead of pushing the rest of its row out of line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Sequence

#: Space between two columns.
GAP = "  "


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (East Asian) characters take two,
    combining marks none."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def format_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    right: Collection[str] = (),
    indent: str = "",
) -> list[str]:
    """The header line and one line per row. ``None`` prints as an empty cell; columns named
    in ``right`` (numbers) are right-aligned; the last column is never padded, so no line
    ends in spaces."""
    cells = [list(headers)] + [[_cell(value) for value in row] for row in rows]
    if any(len(line) != len(headers) for line in cells):
        raise ValueError(f"every row needs {len(headers)} cells, one per header")
    widths = [max(display_width(line[n]) for line in cells) for n in range(len(headers))]
    lines = []
    for line in cells:
        padded = []
        for n, text in enumerate(line):
            fill = " " * (widths[n] - display_width(text))
            if headers[n] in right:
                padded.append(fill + text)
            elif n == len(headers) - 1:
                padded.append(text)
            else:
                padded.append(text + fill)
        lines.append(indent + GAP.join(padded).rstrip())
    return lines


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    right: Collection[str] = (),
    indent: str = "",
) -> None:
    """Print :func:`format_table`'s lines."""
    print("\n".join(format_table(headers, rows, right=right, indent=indent)))
