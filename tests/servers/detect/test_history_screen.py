"""The SQL pre-screen of the history rules changes no verdict: a check with it equals a check
that runs the anomaly, accuracy and reorder rules on every SKU's days (rules/screen.py)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import text

from shelfops_alerts.detect.batch_inputs import read_batch_inputs
from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.skus import Sku, SkuSpan
from tests.support.data import put_rule_settings, today
from tests.support.planning import last_sku

WINDOW = 28
#: How each SKU's past sales are drawn: the usual case and the edges of the statistics.
SALES = (
    "normal",  # units around the forecast: quiet
    "missing_days",  # a third of the days without a sales row
    "zero",  # nothing sold on any day
    "recent_zeros",  # the last three days zero (phantom inventory with stock)
    "spike",  # yesterday five times the forecast
    "drop",  # yesterday nothing, the rest normal
    "single_day",  # one day of sales only
    "wape_edge",  # every day off by exactly half the forecast: WAPE = accuracy_wape
    "off",  # sales unrelated to the forecast: inaccurate
    "none",  # no sales rows at all
)


def put_history(db, customer: str, count: int, seed: int) -> list[Sku]:
    """``count`` SKUs of every sales shape, forecast shape (flat, weekly, with gaps, with
    no past, a NaN past day) and policy kind; returns their keys."""
    rng = random.Random(seed)
    start = today()
    inventory, forecasts, sales, policies = [], [], [], []
    skus = []
    for n in range(count):
        store, product = f"S{n // 50}", f"P{n % 50}"
        skus.append(Sku(store, product))
        level = rng.choice((0.0, 0.5, 3.0, 12.0, 80.0))
        shape = SALES[n % len(SALES)]
        on_hand = rng.choice((0.0, level, level * 5, level * 20 + 1))
        inventory.append({"s": store, "p": product, "h": on_hand})
        past = 0 if n % 7 == 3 else WINDOW
        weekly = n % 2 == 0
        forecast = {}
        for offset in range(-past, 14):
            if n % 5 == 1 and offset < 0 and rng.random() < 0.3:
                continue  # a gap in the past forecasts (a NULL in the horizon)
            value = level * ((1.0, 0.8, 1.2)[offset % 3] if weekly else 1.0)
            forecast[offset] = value
            demand: float | str = value
            if offset == -4 and n % 97 == 5:
                demand = "NaN"  # stored input the rules refuse
            if offset == -6 and n % 83 == 11:
                demand = "Infinity"
            if offset == -5 and n % 89 == 7:
                demand = 1e300  # squares overflow a float
            forecasts.append(
                {"s": store, "p": product, "d": start + dt.timedelta(offset), "v": demand}
            )
        for offset in range(-WINDOW, 0):
            expected = forecast.get(offset, level)
            units = round(expected * rng.uniform(0.6, 1.4))
            if shape == "missing_days" and rng.random() < 0.33:
                continue
            if shape == "none" or (shape == "single_day" and offset != -2):
                continue
            if shape == "zero" or (shape == "recent_zeros" and offset >= -3):
                units = 0
            if shape == "spike" and offset == -1:
                units = round(expected * 5) + 20
            if shape == "drop" and offset == -1:
                units = 0
            if shape == "wape_edge":
                units = expected * (1.5 if offset % 2 else 0.5)
            if shape == "off":
                units = rng.uniform(0, 3 * level + 5)
            if n % 79 == 3 and offset == -2:
                units = 1e200
            sales.append({"s": store, "p": product, "d": start + dt.timedelta(offset), "u": units})
        if n % 3:
            policies.append(
                {
                    "s": store,
                    "p": product,
                    "lt": rng.choice((0.5, 2.0, 5.5, 10.0)),
                    "rop": rng.choice((None, None, level * 4)),
                    "sl": rng.choice((None, 0.5, 0.99)),
                }
            )
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO inventory (customer_id, store_id, product_id, on_hand)"
                f" VALUES ('{customer}', :s, :p, :h)"
            ),
            inventory,
        )
        session.execute(
            text(
                "INSERT INTO forecasts (customer_id, store_id, product_id, forecast_date, demand)"
                f" VALUES ('{customer}', :s, :p, :d, CAST(:v AS float8))"
            ),
            forecasts,
        )
        session.execute(
            text(
                "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
                f" VALUES ('{customer}', :s, :p, :d, :u)"
            ),
            sales,
        )
        session.execute(
            text(
                "INSERT INTO policies (customer_id, store_id, product_id, lead_time_days,"
                " reorder_point, service_level)"
                f" VALUES ('{customer}', :s, :p, :lt, :rop, :sl)"
            ),
            policies,
        )
    return skus


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        # Short windows: single days judge, one zero day is phantom inventory.
        {"history_days": 7, "min_history_days": 1, "phantom_days": 1, "anomaly_min_units": 0},
        # Tight thresholds: many findings, many SKUs near a threshold.
        {"anomaly_z": 1.0, "accuracy_wape": 0.2, "accuracy_min_units": 1, "service_level": 0.6},
    ],
)
def test_the_screened_check_equals_the_rules_on_every_day(db, overrides):
    # Given SKUs of every history shape, under the customer's rule settings
    customer = "screen"
    skus = put_history(db, customer, 600, seed=len(overrides))
    if overrides:
        with db.begin() as session:
            put_rule_settings(session, customer, **overrides)

    # When the batch is checked with the pre-screen, and without it
    with db() as session:
        screened = check_batch(session, customer_id=customer, skus=skus, today=today())
        reference = check_batch(
            session, customer_id=customer, skus=skus, today=today(), screen_history=False
        )
        inputs = read_batch_inputs(session, customer_id=customer, skus=skus, today=today())
        # (and as a sweep reads them: spans of keys, the first cut short by a limit)
        last = last_sku(session, customer)
        first = check_batch(
            session, customer_id=customer, span=SkuSpan(None, last), today=today(), limit=250
        )
        assert first.rest is not None
        second = check_batch(session, customer_id=customer, span=first.rest, today=today())

    # Then every verdict, finding and refusal is the same
    assert screened.to_json() == reference.to_json()
    assert sorted(first.evaluated + second.evaluated) == sorted(reference.evaluated)
    assert sorted(map(_finding_key, first.findings + second.findings)) == sorted(
        map(_finding_key, reference.findings)
    )
    assert sorted(first.rejected + second.rejected) == sorted(reference.rejected)
    assert reference.findings and reference.rejected  # the edges were reached
    kinds = {finding.alert_type for finding in reference.findings}
    assert {"anomaly_detected", "reorder_recommended", "forecast_accuracy_low"} <= kinds
    # And the screen did its work: SKUs settled wholly (no days read), others rule by rule
    # (days read for the rules it could not settle), and no history finding was settled
    settled = [item for item in inputs.skus if item.settled]
    assert len([item for item in settled if not item.history]) >= 10
    assert len([item for item in settled if item.history]) >= 10
    found = {(f.store_id, f.product_id, f.alert_type) for f in screened.findings}
    assert not any((*item.sku, kind) in found for item in settled for kind in item.settled)


def _finding_key(finding) -> tuple:
    return (
        finding.store_id,
        finding.product_id,
        finding.alert_type,
        finding.severity,
        finding.message,
        repr(sorted(finding.metadata.items())),
    )
