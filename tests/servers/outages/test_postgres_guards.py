"""A worker's connections to PostgreSQL: timeouts set, and no wait without a deadline."""

from __future__ import annotations

import dataclasses
import time

import psycopg2.extensions
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shelfops_alerts.db import dispose_engines, session_factory
from shelfops_alerts.outages.faults import transient_reason
from shelfops_alerts.outages.postgres import answer_deadline_s, guard_waits
from tests.support.stalls import postgres_pids, stopped


@pytest.fixture()
def guarded(settings):
    """This process waits on PostgreSQL as a worker does (a 1 s statement timeout), until the
    test ends; the CLI's plain waits (and COPY) come back after it."""
    fast = dataclasses.replace(settings, db_statement_timeout_s=1.0, db_lock_timeout_s=0.5)
    guard_waits(fast)
    yield fast
    psycopg2.extensions.set_wait_callback(None)
    dispose_engines()


def test_a_workers_connections_carry_statement_and_lock_timeouts(settings):
    # Given the workers' session factory, When a worker connects
    with session_factory(settings, worker=True)() as session:
        shown = {
            name: session.execute(text(f"SHOW {name}")).scalar_one()
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        }
    # Then its session has the configured timeouts (30 s and 10 s by default)
    assert shown == {
        "statement_timeout": "30s",
        "lock_timeout": "10s",
        "idle_in_transaction_session_timeout": "1min",
    }
    # And the CLI's sessions have none (an import may run as long as it needs)
    with session_factory(settings)() as session:
        assert session.execute(text("SHOW statement_timeout")).scalar_one() == "0"


def test_a_stalled_postgres_is_a_transient_fault_within_the_deadline(stack, guarded):
    # Given a worker's session factory with a pooled, working connection
    factory = session_factory(guarded, worker=True)
    with factory() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1

    # When PostgreSQL stops answering (every one of its processes stopped)
    began = time.monotonic()
    stall = stopped(postgres_pids(stack), at_most_s=10)
    with stall, pytest.raises(OperationalError) as raised, factory() as session:
        session.execute(text("SELECT 1"))
    waited = time.monotonic() - began

    # Then the worker gives up within its deadline (the pooled connection's, then a new
    # connection's), instead of waiting for as long as the server is stopped
    assert waited < 3 * answer_deadline_s(guarded) < 10
    assert transient_reason(raised.value) == "connection lost"
    # And once the server answers again, the next attempt works
    with factory() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
