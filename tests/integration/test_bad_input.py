"""Bad stored input for one SKU is refused with its reason; the rest of its batch goes on."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shelfops_alerts.checks import check_batch
from shelfops_alerts.client import notify_forecast_complete
from shelfops_alerts.skus import Sku
from tests.integration.conftest import wait_idle
from tests.integration.data import put_skus, rows, today

pytestmark = pytest.mark.integration


def poison(db, store: str, product: str) -> None:
    # PostgreSQL's NaN passes the demand >= 0 constraint: stored input no rule can judge.
    with db.begin() as session:
        session.execute(
            text(
                "UPDATE forecasts SET demand = 'NaN'"
                " WHERE customer_id = 'bad' AND store_id = :s AND product_id = :p"
            ),
            {"s": store, "p": product},
        )


def test_check_batch_rejects_the_bad_sku_and_judges_the_others(db):
    put_skus(db, "bad", [("S1", "P1", 5.0, 10.0), ("S1", "P2", 5.0, 10.0)])
    poison(db, "S1", "P1")
    with db() as session:
        result = check_batch(
            session, customer_id="bad", skus=[Sku("S1", "P1"), Sku("S1", "P2")], today=today()
        )
    assert [(sku, "daily demand" in why) for sku, why in result.rejected] == [
        (Sku("S1", "P1"), True)
    ]
    assert [f.product_id for f in result.findings] == ["P2"]
    assert Sku("S1", "P1") not in result.checked


def test_a_bad_sku_changes_nothing_and_its_batch_goes_on(pipeline, settings, worker_logs):
    db = pipeline
    put_skus(db, "bad", [("S1", f"P{n}", 5.0, 10.0) for n in range(10)])
    notify_forecast_complete("bad", settings=settings)
    wait_idle(settings)
    (before,) = rows(db, "SELECT id, updated_at FROM alerts WHERE product_id = 'P3'")

    # When one SKU's stored forecast turns bad and its stock changes, and the batch is checked
    poison(db, "S1", "P3")
    put_skus(db, "bad", [("S1", "P3", 500.0, 10.0), ("S1", "P4", 500.0, 10.0)], days=0)
    notify_forecast_complete("bad", settings=settings)
    wait_idle(settings)

    # Then its alert is untouched, the other SKUs were judged, and the log says why
    assert rows(db, "SELECT id, updated_at FROM alerts WHERE product_id = 'P3'") == [before]
    assert rows(db, "SELECT status FROM alerts WHERE product_id = 'P3'")[0].status == "open"
    statuses = {r.product_id: r.status for r in rows(db, "SELECT product_id, status FROM alerts")}
    assert statuses["P5"] == "open"
    logs = "".join(p.read_text() for p in worker_logs.glob("alerts*.log"))
    assert "SKU S1/P3 of bad refused: daily demand must be a finite number" in logs
