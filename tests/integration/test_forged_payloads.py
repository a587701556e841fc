"""Chain payloads are checked like events. Anyone who can reach the broker can send a task by
name: forged ``dedup_and_persist`` and ``publish_alerts`` messages are refused with the reason
in the worker log and change nothing, and a SKU id with a NUL is refused alone instead of
failing its whole batch inside PostgreSQL."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from shelfops_alerts.intake.client import notify_forecast_complete, send_event
from shelfops_alerts.intake.events import InvalidEvent
from shelfops_alerts.vocabulary import FORECAST_COMPLETED_TASK, PERSIST_TASK, PUBLISH_TASK
from tests.integration.conftest import TEST_WORKER_ENV, wait_idle
from tests.integration.test_pipeline import Subscriber
from tests.support.data import put_recipients, put_skus, rows

VICTIM = "victim"
MOST = int(TEST_WORKER_ENV["SHELFOPS_MAX_BATCH_SIZE"])


class NewLogLines:
    """What the alerts workers log from now on."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.start = {path: path.stat().st_size for path in folder.glob("alerts*.log")}

    def read(self) -> str:
        text = ""
        for path in self.folder.glob("alerts*.log"):
            with path.open("rb") as log:
                log.seek(self.start.get(path, 0))
                text += log.read().decode("utf-8", "replace")
        return text


def finding(**changes: object) -> dict:
    return {
        "store_id": "S1",
        "product_id": "P1",
        "alert_type": "stockout_predicted",
        "severity": "critical",
        "message": "S1/P1 runs out today: order now",
        "metadata": {"days_until_stockout": 0.1},
        **changes,
    }


def checked(**changes: object) -> dict:
    return {
        "customer_id": VICTIM,
        "evaluated": [["S1", "P1", "stockout_predicted"]],
        "findings": [finding()],
        "context": {},
        **changes,
    }


def persisted(**changes: object) -> dict:
    return {"customer_id": VICTIM, "history_ids": [1], "delivery_ids": [], **changes}


FORGED = [
    (PERSIST_TASK, checked(findings=[finding(alert_type="free_money")]), "alert_type must be one"),
    (PERSIST_TASK, checked(findings=[finding(severity="apocalyptic")]), "severity must be one of"),
    (PERSIST_TASK, checked(customer_id="victim\x00"), "customer_id must not contain control"),
    (PERSIST_TASK, checked(findings=[finding(product_id="P\x00")]), "product_id must not contain"),
    (
        PERSIST_TASK,
        checked(findings=[finding(metadata={"days_until_stockout": math.nan})]),
        "metadata.days_until_stockout must be a finite number",
    ),
    (
        PERSIST_TASK,
        checked(findings=[finding(product_id=f"P{n}") for n in range(MOST * 4 + 1)]),
        f"findings must be a list of at most {MOST * 4}",
    ),
    (PUBLISH_TASK, persisted(history_ids=["1 OR 1=1"]), "each of history_ids must be a whole"),
    (PUBLISH_TASK, persisted(history_ids=[-1]), "each of history_ids must be >= 1"),
    (PUBLISH_TASK, persisted(delivery_ids=[1.5]), "each of delivery_ids must be a whole number"),
    (PUBLISH_TASK, persisted(customer_id=None), "customer_id must be text"),
]


def test_forged_persist_and_publish_messages_change_nothing_and_are_logged(
    pipeline, settings, worker_logs
):
    db = pipeline
    put_recipients(db, VICTIM, {"ops@victim.example": "low"})
    subscriber = Subscriber(settings.redis_url.reveal(), VICTIM)
    log = NewLogLines(worker_logs)
    try:
        # When forged payloads are sent to the chain's tasks by name
        for task, payload, _ in FORGED:
            send_event(
                task, {"batch" if task == PERSIST_TASK else "persisted": payload}, settings=settings
            )
        wait_idle(settings)
    finally:
        subscriber.close()

    # Then nothing was written, published or mailed
    for table in ("alerts", "alert_history", "email_deliveries"):
        assert rows(db, f"SELECT count(*) FROM {table}")[0][0] == 0, table
    assert subscriber.messages == []
    # And each was refused with its reason in the worker log
    lines = log.read()
    for task, _, reason in FORGED:
        what = "checked batch" if task == PERSIST_TASK else "persisted batch"
        assert f"refused {what}: " in lines
        assert reason in lines, reason


def test_a_sku_with_a_nul_is_refused_alone(pipeline, settings, worker_logs):
    db = pipeline
    put_skus(db, "nulco", [("S1", "P1", 1.0, 10.0), ("S1", "P2", 1.0, 10.0)])
    skus = ["S1/P1", "S1/P\x00", "S1/P2"]
    # When a producer's client is handed an event with a NUL in one SKU id
    with pytest.raises(InvalidEvent, match=r"SKU 'S1/P\\x00': product id must not contain"):
        notify_forecast_complete("nulco", skus=skus, settings=settings)
    wait_idle(settings)
    # Then it is refused before anything is queued
    assert rows(db, "SELECT count(*) FROM alerts")[0][0] == 0

    # When the same event is sent raw, by name, to the worker
    log = NewLogLines(worker_logs)
    send_event(
        FORECAST_COMPLETED_TASK,
        {"customer_id": "nulco", "run_id": None, "skus": skus},
        settings=settings,
    )
    wait_idle(settings)
    # Then the SKU with the NUL is refused, with the reason, and the others of its batch are
    # checked (before, the whole batch failed inside PostgreSQL)
    alerted = rows(db, "SELECT store_id, product_id FROM alerts ORDER BY product_id")
    assert [tuple(row) for row in alerted] == [("S1", "P1"), ("S1", "P2")]
    assert (
        "forecast-complete for nulco: refused SKU 'S1/P\\x00': product id must not contain"
        " control characters" in log.read()
    )
