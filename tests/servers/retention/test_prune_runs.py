"""How a prune run behaves beside the pipeline: it never waits on a row a worker holds,
stops at its time budget, runs once at a time, and folds the metrics' count changes."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shelfops_alerts.db import get_engine
from shelfops_alerts.retention.prune import prune
from tests.servers.retention.test_prune_tables import POLICY, alert, change, delivery, ids, run
from tests.support.data import rows, today


def old_sent_deliveries(db, n: int) -> list[int]:
    a = alert(db, "P1")
    h = change(db, a, 100)
    return [delivery(db, a, h, "sent", 40 + i) for i in range(n)]


def test_a_row_another_transaction_holds_is_left_for_the_next_run_not_waited_for(db, settings):
    held, *others = old_sent_deliveries(db, 3)
    with get_engine(settings).connect() as worker:
        # Given a worker holding one of the old rows in an open transaction
        worker.execute(text("SELECT 1 FROM email_deliveries WHERE id = :i FOR UPDATE"), {"i": held})
        # When a prune runs
        started = time.monotonic()
        report = run(settings)
        # Then it deleted the others at once and left the held one
        assert time.monotonic() - started < 5
        assert ids(db, "email_deliveries") == {held}
        assert report.deleted["email_deliveries"] == 2
        worker.rollback()
    # And the next run takes it
    run(settings)
    assert ids(db, "email_deliveries") == set()


def test_a_run_stops_at_its_budget_and_the_next_goes_on(db, settings):
    old_sent_deliveries(db, 10)

    # Given a run that is out of time after its first batch of 4
    def clock() -> float:
        return 0.0 if len(ids(db, "email_deliveries")) == 10 else 2.0

    report = run(settings, batch=4, budget_s=1.0, clock=clock)
    assert report.deleted["email_deliveries"] == 4
    assert report.unfinished == ["email_deliveries"]
    # Then the next run deletes the rest
    again = run(settings)
    assert again.deleted["email_deliveries"] == 6 and not again.unfinished


def test_a_second_run_while_one_works_does_nothing(db, settings):
    old_sent_deliveries(db, 2)
    with get_engine(settings).connect() as other:
        other.execute(text("SELECT pg_advisory_lock(x'5E1FDE1E'::int)"))
        report = run(settings)
        other.execute(text("SELECT pg_advisory_unlock(x'5E1FDE1E'::int)"))
        other.commit()
    assert report.skipped and report.deleted == {}
    assert len(ids(db, "email_deliveries")) == 2


def test_the_metrics_count_changes_are_folded_even_without_a_scrape(db, settings):
    # Given many statements' count changes (each delivery insert appends one)
    old_sent_deliveries(db, 30)
    [(before,)] = rows(db, "SELECT count(*) FROM delivery_counts")
    assert before >= 30
    # When a prune runs (and deletes the 30 old deliveries)
    run(settings)
    # Then one row per status is left, and the counts are right
    assert rows(db, "SELECT status, n FROM delivery_counts") == []
    assert prune(get_engine(settings), POLICY, today=today()).deleted["email_deliveries"] == 0


def test_a_run_whose_connection_dies_reports_that_and_leaves_no_lock_behind(db, settings):
    old_sent_deliveries(db, 10)
    engine = get_engine(settings)
    cut: list[bool] = []

    # Given a run whose database connection is cut after its first batch (a restart, a
    # failover): the run's own backend is the one holding the prune's lock
    def clock() -> float:
        if not cut and len(ids(db, "email_deliveries")) < 10:
            with engine.connect() as admin:
                admin.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks"
                        " WHERE locktype = 'advisory' AND objid = x'5E1FDE1E'::int::oid"
                    )
                )
            cut.append(True)
        return 0.0

    # When it runs, it stops at the lost connection and says so (it does not go on, on a
    # new connection without the lock, beside a run that may start meanwhile)
    with pytest.raises(OperationalError) as lost:
        prune(engine, POLICY, today=today(), batch=4, clock=clock)
    assert lost.value.connection_invalidated and ids(db, "email_deliveries")
    # Then the next run is not refused for a lock nobody holds, and finishes the work
    again = run(settings)
    assert not again.skipped and ids(db, "email_deliveries") == set()
