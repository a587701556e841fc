"""Prepared statements on a real PostgreSQL: prepared once per connection, prepared again
on a new connection (a restart, a failover), and after the server forgot them."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from shelfops_alerts import db
from shelfops_alerts.config import Settings
from shelfops_alerts.outages.faults import transient_reason

_ADD = db.prepared(
    "test_add", text("SELECT CAST(:a AS int) + CAST(:b AS int) AS total, CAST(:a AS int) AS a")
)
_KNOWN = text("SELECT count(*) FROM pg_prepared_statements WHERE name = 'test_add'")


def test_a_statement_is_prepared_once_per_connection_and_survives_a_rollback(
    settings: Settings,
) -> None:
    # Given a worker's session (on a new connection) that ran a prepared statement in a
    # transaction rolled back
    db.dispose_engines()
    factory = db.session_factory(settings, worker=True)
    with factory() as session:
        assert db.execute_prepared(session, _ADD, {"a": 2, "b": 3}).one().total == 5
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        session.rollback()
    # When the next session on the same connection runs it again
    with factory() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
        row = db.execute_prepared(session, _ADD, {"a": 4, "b": 1}).one()
        # Then it runs by name, prepared once on that connection
        assert (row.total, row.a) == (5, 4)
        assert session.execute(_KNOWN).scalar_one() == 1


def test_a_new_connection_prepares_the_statement_again(settings: Settings) -> None:
    # Given a prepared statement run on a connection whose backend is then terminated
    factory = db.session_factory(settings, worker=True, autocommit=True)
    with factory() as session:
        db.execute_prepared(session, _ADD, {"a": 1, "b": 1})
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.get_engine(settings).connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.dispose_engines()
    # When a session on a fresh connection runs it
    with db.session_factory(settings, worker=True, autocommit=True)() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
        # Then it is prepared there first, and answers
        assert db.execute_prepared(session, _ADD, {"a": 6, "b": 7}).scalar_one() == 13
        assert session.execute(_KNOWN).scalar_one() == 1


def test_statements_the_server_forgot_fail_once_as_transient_then_are_prepared_again(
    settings: Settings,
) -> None:
    # Given a connection on which the statement is prepared, then DISCARD ALL (as a
    # connection pooler would run) drops it on the server
    db.dispose_engines()
    factory = db.session_factory(settings, worker=True, autocommit=True)
    with factory() as session:
        db.execute_prepared(session, _ADD, {"a": 1, "b": 1})
        session.execute(text("DISCARD ALL"))
        # When it is run again
        with pytest.raises(exc.DBAPIError) as failed:
            db.execute_prepared(session, _ADD, {"a": 1, "b": 2})
        # Then the fault is one a task retries
        assert transient_reason(failed.value) is not None
    # And the retry prepares it again on the same connection
    with factory() as session:
        assert db.execute_prepared(session, _ADD, {"a": 1, "b": 2}).scalar_one() == 3


def test_unprepared_runs_the_same_statement_as_it_is(settings: Settings) -> None:
    # Given a statement never prepared
    plain = db.prepared("test_plain", text("SELECT CAST(:a AS int) * 2"))
    with db.session_factory(settings, worker=True)() as session:
        # When it runs unprepared (a sweep's batch), Then it answers, and is not prepared
        assert db.execute_prepared(session, plain, {"a": 2}, prepare=False).scalar_one() == 4
        known = text("SELECT count(*) FROM pg_prepared_statements WHERE name = 'test_plain'")
        assert session.execute(known).scalar_one() == 0


def test_a_connection_found_dead_at_prepare_is_dropped_and_the_retry_gets_a_new_one(
    settings: Settings,
) -> None:
    # Given a pooled connection whose backend was terminated moments ago (no ping: used
    # within the idle threshold), and a statement not yet prepared on it
    db.dispose_engines()
    fresh = db.prepared("test_after_kill", text("SELECT CAST(:a AS int) + 1"))
    factory = db.session_factory(settings, worker=True, autocommit=True)
    with factory() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.get_engine(settings).connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    # When the statement is prepared on it
    with factory() as session, pytest.raises(exc.DBAPIError) as failed:
        db.execute_prepared(session, fresh, {"a": 1})
    # Then the fault is one a task retries
    assert transient_reason(failed.value) is not None
    # And the retry runs on a new connection, where the statement is prepared and answers
    with factory() as session:
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
        assert db.execute_prepared(session, fresh, {"a": 1}).scalar_one() == 2
