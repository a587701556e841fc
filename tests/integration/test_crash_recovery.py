"""A worker killed mid-batch loses nothing and doubles nothing.

Late acknowledgement keeps every message a worker holds unacknowledged until its task
finishes; when the worker dies (SIGKILL: no warm shutdown, no goodbye) Redis hands those
messages to another worker after the visibility timeout, and the idempotent tasks redo only
what was not committed.
"""

from __future__ import annotations

import time
from collections import Counter

from shelfops_alerts.intake.client import notify_forecast_complete, send_event
from shelfops_alerts.stack import processes
from tests.integration.conftest import wait_idle
from tests.support.data import put_recipients, put_skus, rows
from tests.support.waiting import wait_until

CUSTOMER = "crashco"
#: 2,000 SKUs in batches of 50: 40 chains of three tasks, long enough to kill a worker mid-way.
SKUS = [(f"S{n // 100:02d}", f"P{n % 100:03d}") for n in range(2000)]


def at_risk(index: int) -> bool:
    return index % 7 == 0


def relay_until_every_batch_is_done(db, settings) -> None:
    def every_batch_done() -> bool:
        send_event("shelfops.relay_outbox", {}, settings=settings)
        wait_idle(settings)
        return rows(db, "SELECT count(*) FROM batch_ledger WHERE done_at IS NULL")[0][0] == 0

    wait_until(every_batch_done, 60, "the relay to queue every lost batch again")


def test_a_worker_killed_mid_batch_loses_no_alert_and_duplicates_none(
    pipeline, alerts_workers, settings, worker_logs
):
    db = pipeline
    put_skus(
        db,
        CUSTOMER,
        [(s, p, 5.0 if at_risk(i) else 500.0, 10.0) for i, (s, p) in enumerate(SKUS)],
    )
    put_recipients(db, CUSTOMER, {"ops@crashco.example": "critical"})
    victim = alerts_workers[0]
    log = worker_logs / f"{victim.name}.log"
    received_before = log.read_text().count("received")

    # When an event for every SKU is being worked through and one worker is SIGKILLed
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(
        lambda: log.read_text().count("received") >= received_before + 5,
        30,
        "the victim to take some tasks",
    )
    victim.kill()
    try:
        # Then the surviving worker finishes the work, including the victim's messages
        # (redelivered after the visibility timeout), and the relay (beat's, every minute in
        # production) publishes anything committed but not yet announced and queues again
        # any batch whose message the victim took with it, until every batch is done
        time.sleep(1)
        wait_idle(settings, timeout=90)
        relay_until_every_batch_is_done(db, settings)
    finally:
        victim.start()
        processes.wait_for_workers(settings.redis_url.reveal(), [victim.name])

    expected = {(s, p) for i, (s, p) in enumerate(SKUS) if at_risk(i)}
    alerts = rows(
        db,
        "SELECT store_id, product_id FROM alerts WHERE customer_id = :c AND status = 'open'",
        c=CUSTOMER,
    )
    assert Counter((a.store_id, a.product_id) for a in alerts) == Counter(expected)
    created = rows(db, "SELECT count(*) FROM alert_history WHERE event = 'created'")[0][0]
    assert created == len(expected)
    deliveries = rows(db, "SELECT history_id, recipient FROM email_deliveries")
    assert len(deliveries) == len(expected) == len(set(deliveries))
    unpublished = rows(db, "SELECT count(*) FROM alert_history WHERE published_at IS NULL")
    assert unpublished[0][0] == 0
