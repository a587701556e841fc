"""A batch the broker lost is checked anyway, once, under its own check id.

Kombu's Redis transport pops a message (BRPOP) before it records it as unacknowledged; a
worker killed in between loses it. Here a fake consumer pops a queued check the same way
and holds it: the batch ledger shows the batch unfinished, the relay queues its chain again
under the same task ids, and when the held message comes back late (a stalled worker that
woke up) the chain runs twice without counting its clean check twice.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import redis

from shelfops_alerts.intake.client import notify_forecast_complete, send_event
from shelfops_alerts.stack import processes
from tests.integration.conftest import stop_together, wait_idle
from tests.support.data import put_recipients, put_skus, rows
from tests.support.waiting import wait_until

CUSTOMER = "lostco"
#: 200 SKUs in batches of 50: four chains.
SKUS = [(f"S{n // 100:02d}", f"P{n % 100:03d}") for n in range(200)]
#: The first batch: its message is the one lost.
FIRST = set(SKUS[:50])


def at_risk(index: int) -> bool:
    return index % 7 == 0


@pytest.fixture()
def walker(cli_env, monkeypatch):
    """``queue_batch_checks`` run in this process (as an event's task would), on the stack."""
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    from workers.app import app

    app.loader.import_default_modules()  # the task modules and their routes, as in a worker
    from workers.tasks.batches import chunks, queue_batch_checks

    return lambda skus: queue_batch_checks(CUSTOMER, chunks(tuple(skus), 50))


def test_a_lost_batch_is_requeued_and_counts_its_clean_check_once(
    pipeline, alerts_workers, settings, walker
):
    db = pipeline
    client = redis.Redis.from_url(settings.redis_url.reveal())
    put_skus(
        db, CUSTOMER, [(s, p, 5.0 if at_risk(i) else 500.0, 10.0) for i, (s, p) in enumerate(SKUS)]
    )
    put_recipients(db, CUSTOMER, {"ops@lostco.example": "critical"})
    expected = Counter((s, p) for i, (s, p) in enumerate(SKUS) if at_risk(i))
    # Given every at-risk SKU has an open alert, and those of the first batch were restocked
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_idle(settings)
    put_skus(
        db, CUSTOMER, [(s, p, 500.0, 10.0) for i, (s, p) in enumerate(SKUS[:50]) if at_risk(i)]
    )

    # When an event's four chains are queued while no worker runs, and a consumer pops the
    # first chain's check (a pop takes the oldest) and holds it, as a dying worker would
    stop_together(alerts_workers)
    try:
        assert walker(SKUS) == 4
        # (RPOP: what BRPOP does when a message waits)
        popped = client.rpop("alerts")
        assert popped is not None
    finally:
        for worker in alerts_workers:
            worker.start()
        processes.wait_for_workers(settings.redis_url.reveal(), [w.name for w in alerts_workers])
    wait_idle(settings)

    # Then the other three batches are done and the first is not: its message is nowhere
    (lost,) = rows(db, "SELECT id, requeues FROM batch_ledger WHERE done_at IS NULL")
    assert rows(db, "SELECT count(*) FROM batch_ledger")[0][0] == 4 + 4  # the event's, then ours

    # When the relay runs (after SHELFOPS_BATCH_LOST_AFTER_S), it queues that chain again
    time.sleep(2.5)
    send_event("shelfops.relay_outbox", {}, settings=settings)
    wait_until(
        lambda: rows(db, "SELECT requeues FROM batch_ledger WHERE id = :i", i=lost.id)[0][0] == 1,
        30,
        "the relay to queue the lost batch again",
    )
    # And the held message comes back late (its worker woke up): the chain runs twice
    client.lpush("alerts", popped)
    wait_idle(settings)
    send_event("shelfops.relay_outbox", {}, settings=settings)
    wait_idle(settings)

    # Then every batch is done, the lost one queued again exactly once
    ledger = rows(db, "SELECT id, requeues, outcome FROM batch_ledger ORDER BY id")
    assert [(r.requeues, r.outcome) for r in ledger if r.id == lost.id] == [(1, "done")]
    assert all(r.outcome == "done" for r in ledger)
    # And every alert exists once, none created twice
    alerts = rows(
        db,
        "SELECT store_id, product_id, status, clear_checks FROM alerts WHERE customer_id = :c",
        c=CUSTOMER,
    )
    assert Counter((a.store_id, a.product_id) for a in alerts) == expected
    created = rows(db, "SELECT count(*) FROM alert_history WHERE event = 'created'")[0][0]
    assert created == sum(expected.values())
    # And the restocked ones counted one clean check (not two: they stay open until the next)
    restocked = [a for a in alerts if (a.store_id, a.product_id) in FIRST]
    assert restocked and all((a.status, a.clear_checks) == ("open", 1) for a in restocked)
    assert all(a.clear_checks == 0 for a in alerts if (a.store_id, a.product_id) not in FIRST)
    deliveries = rows(db, "SELECT history_id, recipient FROM email_deliveries")
    assert len(deliveries) == len(set(deliveries)) == sum(expected.values())
