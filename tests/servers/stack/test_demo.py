"""The demo data set shows the product: every alert type and every severity."""

from __future__ import annotations

from collections import Counter

from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.intake import imports
from shelfops_alerts.skus import Sku
from shelfops_alerts.stack import demo
from tests.support.data import today


def test_the_demo_finds_all_four_alert_types_and_every_severity(db, tmp_path):
    # Given the demo's files, imported as `dev` imports them
    paths = demo.write_demo_files(tmp_path, today=today())
    with db.begin() as session:
        for kind in ("inventory", "forecasts", "recipients", "policies", "sales", "arrivals"):
            getattr(imports, f"import_{kind}")(session, path=paths[kind])

    # When every SKU of the demo customer is checked
    skus = [Sku(store, product) for store in demo.STORES for product in demo.PRODUCTS]
    with db() as session:
        result = check_batch(session, customer_id=demo.DEMO_CUSTOMER, skus=skus, today=today())

    # Then each planted condition is found, and nothing else
    found = {(f.store_id, f.product_id, f.alert_type): f for f in result.findings}
    assert set(found) == {
        *((s, p, "stockout_predicted") for s, p in demo.AT_RISK),
        (*next(iter(demo.REORDER)), "reorder_recommended"),
        (*demo.SPIKE, "anomaly_detected"),
        (*demo.PHANTOM, "anomaly_detected"),
        (*demo.INACCURATE, "forecast_accuracy_low"),
    }
    assert found[(*demo.SPIKE, "anomaly_detected")].metadata["kind"] == "spike"
    assert found[(*demo.PHANTOM, "anomaly_detected")].metadata["kind"] == "phantom_inventory"
    late = found[("S01", "P002", "stockout_predicted")].metadata["late_arrival"]
    assert late == {"in_days": 3, "quantity": 60.0}
    assert set(Counter(f.severity for f in result.findings)) == {
        "low",
        "medium",
        "high",
        "critical",
    }
