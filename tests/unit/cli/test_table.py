"""CLI tables: each column as wide as its widest cell, so rows stay in line."""

from __future__ import annotations

import pytest

from shelfops_alerts.cli.table import display_width, format_table


def column_starts(line: str, cells: list[str]) -> list[int]:
    starts, position = [], 0
    for cell in cells:
        position = line.index(cell, position)
        starts.append(position)
        position += len(cell)
    return starts


def test_a_long_cell_widens_its_column_and_every_row_stays_in_line():
    # Given a row whose customer id is far longer than its header
    long_id = "customer-with-a-very-long-identifier-0123456789"
    rows = [(7, long_id, "S1/P1", "low stock"), (12345, "acme", "S2/P22", "empty")]
    # When the table is formatted
    header, first, second = format_table(("ID", "CUSTOMER", "SKU", "MESSAGE"), rows, right={"ID"})
    # Then every column starts at the same place on every line
    starts = column_starts(header, ["ID", "CUSTOMER", "SKU", "MESSAGE"])
    assert column_starts(first, ["7", long_id, "S1/P1", "low stock"])[1:] == starts[1:]
    assert column_starts(second, ["12345", "acme", "S2/P22", "empty"])[1:] == starts[1:]
    # And numbers are right-aligned, the last column unpadded, no line ends in spaces
    assert first.startswith("    7  ") and second.startswith("12345  ")
    assert all(line == line.rstrip() for line in (header, first, second))


def test_columns_are_no_wider_than_their_content():
    lines = format_table(("A", "B"), [("x", "y")])
    assert lines == ["A  B", "x  y"]


def test_none_is_an_empty_cell_and_wide_characters_count_twice():
    lines = format_table(("NAME", "NOTE"), [("東京店", None), ("shop", "ok")])
    assert lines == ["NAME    NOTE", "東京店", "shop    ok"]
    assert display_width("東京店") == 6


def test_a_row_with_the_wrong_number_of_cells_is_refused():
    with pytest.raises(ValueError, match="2 cells"):
        format_table(("A", "B"), [("only one",)])
