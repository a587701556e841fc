"""The pipeline end to end: event in → alert rows, history, live messages, e-mails out.

Everything here is real: PostgreSQL, Redis and Celery worker processes started by the
fixtures; events go in through the producer client exactly as a forecasting job sends them.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest
import redis

from shelfops_alerts.intake.client import notify_forecast_complete, send_event
from shelfops_alerts.intake.events import InvalidEvent
from tests.integration.conftest import wait_idle
from tests.support.data import put_recipients, put_skus, rows
from tests.support.waiting import wait_until

CUSTOMER = "acme"
STORES = ("S1", "S2", "S3")
PRODUCTS = tuple(f"P{n:03d}" for n in range(100))
#: product index mod 10 → (on hand, daily demand, expected severity)
PLAN = {0: (5.0, 10.0, "critical"), 1: (15.0, 10.0, "high"), 2: (25.0, 10.0, "medium")}
SAFE = (100.0, 10.0, None)


def catalogue():
    for store in STORES:
        for index, product in enumerate(PRODUCTS):
            on_hand, demand, severity = PLAN.get(index % 10, SAFE)
            yield store, product, on_hand, demand, severity


def expected_alerts():
    return {(s, p): sev for s, p, _, _, sev in catalogue() if sev is not None}


class Subscriber:
    """Collects every message published on a customer's channel, from before the event."""

    def __init__(self, redis_url: str, customer_id: str) -> None:
        self.messages: list[dict] = []
        self._pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(**{f"alerts:{customer_id}": self._on_message})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.01, daemon=True)

    def _on_message(self, message) -> None:
        self.messages.append(json.loads(message["data"]))

    def events(self) -> Counter:
        return Counter(m["event"] for m in self.messages)

    def close(self) -> None:
        self._thread.stop()


@pytest.fixture()
def acme(pipeline, settings):
    put_skus(pipeline, CUSTOMER, [(s, p, h, d) for s, p, h, d, _ in catalogue()])
    put_recipients(pipeline, CUSTOMER, {"ops@acme.example": "critical"})
    subscriber = Subscriber(settings.redis_url.reveal(), CUSTOMER)
    yield pipeline, subscriber
    subscriber.close()


def active_alerts(db):
    return rows(
        db,
        "SELECT id, store_id, product_id, severity, status, message, metadata FROM alerts"
        " WHERE customer_id = :c AND status IN ('open', 'acknowledged')",
        c=CUSTOMER,
    )


def outbox(settings) -> list[Path]:
    return sorted(Path(settings.outbox_dir).glob("*.eml"))


def test_an_event_for_hundreds_of_skus_yields_exactly_the_expected_alerts(acme, settings):
    db, subscriber = acme
    # When the forecasting job reports a finished run for every SKU of the customer
    notify_forecast_complete(CUSTOMER, run_id="run-1", settings=settings)
    wait_idle(settings)

    # Then exactly the at-risk SKUs have one open alert each, with the right severity
    found = {(r.store_id, r.product_id): r.severity for r in active_alerts(db)}
    assert found == expected_alerts()
    assert Counter(found.values()) == {"critical": 30, "high": 30, "medium": 30}
    sample = next(r for r in active_alerts(db) if (r.store_id, r.product_id) == ("S2", "P010"))
    assert sample.message == (
        "Product P010 at store S2 runs out in 0.5 days (5 on hand, forecast 10/day)."
    )
    assert sample.metadata["days_until_stockout"] == 0.5
    assert sample.metadata["current_stock"] == 5
    assert sample.metadata["recommendation"].startswith("Order at least 65 units")

    # And every creation went out on alerts:acme, with the contract's fields
    wait_until(lambda: len(subscriber.messages) >= 90, 10, "90 published messages")
    assert subscriber.events() == {"created": 90}
    assert {(m["store_id"], m["product_id"]) for m in subscriber.messages} == set(found)
    assert set(subscriber.messages[0]) >= {
        "alert_id",
        "customer_id",
        "store_id",
        "product_id",
        "alert_type",
        "severity",
        "status",
        "message",
        "metadata",
        "created_at",
        "updated_at",
        "event",
    }

    # And each critical alert was e-mailed once to the one critical recipient
    wait_until(lambda: len(outbox(settings)) >= 30, 20, "30 e-mails in the outbox")
    wait_idle(settings)
    assert len(outbox(settings)) == 30
    deliveries = rows(db, "SELECT status, attempts, recipient FROM email_deliveries")
    assert len(deliveries) == 30
    assert {(d.status, d.attempts, d.recipient) for d in deliveries} == {
        ("sent", 1, "ops@acme.example")
    }


def test_a_second_identical_event_changes_nothing(acme, settings):
    db, subscriber = acme
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_idle(settings)
    before = rows(db, "SELECT id, severity, status, updated_at FROM alerts ORDER BY id")
    history = rows(db, "SELECT count(*) FROM alert_history")[0][0]

    # When the same event arrives again
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_idle(settings)

    # Then no alert, history row, delivery or message is added
    assert rows(db, "SELECT id, severity, status, updated_at FROM alerts ORDER BY id") == before
    assert rows(db, "SELECT count(*) FROM alert_history")[0][0] == history
    assert rows(db, "SELECT count(*) FROM email_deliveries")[0][0] == 30
    assert len(subscriber.messages) <= history


def test_worsening_stock_escalates_the_same_alert_and_emails_it(acme, settings):
    db, subscriber = acme
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_idle(settings)
    (high,) = [r for r in active_alerts(db) if (r.store_id, r.product_id) == ("S1", "P001")]
    assert high.severity == "high"

    # When its stock drops to half a day and the SKU is checked again
    put_skus(db, CUSTOMER, [("S1", "P001", 5.0, 10.0)])
    notify_forecast_complete(CUSTOMER, skus=["S1/P001"], settings=settings)
    wait_idle(settings)

    # Then the same alert is now critical, escalated in its history, published and mailed
    (now,) = [r for r in active_alerts(db) if (r.store_id, r.product_id) == ("S1", "P001")]
    assert (now.id, now.severity, now.status) == (high.id, "critical", "open")
    events = [
        r.event
        for r in rows(
            db, "SELECT event FROM alert_history WHERE alert_id = :a ORDER BY id", a=high.id
        )
    ]
    assert events == ["created", "escalated"]
    wait_until(
        lambda: any(
            m["event"] == "escalated" and m["alert_id"] == high.id for m in subscriber.messages
        ),
        10,
        "the escalation message",
    )
    mails = rows(db, "SELECT status FROM email_deliveries WHERE alert_id = :a", a=high.id)
    assert [m.status for m in mails] == ["sent"]
    assert any(f"Alert-Id: {high.id}" in p.read_text() for p in outbox(settings))


def test_recovered_stock_resolves_the_alert(acme, settings):
    db, subscriber = acme
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_idle(settings)
    (alert,) = [r for r in active_alerts(db) if (r.store_id, r.product_id) == ("S3", "P002")]

    # When a delivery arrives and the SKU is checked again
    put_skus(db, CUSTOMER, [("S3", "P002", 500.0, 10.0)])
    notify_forecast_complete(CUSTOMER, skus=["S3/P002"], settings=settings)
    wait_idle(settings)

    # Then one clean check is not enough (SHELFOPS_RESOLVE_AFTER_CHECKS defaults to 2)
    (row,) = rows(db, "SELECT status FROM alerts WHERE id = :a", a=alert.id)
    assert row.status == "open"

    # When it is checked clean a second time
    notify_forecast_complete(CUSTOMER, skus=["S3/P002"], settings=settings)
    wait_idle(settings)

    # Then the alert is resolved by the system, in its history, and on the channel
    (row,) = rows(db, "SELECT status, resolved_by FROM alerts WHERE id = :a", a=alert.id)
    assert (row.status, row.resolved_by) == ("resolved", "system")
    wait_until(
        lambda: any(
            m["event"] == "resolved" and m["alert_id"] == alert.id for m in subscriber.messages
        ),
        10,
        "the resolution message",
    )
    assert len(active_alerts(db)) == 89


def test_events_racing_on_separate_workers_leave_one_active_alert_per_sku(acme, settings):
    db, _ = acme
    # When two events for the same SKUs are taken by the two alerts workers at once
    barrier = threading.Barrier(4)

    def emit() -> None:
        barrier.wait()
        notify_forecast_complete(CUSTOMER, settings=settings)

    threads = [threading.Thread(target=emit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_idle(settings)

    # Then every at-risk SKU has exactly one active alert and one creation in its history
    assert len(active_alerts(db)) == 90
    twins = rows(
        db,
        "SELECT store_id, product_id, count(*) FROM alerts WHERE status <> 'resolved'"
        " GROUP BY 1, 2 HAVING count(*) > 1",
    )
    assert twins == []
    assert rows(db, "SELECT count(*) FROM alert_history WHERE event = 'created'")[0][0] == 90
    assert rows(db, "SELECT count(*) FROM email_deliveries")[0][0] == 30


def test_an_event_naming_one_sku_is_checked_without_a_walk_and_its_batch_closed(
    acme, settings, worker_logs
):
    from tests.integration.test_forged_payloads import NewLogLines

    db, subscriber = acme
    log = NewLogLines(worker_logs)
    # When a forecasting job names one SKU at risk
    check_id = notify_forecast_complete(CUSTOMER, "run-one", ["S1/P000"], settings=settings)
    wait_idle(settings)

    # Then its check ran straight (no walk task), then persist and publish: the alert is out
    lines = log.read()
    assert f"shelfops.check_stockout_risk[{check_id}] succeeded" in lines
    assert "shelfops.forecast_completed[" not in lines
    assert "shelfops.publish_alerts[" in lines
    [alert] = active_alerts(db)
    assert (alert.store_id, alert.product_id, alert.severity) == ("S1", "P000", "critical")
    wait_until(lambda: subscriber.events() == {"created": 1}, 10, "the created message")
    # And the batch's ledger row, written by the check, was closed by the publish
    [row] = rows(db, "SELECT task_ids, context, outcome FROM batch_ledger")
    assert row.task_ids[0] == check_id
    assert (row.context, row.outcome) == ({"run_id": "run-one"}, "done")


def test_a_malformed_event_is_refused_with_a_clear_error_and_no_change(acme, settings, worker_logs):
    db, subscriber = acme
    # When a producer's client is handed a bad SKU, it refuses before queueing anything
    with pytest.raises(InvalidEvent, match="must be written STORE/PRODUCT"):
        notify_forecast_complete(CUSTOMER, skus=["S1-P001"], settings=settings)

    # And when a raw message with a bad payload reaches the worker anyway
    send_event(
        "shelfops.forecast_completed",
        {"customer_id": "", "skus": ["S1/P001"]},
        settings=settings,
    )
    send_event(
        "shelfops.forecast_completed",
        {"customer_id": CUSTOMER, "skus": "S1/P001"},
        settings=settings,
    )
    wait_idle(settings)

    # Then the worker refuses it, saying why, and nothing changed
    logs = "".join(p.read_text() for p in worker_logs.glob("alerts*.log"))
    assert "refused forecast-complete event: customer_id must not be empty" in logs
    assert "refused forecast-complete event: skus must be a list" in logs
    assert rows(db, "SELECT count(*) FROM alerts")[0][0] == 0
    assert rows(db, "SELECT count(*) FROM alert_history")[0][0] == 0
    assert subscriber.messages == []

    # And the next good event is processed normally
    notify_forecast_complete(CUSTOMER, skus=["S1/P000"], settings=settings)
    wait_idle(settings)
    assert len(active_alerts(db)) == 1
