"""Bad stored input for one SKU is refused with its reason; the rest of its batch goes on."""

from __future__ import annotations

from shelfops_alerts.intake.client import notify_forecast_complete
from tests.integration.conftest import wait_idle
from tests.support.data import poison, put_skus, rows


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
