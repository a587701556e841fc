"""How a ``text()`` statement becomes a PREPARE and an EXECUTE (no server needed)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shelfops_alerts.db import prepared, runs_prepared
from shelfops_alerts.intake.events import MAX_EVENT_SKUS


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


def test_every_batch_given_by_key_runs_prepared_and_a_span_never() -> None:
    # Given batches as the pipeline makes them: an event's few SKUs, the most an event may
    # name, a sweep's page read by a span of keys, and more than any event holds
    # Then every batch given by key runs prepared, a span's page and anything larger do not
    assert runs_prepared(1)
    assert runs_prepared(MAX_EVENT_SKUS)
    assert not runs_prepared(5000, by_span=True)
    assert not runs_prepared(MAX_EVENT_SKUS + 1)
