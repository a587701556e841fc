"""How a ``text()`` statement becomes a PREPARE and an EXECUTE (no server needed)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shelfops_alerts.db import prepared


def test_parameters_are_numbered_by_first_appearance_and_casts_are_left_alone() -> None:
    # Given a statement using :b twice, :a once, and a PostgreSQL cast (as SQLAlchemy's text()
    # reads it: a name right before "::" is no parameter, so casts are spelled CAST)
    statement = prepared("unit_numbering", text("SELECT CAST(:b AS int) + :a, :b, 'x'::text"))
    # Then the PREPARE numbers them in that order, and the EXECUTE passes them by name
    assert statement.prepare_sql == (
        "PREPARE unit_numbering AS SELECT CAST($1 AS int) + $2, $1, 'x'::text"
    )
    assert statement.execute_sql.text == "EXECUTE unit_numbering(:b, :a)"


def test_a_statement_without_parameters_is_executed_without_a_list() -> None:
    assert prepared("unit_bare", text("SELECT 1")).execute_sql.text == "EXECUTE unit_bare"


def test_one_name_cannot_stand_for_two_statements() -> None:
    prepared("unit_twice", text("SELECT 1"))
    # The same statement again is the same prepared statement
    prepared("unit_twice", text("SELECT 1"))
    with pytest.raises(ValueError, match="unit_twice"):
        prepared("unit_twice", text("SELECT 2"))
