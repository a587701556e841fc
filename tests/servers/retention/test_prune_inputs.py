"""Pruning the daily inputs: forecasts (and so each SKU's horizon) and sales shrink to the
retention window, and every rule still finds exactly what it found before."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import text

from shelfops_alerts.db import get_engine
from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.intake import imports
from shelfops_alerts.retention.prune import prune
from shelfops_alerts.skus import Sku
from shelfops_alerts.stack import demo
from tests.servers.detect.test_sales_windows import stored_windows, windows_from_sales
from tests.servers.retention.test_prune_tables import POLICY
from tests.support.data import put_rule_settings, rows, today

#: The operator asks to keep as little as possible: one day of each input.
MINIMAL = dataclasses.replace(
    POLICY, history_days=1, deliveries_days=1, forecast_days=1, sales_days=1
)
#: The demo customer looks back further than the default 28 days.
HISTORY_DAYS = 40
#: Days of older forecasts and sales added before the demo's own.
OLDER_DAYS = 150
SKUS = [Sku(store, product) for store in demo.STORES for product in demo.PRODUCTS]


def load_demo_with_a_long_past(db, tmp_path) -> None:
    """The demo's data (every alert type), its customer's history_days at 40, and five
    months more of forecasts and sales, wildly unlike the recent ones, for every SKU."""
    paths = demo.write_demo_files(tmp_path, today=today())
    with db.begin() as session:
        for kind in ("inventory", "forecasts", "recipients", "policies", "sales", "arrivals"):
            getattr(imports, f"import_{kind}")(session, path=paths[kind])
        put_rule_settings(session, demo.DEMO_CUSTOMER, history_days=HISTORY_DAYS)
        for table, column, value, step in (
            ("forecasts", "forecast_date", "demand", 37),
            ("sales", "sale_date", "units", 53),
        ):
            session.execute(
                text(
                    f"INSERT INTO {table} (customer_id, store_id, product_id, {column}, {value})"
                    " SELECT i.customer_id, i.store_id, i.product_id, CAST(:today AS date) - g,"
                    f"        (g * {step}) % 90"
                    " FROM inventory i, generate_series(1, :days) g"
                    f" ON CONFLICT DO NOTHING"
                ),
                {"today": today(), "days": OLDER_DAYS},
            )


def findings(db) -> list[dict]:
    with db() as session:
        result = check_batch(session, customer_id=demo.DEMO_CUSTOMER, skus=SKUS, today=today())
    return sorted(
        (dataclasses.asdict(f) for f in result.findings),
        key=lambda f: (f["store_id"], f["product_id"], f["alert_type"]),
    )


def horizons(db) -> dict[tuple[str, str], tuple[dt.date, list]]:
    return {
        (s, p): (start, demands)
        for s, p, start, demands in rows(
            db, "SELECT store_id, product_id, start_date, demands FROM forecast_horizons"
        )
    }


def test_inputs_shrink_to_the_longest_window_a_rule_reads_and_every_finding_stays(
    db, settings, tmp_path
):
    # Given the demo's SKUs with five months of past forecasts and sales
    load_demo_with_a_long_past(db, tmp_path)
    before = findings(db)
    assert {f["alert_type"] for f in before} == {
        "stockout_predicted",
        "reorder_recommended",
        "anomaly_detected",
        "forecast_accuracy_low",
    }
    horizon_before = horizons(db)
    assert all(len(d) == OLDER_DAYS + demo.FORECAST_DAYS for _, d in horizon_before.values())

    # When the prune runs, asked to keep a single day
    report = prune(get_engine(settings), MINIMAL, today=today())

    # Then it kept the customer's 40 days of history (plus a day), not one
    cutoff = today() - dt.timedelta(days=HISTORY_DAYS + 1)
    assert report.forecast_cutoff == cutoff and report.sales_cutoff == cutoff
    [(first_forecast, first_sale)] = rows(
        db, "SELECT (SELECT min(forecast_date) FROM forecasts), (SELECT min(sale_date) FROM sales)"
    )
    assert first_forecast == cutoff and first_sale == cutoff
    assert report.deleted["forecasts"] == len(SKUS) * (OLDER_DAYS - HISTORY_DAYS - 1)
    # And each horizon now starts at the cutoff, with the same demand for every day it kept
    kept = OLDER_DAYS - (HISTORY_DAYS + 1)
    for sku, (start, demands) in horizons(db).items():
        old_start, old_demands = horizon_before[sku]
        assert start == cutoff
        assert demands == old_demands[kept:]
    # And each SKU's sales window is its kept sales, starting at the cutoff
    assert stored_windows(db) == windows_from_sales(db)
    assert {start for start, _ in stored_windows(db).values()} == {cutoff}
    # And every rule finds exactly what it found before
    assert findings(db) == before


def test_forecasts_are_pruned_a_week_at_a_time(db, settings, tmp_path):
    # Given forecasts that reach back six days past what is kept
    keep = 41
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO forecasts (customer_id, store_id, product_id, forecast_date, demand)"
                " SELECT 'c1', 'S1', 'P1', CAST(:today AS date) - g, 1"
                " FROM generate_series(0, :days) g"
            ),
            {"today": today(), "days": keep + 6},
        )
    policy = dataclasses.replace(MINIMAL, forecast_days=keep)
    # When the prune runs, nothing goes: the SKU is not a full week over
    assert prune(get_engine(settings), policy, today=today()).deleted["forecasts"] == 0
    # Then a day later its oldest is a week over, and all seven old days go at once
    tomorrow = today() + dt.timedelta(days=1)
    report = prune(get_engine(settings), policy, today=tomorrow)
    assert report.deleted["forecasts"] == 7
    [(start,)] = rows(db, "SELECT start_date FROM forecast_horizons")
    assert start == tomorrow - dt.timedelta(days=keep)


def test_a_second_run_finds_nothing_more_to_do(db, settings, tmp_path):
    load_demo_with_a_long_past(db, tmp_path)
    prune(get_engine(settings), MINIMAL, today=today())
    again = prune(get_engine(settings), MINIMAL, today=today())
    assert sum(again.deleted.values()) == 0 and not again.unfinished


def test_sales_are_pruned_a_week_at_a_time_and_their_windows_cut(db, settings):
    # Given two SKUs' sales reaching back six days past what is kept, one with a gap
    keep = 41
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
                " SELECT 'c1', 'S1', p, CAST(:today AS date) - g, g"
                " FROM generate_series(0, :days) g, unnest(ARRAY['P1', 'P2']) p"
                " WHERE (p, g) <> ('P2', :keep - 1)"
            ),
            {"today": today(), "days": keep + 6, "keep": keep},
        )
    policy = dataclasses.replace(MINIMAL, sales_days=keep)
    # When the prune runs, nothing goes: neither SKU is a full week over
    assert prune(get_engine(settings), policy, today=today()).deleted["sales"] == 0
    assert stored_windows(db) == windows_from_sales(db)
    # Then a day later their oldest are a week over: seven days of each go at once
    tomorrow = today() + dt.timedelta(days=1)
    report = prune(get_engine(settings), policy, today=tomorrow)
    assert report.deleted["sales"] == 14
    # and each window is its kept sales (P2's first kept day missing: it starts a day later)
    stored = stored_windows(db)
    assert stored == windows_from_sales(db)
    cutoff = tomorrow - dt.timedelta(days=keep)
    assert stored[("c1", "S1", "P1")][0] == cutoff
    assert stored[("c1", "S1", "P2")][0] == cutoff + dt.timedelta(days=1)
