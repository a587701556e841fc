"""Which events go straight to their check chain, and how a check reads its chain."""

from __future__ import annotations

from shelfops_alerts.intake.direct import (
    DIRECT_EVENT_SKUS,
    chain_task_ids,
    direct_check,
    outgoing,
)
from shelfops_alerts.intake.events import forecast_complete, sales_recorded


def test_an_event_naming_a_few_skus_is_one_check_chain_with_its_own_ids():
    # Given a forecast-complete event naming two SKUs
    event = forecast_complete("acme", "run-1", ["S1/P1", "S1/P2"])

    # When its message is planned
    direct = direct_check(event, batch_size=5000)

    # Then it is one check of those SKUs, the run id in its context, all rules
    assert direct is not None
    assert direct.kwargs == {
        "customer_id": "acme",
        "skus": [["S1", "P1"], ["S1", "P2"]],
        "context": {"run_id": "run-1"},
        "only_types": None,
    }
    # And persist, then publish follow it (the last step first, as Celery carries a chain)
    assert [step["task"] for step in direct.chain] == [
        "shelfops.publish_alerts",
        "shelfops.dedup_and_persist",
    ]
    persist_id, publish_id = chain_task_ids(direct.chain) or ("", "")
    assert len({direct.task_id, persist_id, publish_id}) == 3


def test_a_sales_event_runs_only_the_sales_rules_and_has_no_context():
    direct = direct_check(sales_recorded("acme", ["S1/P1"]), batch_size=5000)
    assert direct is not None
    assert direct.kwargs["only_types"] == ["anomaly_detected", "forecast_accuracy_low"]
    assert direct.kwargs["context"] is None


def test_every_sku_or_more_than_one_batch_is_walked():
    many = [f"S1/P{n}" for n in range(DIRECT_EVENT_SKUS + 1)]
    assert direct_check(forecast_complete("acme"), batch_size=5000) is None
    assert direct_check(forecast_complete("acme", None, many), batch_size=5000) is None
    assert direct_check(forecast_complete("acme", None, many[:3]), batch_size=2) is None
    assert direct_check(forecast_complete("acme", None, many[:2]), batch_size=2) is not None


def test_a_chain_that_is_not_persist_then_publish_with_ids_names_no_ids():
    direct = direct_check(forecast_complete("acme", None, ["S1/P1"]), batch_size=5000)
    assert direct is not None
    publish, persist = direct.chain
    assert chain_task_ids(None) is None
    assert chain_task_ids([]) is None
    assert chain_task_ids([persist, publish]) is None
    assert chain_task_ids([publish]) is None
    assert chain_task_ids([publish, {**persist, "options": {}}]) is None
    assert chain_task_ids([publish, "persist"]) is None


def test_both_doors_queue_a_small_event_as_its_chain_and_any_other_as_its_walk():
    # Given a small forecast event, an event of every SKU, and a large sales event
    small = outgoing(forecast_complete("acme", "run-1", ["S1/P1"]), batch_size=5000)
    every = outgoing(forecast_complete("acme", "run-2"), batch_size=5000)
    many = [f"S1/P{n}" for n in range(DIRECT_EVENT_SKUS + 1)]
    sales = outgoing(sales_recorded("acme", many), batch_size=5000)

    # Then the small one is the check, with its chain and its own id
    assert small.task_name == "shelfops.check_stockout_risk"
    assert small.chain is not None and chain_task_ids(small.chain) is not None
    assert small.kwargs["skus"] == [["S1", "P1"]]
    # And the others are their walk tasks, with the event as the payload and no chain
    assert (every.task_name, every.chain) == ("shelfops.forecast_completed", None)
    assert every.kwargs == forecast_complete("acme", "run-2").to_json()
    assert (sales.task_name, sales.chain) == ("shelfops.sales_recorded", None)
    assert sales.kwargs == sales_recorded("acme", many).to_json()
    # And every message has an id of its own
    assert len({small.task_id, every.task_id, sales.task_id}) == 3
