"""A small event queued straight as its check chain gets its ledger row from its check.

The producer queues the check with persist and publish to follow (no walk task); the check
writes the batch's row before the chain goes on, so a persist or publish message the broker
loses is queued again by the relay under the chain's own task ids, as a walked batch's is.
"""

from __future__ import annotations

import base64
import json

import redis

from shelfops_alerts.intake.client import notify_forecast_complete, notify_sales_recorded
from tests.servers.ledger.test_ledger import age
from tests.support.data import put_skus, rows


def take_message(settings) -> tuple[str, dict, list]:
    """Pop the one queued message: (task id, kwargs, the chain that follows it)."""
    client = redis.Redis.from_url(settings.redis_url.reveal())
    [raw] = client.lrange("alerts", 0, -1)
    client.delete("alerts")
    envelope = json.loads(raw)
    _, kwargs, embed = json.loads(base64.b64decode(envelope["body"]))
    return envelope["headers"]["id"], kwargs, embed["chain"] or []


def run_check(task_id: str, kwargs: dict, chain: list) -> dict:
    """Run the check as a worker runs the message: its request carries its id and chain."""
    from workers.tasks.checks import check_stockout_risk

    check_stockout_risk.push_request(id=task_id, chain=chain)
    try:
        return check_stockout_risk.run(**kwargs)
    finally:
        check_stockout_risk.pop_request()


def test_a_small_events_check_writes_its_chains_ledger_row(tasks_app, db, settings):
    put_skus(db, "acme", [("S1", "P1", 5.0, 10.0), ("S1", "P2", 500.0, 10.0)])
    # Given a producer's event naming two SKUs: queued straight as a check chain
    sent = notify_forecast_complete("acme", "run-9", ["S1/P1", "S1/P2"], settings=settings)
    check_id, kwargs, chain = take_message(settings)
    assert check_id == sent
    persist_id, publish_id = (step["options"]["task_id"] for step in reversed(chain))
    assert rows(db, "SELECT count(*) FROM batch_ledger")[0][0] == 0

    # When a worker runs the check
    result = run_check(check_id, kwargs, chain)

    # Then the batch's ledger row holds the chain's three task ids, SKUs and context
    [row] = rows(db, "SELECT id, customer_id, skus, context, task_ids, done_at FROM batch_ledger")
    assert row.task_ids == [check_id, persist_id, publish_id]
    assert (row.customer_id, row.skus, row.context) == (
        "acme",
        [["S1", "P1"], ["S1", "P2"]],
        {"run_id": "run-9"},
    )
    assert row.done_at is None
    # And the persist the chain queues next carries the row, for its publish to close
    assert result["context"] == {"run_id": "run-9", "ledger": row.id}
    assert len(result["findings"]["layout"]) == 1  # (the findings as columns: one)


def test_a_lost_step_of_a_small_events_chain_is_queued_again_by_the_relay(tasks_app, db, settings):
    from workers.tasks.relay import relay_outbox

    put_skus(db, "acme", [("S1", "P1", 5.0, 10.0)])
    # Given a sales-recorded event's check ran, and the broker lost its persist message
    notify_sales_recorded("acme", ["S1/P1"], settings=settings)
    check_id, kwargs, chain = take_message(settings)
    assert kwargs["only_types"] == ["anomaly_detected", "forecast_accuracy_low"]
    run_check(check_id, kwargs, chain)
    [row] = rows(db, "SELECT id, task_ids FROM batch_ledger")
    age(db, settings.batch_lost_after_s + 1)

    # When the relay runs
    assert relay_outbox.apply().get()["batches_requeued"] == 1

    # Then the chain is queued again under its own ids, naming its row and its rules
    again_id, again, again_chain = take_message(settings)
    assert [again_id, *(s["options"]["task_id"] for s in reversed(again_chain))] == row.task_ids
    assert again["context"] == {"ledger": row.id}
    assert again["only_types"] == ["anomaly_detected", "forecast_accuracy_low"]


def test_a_check_sent_alone_writes_no_ledger_row(tasks_app, db, settings):
    put_skus(db, "acme", [("S1", "P1", 5.0, 10.0)])
    # When a check is run with no chain to follow it (sent by name, alone)
    result = run_check("lone-check", {"customer_id": "acme", "skus": [["S1", "P1"]]}, [])

    # Then it checks the SKU, and no ledger row waits for a publish that will never run
    assert len(result["findings"]["layout"]) == 1  # (the findings as columns: one)
    assert rows(db, "SELECT count(*) FROM batch_ledger")[0][0] == 0
