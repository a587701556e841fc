"""A pool process warms its connections before its first task (workers/warm_start.py):
every prepared statement is prepared and planned on the pooled connection, nothing is
written, and a database that does not answer only leaves the first task to connect."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts import db
from shelfops_alerts.config import Settings
from shelfops_alerts.stack.embedded import free_port

_PLANS = text("SELECT name, generic_plans FROM pg_prepared_statements")
_SWEEPS = text("SELECT count(*) FROM sweeps")
# A statement that writes whatever its arguments, and one that its NULL arguments make fail
# (after planning): the warm-up must write nothing, and go on past the failure.
_WRITES = db.prepared(
    "test_warm_writes",
    text(
        "INSERT INTO sweeps (task_id, customer_id, batch_size) "
        "VALUES ('warm', CAST(:customer AS text), 1)"
    ),
)
_FAILS = db.prepared(
    "test_warm_fails", text("SELECT 1 / coalesce(CAST(:divisor AS int), 0) AS quotient")
)


def test_warming_prepares_and_plans_every_statement_and_writes_nothing(
    tasks_app: Any, settings: Settings, empty_tables: sessionmaker[Session]
) -> None:
    # Given a new pool process's connection (the task modules imported, as at a worker's
    # start) on which nothing is prepared
    from workers.warm_start import warm_up

    db.dispose_engines()
    registered = set(db._PREPARED)
    assert {"check_stock", "read_sales", "persist_upsert", "publish_mark_and_read"} <= registered
    # When it warms up
    warmed = warm_up()
    # Then every statement of the process was prepared on the pooled connection, and
    # planned, the failing one included
    assert set(warmed) == registered
    from workers.tasks import context

    with context.sessions()() as session:
        plans = dict(session.execute(_PLANS).tuples().all())
        assert set(plans) == registered
        assert all(count == 1 for count in plans.values()), plans
        # And the statement that writes whatever its arguments wrote nothing
        assert session.execute(_SWEEPS).scalar_one() == 0
        # And a task on that connection runs a statement by name, without preparing it again
        assert db.execute_prepared(session, _FAILS, {"divisor": 4}).scalar_one() == 0
        assert dict(session.execute(_PLANS).tuples().all())["test_warm_fails"] == 2
    # And a second warm-up on the same connection has nothing left to do
    assert warm_up() == []


def test_a_database_that_does_not_answer_leaves_the_first_task_to_connect(
    tasks_app: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    # Given a pool process whose database cannot be reached
    from workers import warm_start

    db.dispose_engines()

    def unreachable() -> sessionmaker[Session]:
        return db.session_factory(replace(settings, database_url=_closed_port_url()), worker=True)

    monkeypatch.setattr(warm_start.context, "sessions", unreachable)
    # When it warms up in the background
    with caplog.at_level(logging.INFO, logger="workers.warm_start"):
        thread = warm_start.warm_up_in_background()
        thread.join(timeout=30)
    # Then the thread ends without raising, and says the first task will connect
    assert not thread.is_alive()
    assert "not warmed" in caplog.text


def _closed_port_url() -> str:
    return f"postgresql://shelfops@127.0.0.1:{free_port()}/shelfops"


@pytest.fixture()
def empty_tables(request: pytest.FixtureRequest) -> sessionmaker[Session]:
    """The suite's ``db`` fixture (empty tables) under a name that leaves ``db`` the module."""
    factory: sessionmaker[Session] = request.getfixturevalue("db")
    return factory
