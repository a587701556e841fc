"""Sweeps on the real pipeline: exactly the at-risk SKUs, one sweep at a time, any batch size.

Sweeps are started as beat and the CLI start them: ``shelfops.sweep_all_skus`` sent by name
to the real workers; the sweep's row, the alerts and the sweep lock are read back.
"""

from __future__ import annotations

import json

import pytest
import redis
from sqlalchemy import text

from shelfops_alerts.intake.client import _producer, send_event
from shelfops_alerts.stack import processes
from shelfops_alerts.sweeps.lock import LOCK_KEY, OUTCOME_KEY, lock_holder
from tests.integration.conftest import wait_idle, worker_env
from tests.support.data import put_rule_settings, put_skus, rows
from tests.support.waiting import wait_until

SWEEP = "shelfops.sweep_all_skus"
#: Two customers, 3,000 SKUs; every 23rd SKU is at risk, with a severity by its index.
CATALOGUE = {
    "acme": [(f"S{n // 100:02d}", f"P{n % 100:03d}") for n in range(2000)],
    "globex": [(f"G{n // 50:02d}", f"Q{n % 50:03d}") for n in range(1000)],
}
#: The first third of each customer's SKUs (1,000 SKUs, 45 at risk), for the tests that sweep
#: many times or in tiny batches: what they prove does not depend on the catalogue's size,
#: and each of their sweeps costs a third.
SMALL_CATALOGUE = {
    "acme": CATALOGUE["acme"][:700],
    "globex": CATALOGUE["globex"][:300],
}
#: index % 3 → (on hand, expected severity) at a flat demand of 10/day
RISK = {0: (5.0, "critical"), 1: (15.0, "high"), 2: (25.0, "medium")}


def plan(index: int) -> tuple[float, str | None]:
    if index % 23 != 0:
        return 500.0, None
    return RISK[(index // 23) % 3]


def load_catalogue(db, catalogue=CATALOGUE) -> dict[tuple[str, str, str], str]:
    """Write the catalogue; returns the expected alerts, (customer, store, product) → severity."""
    expected = {}
    for customer, skus in catalogue.items():
        put_skus(db, customer, [(s, p, plan(i)[0], 10.0) for i, (s, p) in enumerate(skus)])
        for i, (s, p) in enumerate(skus):
            if plan(i)[1] is not None:
                expected[(customer, s, p)] = plan(i)[1]
    return expected


@pytest.fixture()
def sweeps(pipeline, settings):
    """The pipeline with no sweep rows and no sweep lock."""
    with pipeline.begin() as session:
        session.execute(text("TRUNCATE sweeps, sweep_batches RESTART IDENTITY CASCADE"))
    redis.Redis.from_url(settings.redis_url.reveal()).delete(LOCK_KEY)
    return pipeline


def start_sweep(settings, **payload) -> str:
    return send_event(SWEEP, payload, settings=settings)


def outcome(settings, task_id: str) -> dict:
    client = redis.Redis.from_url(settings.redis_url.reveal())
    raw = wait_until(lambda: client.get(OUTCOME_KEY.format(task_id)), 30, "the sweep to start")
    return json.loads(raw)


def finished_sweep(db, sweep_id: int, timeout: float = 90) -> object:
    def done():
        found = rows(db, "SELECT * FROM sweeps WHERE id = :i AND status = 'finished'", i=sweep_id)
        return found[0] if found else None

    return wait_until(done, timeout, f"sweep #{sweep_id} to finish")


def active_alerts(db) -> dict[tuple[str, str, str], str]:
    found = rows(
        db,
        "SELECT customer_id, store_id, product_id, severity FROM alerts"
        " WHERE status IN ('open', 'acknowledged')",
    )
    return {(a.customer_id, a.store_id, a.product_id): a.severity for a in found}


def test_a_sweep_finds_exactly_the_at_risk_skus_and_records_itself(sweeps, settings):
    # Given 3,000 SKUs of two customers, 131 of them at risk
    db = sweeps
    expected = load_catalogue(db)
    assert len(expected) == 131

    # When a sweep runs (batches of 50, as the test workers are configured)
    started = outcome(settings, start_sweep(settings))
    assert started["status"] == "started"
    sweep = finished_sweep(db, started["sweep_id"])

    # Then exactly the at-risk SKUs have an alert, with the expected severity
    assert active_alerts(db) == expected
    # And the sweep's row accounts for every SKU and batch, and the lock is free again
    assert sweep.skus_total == sweep.skus_checked == 3000
    assert sweep.batches_queued == sweep.batches_done == 40 + 20
    assert sweep.batches_failed == 0
    assert sweep.alerts_created == 131
    assert (sweep.alerts_updated, sweep.alerts_escalated, sweep.alerts_resolved) == (0, 0, 0)
    assert sweep.finished_at >= sweep.queued_at >= sweep.started_at
    assert lock_holder(redis.Redis.from_url(settings.redis_url.reveal())) is None
    wait_idle(settings)


def test_a_second_sweep_while_one_runs_is_refused_and_nothing_is_done_twice(sweeps, settings):
    # Given a sweep of 1,000 SKUs in tiny batches (200 chains), so it is still running a while
    db = sweeps
    expected = load_catalogue(db, SMALL_CATALOGUE)
    first = start_sweep(settings, batch_size=5)
    assert outcome(settings, first)["status"] == "started"

    # When a second sweep (a second beat, or an impatient operator) starts meanwhile
    second = start_sweep(settings)

    # Then it is refused, naming the running sweep as the holder of the lock
    assert outcome(settings, second) == {"status": "refused", "holder": first}
    # And the first sweep finishes alone: one row, each SKU checked once, no alert twice
    sweep_id = outcome(settings, first)["sweep_id"]
    sweep = finished_sweep(db, sweep_id)
    assert rows(db, "SELECT count(*) FROM sweeps")[0][0] == 1
    assert sweep.skus_checked == 1000 and sweep.batches_done == 200
    assert (
        rows(db, "SELECT count(*) FROM sweep_batches WHERE sweep_id = :i", i=sweep_id)[0][0] == 200
    )
    assert active_alerts(db) == expected
    created = rows(db, "SELECT count(*) FROM alert_history WHERE event = 'created'")[0][0]
    assert created == len(expected)
    wait_idle(settings)


def sweep_twice(db, settings, batch_size: int) -> tuple[list, list]:
    """Sweep a first state, change stock, sweep twice more; the alerts and every sweep's counts."""
    with db.begin() as session:
        session.execute(text("TRUNCATE alerts, sweeps RESTART IDENTITY CASCADE"))
    load_catalogue(db, SMALL_CATALOGUE)
    first = outcome(settings, start_sweep(settings, batch_size=batch_size))
    finished_sweep(db, first["sweep_id"])
    # Some at-risk SKUs recover, some get worse, some safe ones become at risk
    with db.begin() as session:
        session.execute(
            text(
                "UPDATE inventory SET on_hand = CASE"
                " WHEN on_hand = 25 THEN 5"  # medium → critical (escalated)
                " WHEN on_hand = 15 THEN 500"  # high → safe (resolved)
                " WHEN on_hand = 5 THEN 6"  # critical stays critical, new message (updated)
                " ELSE 15 END"  # a few safe ones become high (created)
                " WHERE on_hand <> 500 OR product_id IN ('P007', 'Q007')"
            )
        )
    # Two sweeps after the change: a recovered SKU may need two clean checks to resolve
    for _ in range(2):
        later = outcome(settings, start_sweep(settings, batch_size=batch_size))
        finished_sweep(db, later["sweep_id"])
    alerts = rows(
        db,
        "SELECT customer_id, store_id, product_id, alert_type, severity, status, message,"
        " metadata FROM alerts ORDER BY customer_id, store_id, product_id, status",
    )
    counts = rows(
        db,
        "SELECT skus_checked, alerts_created, alerts_updated, alerts_escalated,"
        " alerts_resolved, batches_failed FROM sweeps ORDER BY id",
    )
    return alerts, counts


def test_results_are_identical_whatever_the_batch_size(sweeps, settings):
    # Given the same catalogue (1,000 SKUs of two customers) and the same change of stock
    # between two sweeps
    db = sweeps
    # When both sweeps run in batches of 7, 50 and 1,000 SKUs
    results = {size: sweep_twice(db, settings, size) for size in (7, 50, 1000)}

    # Then the alerts and every sweep's counts are the same for each batch size
    alerts, counts = results[50]
    assert results[7] == results[1000] == (alerts, counts)
    # And the sweeps after the change did changes of every kind (so the comparison means
    # something), each checking every SKU
    assert [c.skus_checked for c in counts] == [1000, 1000, 1000]
    assert min(sum(c.alerts_created for c in counts[1:]), counts[1].alerts_updated) > 0
    assert min(counts[1].alerts_escalated, sum(c.alerts_resolved for c in counts[1:])) > 0
    wait_idle(settings)


def test_a_failed_batch_is_counted_and_the_sweep_still_finishes(sweeps, settings):
    # Given the catalogue plus a third customer whose stored rule settings are invalid
    # (written past the import's validation), so the check of its one batch fails
    db = sweeps
    load_catalogue(db)
    put_skus(db, "broken", [("B1", f"X{n:03d}", 5.0, 10.0) for n in range(50)])
    with db.begin() as session:
        put_rule_settings(session, "broken", history_days=0)

    # When a sweep runs
    sweep = finished_sweep(db, outcome(settings, start_sweep(settings))["sweep_id"])

    # Then the sweep finishes anyway, with that one batch counted as failed, and the lock free
    assert (sweep.batches_queued, sweep.batches_done, sweep.batches_failed) == (61, 61, 1)
    assert sweep.skus_checked == 3000
    assert rows(db, "SELECT count(*) FROM alerts WHERE customer_id = 'broken'")[0][0] == 0
    assert lock_holder(redis.Redis.from_url(settings.redis_url.reveal())) is None
    wait_idle(settings)


def test_a_sweep_whose_holder_is_killed_releases_its_lock_by_ttl(
    sweeps, settings, base_env, worker_logs
):
    # Given a worker of its own (a private queue, a 3 s lock TTL) sweeping in batches of 1
    db = sweeps
    load_catalogue(db)
    env = worker_env(base_env, SHELFOPS_SWEEP_LOCK_TTL_S="3")
    sweeper = processes.worker(
        name="sweeper", queues="sweeper", concurrency=1, env=env, log_dir=worker_logs
    ).start()
    try:
        processes.wait_for_workers(settings.redis_url.reveal(), ["sweeper"])
        task = _producer(settings.redis_url.reveal()).send_task(
            SWEEP, kwargs={"batch_size": 1}, queue="sweeper", ignore_result=True
        )
        sweep_id = outcome(settings, task.id)["sweep_id"]
        wait_until(
            lambda: rows(db, "SELECT count(*) FROM sweep_batches")[0][0] > 0,
            30,
            "the first batches to complete",
        )
        client = redis.Redis.from_url(settings.redis_url.reveal())
        assert lock_holder(client) == task.id

        # When the sweeper is SIGKILLed while it is still queueing
        sweeper.kill()
    finally:
        sweeper.stop()

    # Then its sweep never finishes queueing, yet the lock expires (TTL) once the batches
    # already queued are done renewing it
    wait_until(lambda: lock_holder(client) is None, 60, "the dead sweep's lock to expire")
    dead = rows(db, "SELECT * FROM sweeps WHERE id = :i", i=sweep_id)[0]
    assert dead.status == "running" and dead.queued_at is None
    assert 0 < dead.batches_done < 3000
    # And the next sweep runs, marking the dead one abandoned
    wait_idle(settings, timeout=90)
    nxt = outcome(settings, start_sweep(settings))
    assert nxt["status"] == "started"
    assert finished_sweep(db, nxt["sweep_id"]).skus_checked == 3000
    status = rows(db, "SELECT status FROM sweeps WHERE id = :i", i=sweep_id)[0][0]
    assert status == "abandoned"
