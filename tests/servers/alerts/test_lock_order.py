"""Two batches over the same SKUs never deadlock: alert rows are locked in one order.

Each batch runs in its own thread on its own connection to the real PostgreSQL, and both
start together (a barrier), as two workers persisting overlapping batches would.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import OperationalError

from shelfops_alerts.alerts.lifecycle import LifecyclePolicy
from shelfops_alerts.alerts.persist import persist_batch
from shelfops_alerts.detect.checks import BatchResult
from shelfops_alerts.detect.rules import Finding
from shelfops_alerts.outages.faults import sqlstate
from shelfops_alerts.skus import Sku
from tests.support.data import rows
from tests.support.lifecycle_data import clear_silences

C = "acme"
STOCKOUT = "stockout_predicted"
POLICY = LifecyclePolicy(resolve_after_checks=5, reopen_within_s=3600)
#: Enough rows that two statements over them overlap in time on any machine.
SKUS = [Sku(f"S{n // 100:02d}", f"P{n % 100:02d}") for n in range(1500)]
ROUNDS = 4


@pytest.fixture(autouse=True)
def _no_silences(db):
    clear_silences(db)
    yield
    clear_silences(db)


def batch(found: list[Sku], clean: list[Sku], message: str) -> BatchResult:
    """A check that found ``found`` at risk (in that order) and ``clean`` not."""
    findings = [
        Finding(s.store_id, s.product_id, STOCKOUT, "high", message, {"days": 1.5}) for s in found
    ]
    evaluated = [(s, STOCKOUT) for s in [*found, *clean]]
    return BatchResult(customer_id=C, evaluated=evaluated, findings=findings)


def persist_together(db, first: BatchResult, second: BatchResult) -> list[BaseException]:
    """Persist both batches at the same moment, each in its own transaction; their errors."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(checked: BatchResult) -> None:
        try:
            with db.begin() as session:
                start.wait()
                persist_batch(session, batch=checked, policy=POLICY)
        except BaseException as exc:  # noqa: BLE001 - the test reports every one
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(checked,)) for checked in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def deadlocks(errors: list[BaseException]) -> list[BaseException]:
    return [e for e in errors if isinstance(e, OperationalError) and sqlstate(e) == "40P01"]


def test_two_batches_over_the_same_skus_in_opposite_orders_do_not_deadlock(db):
    # Given an open alert on each of 1,500 SKUs
    persist_batch_alone(db, batch(SKUS, [], "runs out"))

    for round_no in range(ROUNDS):
        # When two workers persist new findings for all of them at once, one batch listing
        # the SKUs in ascending and the other in descending order
        errors = persist_together(
            db,
            batch(SKUS, [], f"ascending {round_no}"),
            batch(list(reversed(SKUS)), [], f"descending {round_no}"),
        )

        # Then neither is chosen as a deadlock victim (40P01), and both committed
        assert not deadlocks(errors), f"round {round_no}: {deadlocks(errors)[0]}"
        assert not errors
    assert len(rows(db, "SELECT id FROM alerts WHERE status = 'open'")) == len(SKUS)


def test_one_batch_finding_what_another_clears_does_not_deadlock(db):
    # Given an open alert on each of 1,500 SKUs
    persist_batch_alone(db, batch(SKUS, [], "runs out"))
    low, high = SKUS[: len(SKUS) // 2], SKUS[len(SKUS) // 2 :]

    for round_no in range(ROUNDS):
        # When one worker finds the first half at risk and the second half clear, while
        # another (its stock read a moment later) finds the opposite: each batch updates
        # some rows and counts clean checks on the others
        errors = persist_together(
            db,
            batch(low, high, f"first {round_no}"),
            batch(high, low, f"second {round_no}"),
        )

        # Then neither deadlocks, and both committed
        assert not deadlocks(errors), f"round {round_no}: {deadlocks(errors)[0]}"
        assert not errors


def persist_batch_alone(db, checked: BatchResult) -> None:
    with db.begin() as session:
        persist_batch(session, batch=checked, policy=POLICY)
