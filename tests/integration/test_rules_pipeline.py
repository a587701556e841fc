"""The four rules through the real pipeline: planning data imported, events in, alerts out.

Policies, sales, arrivals and past forecasts go in through the CSV importers, as a user
would load them; events go in through the producer client; real workers do the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from typing import Any

import pytest

from shelfops_alerts.cli import main
from shelfops_alerts.intake.client import notify_forecast_complete, notify_sales_recorded
from tests.integration.conftest import wait_idle
from tests.support.data import put_skus, rows, today
from tests.support.planning import Loader

CUSTOMER = "rules-co"


@pytest.fixture()
def load(planning, tmp_path) -> Loader:
    return Loader(planning, tmp_path, CUSTOMER)


def active(db) -> dict[tuple[str, str], Any]:
    """Active alerts of the customer by (product, alert type)."""
    found = rows(
        db,
        "SELECT id, product_id, alert_type, severity, metadata FROM alerts"
        " WHERE customer_id = :c AND status IN ('open', 'acknowledged')",
        c=CUSTOMER,
    )
    return {(r.product_id, r.alert_type): r for r in found}


def test_each_rule_raises_its_alert_with_its_severity(pipeline, load, settings):
    db = pipeline
    # Given stock and a flat forecast of 10/day from today for five SKUs
    put_skus(
        db,
        CUSTOMER,
        [
            ("S1", "REORDER", 30.0, 10.0),  # 3 days of stock: a medium stockout too
            ("S1", "ARRIVING", 15.0, 10.0),  # 1.5 days, but 100 arrive tomorrow
            ("S1", "PHANTOM", 50.0, 10.0),  # 5 days of stock, yet nothing sells
            ("S1", "OFF", 1000.0, 10.0),  # plenty, but the forecast misses by far
            ("S1", "QUIET", 1000.0, 10.0),  # plenty, forecast good: nothing to say
        ],
    )
    # And 28 days of history: REORDER and QUIET sell 12, 8, 12, ... against 10 (σ = 2);
    # PHANTOM sold 9, 11, ... and then nothing for 3 days; OFF sold 30 a day against 10
    load.history("REORDER", [12, 8] * 14, 10)
    load.history("QUIET", [12, 8] * 14, 10)
    load.history("PHANTOM", [9, 11] * 12 + [9, 0, 0, 0], 10)
    load.history("OFF", [30] * 28, 10)
    # And REORDER has a 5-day lead time in packs of 12; 100 units reach ARRIVING tomorrow
    load.policy("REORDER", 5, 12)
    load.arrival("ARRIVING", 1, 100)

    # When the forecasting job reports a finished run for the customer
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_idle(settings)

    # Then each rule raised exactly its alert, with the severity of its mapping
    alerts = active(db)
    assert {key: alert.severity for key, alert in alerts.items()} == {
        ("REORDER", "reorder_recommended"): "high",
        ("REORDER", "stockout_predicted"): "medium",
        ("PHANTOM", "anomaly_detected"): "high",
        ("OFF", "forecast_accuracy_low"): "low",
    }
    # And the reorder alert shows its arithmetic: LTD 50, ROP 50 + z(0.95)·2·√5, quantity up
    # to ROP + LTD, rounded up to packs of 12
    rop = 50 + statistics.NormalDist().inv_cdf(0.95) * 2 * math.sqrt(5)
    reorder = alerts[("REORDER", "reorder_recommended")].metadata
    assert reorder["inventory_position"] == 30
    assert reorder["reorder_point"] == pytest.approx(rop, abs=0.01)
    assert reorder["sigma_source"] == "forecast_errors"
    assert reorder["recommended_quantity"] == 12 * math.ceil((rop + 50 - 30) / 12) == 84
    # And the stockout alert names the reorder point the reorder rule derived
    stockout = alerts[("REORDER", "stockout_predicted")].metadata
    assert stockout["reorder_point"] == pytest.approx(rop, abs=0.01)
    assert alerts[("PHANTOM", "anomaly_detected")].metadata["kind"] == "phantom_inventory"
    assert alerts[("OFF", "forecast_accuracy_low")].metadata["wape"] == pytest.approx(2 / 3, 1e-3)
    # And the past forecasts the history compares with survived the import of today's
    assert (
        rows(
            db,
            "SELECT count(*) FROM forecasts WHERE customer_id = :c AND run_id = 'past'",
            c=CUSTOMER,
        )[0][0]
        == 4 * 28
    )


def test_an_arrival_in_time_resolves_the_stockout(pipeline, load, settings):
    db = pipeline
    # Given a SKU with 1.5 days of stock and its high stockout alert
    put_skus(db, CUSTOMER, [("S1", "LATE", 15.0, 10.0)])
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_idle(settings)
    alert = active(db)[("LATE", "stockout_predicted")]
    assert alert.severity == "high"

    # When a purchase order of 100 units is confirmed for tomorrow, and the SKU is checked
    # (twice: a lifecycle with hysteresis resolves on the second clear check)
    load.arrival("LATE", 1, 100)
    for _ in range(2):
        notify_forecast_complete(CUSTOMER, skus=["S1/LATE"], settings=settings)
        wait_idle(settings)

    # Then the alert is resolved by the system
    (row,) = rows(db, "SELECT status, resolved_by FROM alerts WHERE id = :a", a=alert.id)
    assert (row.status, row.resolved_by) == ("resolved", "system")
    assert active(db) == {}


def test_sales_recorded_raises_an_anomaly_and_checks_nothing_else(pipeline, load, settings):
    db = pipeline
    # Given a SKU with 2 days of stock and 27 quiet days of sales (9, 11, ... against 10)
    # up to the day before yesterday
    put_skus(db, CUSTOMER, [("S1", "SPIKE", 20.0, 10.0)])
    load.history("SPIKE", [9, 11] * 13 + [9], 10, end_days_ago=2)
    load.history("SPIKE", [10], 10, end_days_ago=1)  # the forecast for yesterday
    # When yesterday's sales come in at 60 and the sales feed says so
    load.sales("SPIKE", {today() - dt.timedelta(days=1): 60})
    notify_sales_recorded(CUSTOMER, ["S1/SPIKE"], settings=settings)
    wait_idle(settings)

    # Then a high anomaly (a spike) is raised, and nothing else was checked
    alerts = active(db)
    assert {key: alert.severity for key, alert in alerts.items()} == {
        ("SPIKE", "anomaly_detected"): "high"
    }
    meta = alerts[("SPIKE", "anomaly_detected")].metadata
    assert (meta["kind"], meta["actual_units"], meta["forecast_units"]) == ("spike", 60, 10)

    # And the stockout it skipped is there once the forecast rules run
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_idle(settings)
    assert active(db)[("SPIKE", "stockout_predicted")].severity == "high"


def test_a_user_tunes_the_anomaly_rule_per_customer_from_the_cli(
    pipeline, load, settings, base_env, monkeypatch, capsys, tmp_path
):
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    db = pipeline

    def cli(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    def rule_settings(content: str) -> str:
        path = tmp_path / "rules.csv"
        path.write_text(content)
        return str(path)

    # Given yesterday's sales of 60 against 10 after 27 quiet days (a score of about 16)
    put_skus(db, CUSTOMER, [("S1", "SPIKE", 1000.0, 10.0)])
    load.history("SPIKE", [9, 11] * 13 + [9], 10, end_days_ago=2)
    load.history("SPIKE", [60], 10, end_days_ago=1)

    # When the customer raises its anomaly threshold to 20 and the sales feed reports
    code, out, _ = cli(
        "import", "rule-settings", rule_settings("customer_id,anomaly_z\nrules-co,20\n")
    )
    assert (code, out) == (0, "imported 1 rule-settings row(s) for 1 customer(s)\n")
    code, out, _ = cli(
        "emit", "sales-recorded", "--customer", CUSTOMER, "--sku", "S1/SPIKE", "--json"
    )
    assert code == 0 and json.loads(out)["event"] == "sales-recorded"
    wait_idle(settings)
    # Then no anomaly is raised
    assert active(db) == {}

    # When a bad settings file comes, it is refused naming the line, and changes nothing
    code, _, err = cli(
        "import", "rule-settings", rule_settings("customer_id,anomaly_z\nrules-co,-1\n")
    )
    assert code == 2
    assert "rules.csv line 2: anomaly_z must be a number > 0, got '-1'" in err
    assert "nothing of this file was imported" in err

    # When the customer clears its threshold (back to the default 4) and the feed reports again
    code, _, _ = cli("import", "rule-settings", rule_settings("customer_id,anomaly_z\nrules-co,\n"))
    assert code == 0
    assert cli("emit", "sales-recorded", "--customer", CUSTOMER)[0] == 0
    wait_idle(settings)

    # Then the spike is an anomaly, high (score at least twice 4)
    alert = active(db)[("SPIKE", "anomaly_detected")]
    assert alert.severity == "high"
    assert alert.metadata["threshold"] == 4.0
    assert alert.metadata["score"] > 8
