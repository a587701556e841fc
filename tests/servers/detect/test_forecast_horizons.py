"""Forecast horizons (one row per SKU, migration 0006) follow every write to ``forecasts``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import text

from shelfops_alerts.detect.batch_inputs import read_batch_inputs
from shelfops_alerts.detect.rules.forecast_series import daily_series
from shelfops_alerts.intake.imports import import_forecasts
from shelfops_alerts.skus import Sku
from tests.support.data import laid_out_by_day, put_skus, rows, second_writer_waits, today

CUSTOMER = "horizons"


def day(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


def horizons(db) -> dict[tuple[str, str], tuple[dt.date, list[float | None]]]:
    found = rows(db, "SELECT store_id, product_id, start_date, demands FROM forecast_horizons")
    return {(r.store_id, r.product_id): (r.start_date, list(r.demands)) for r in found}


def expected_from_forecasts(db) -> dict[tuple[str, str], tuple[dt.date, list[float | None]]]:
    """What the horizons must hold, worked out in Python from the forecast rows."""
    by_sku: dict[tuple[str, str], dict[dt.date, float]] = {}
    for r in rows(db, "SELECT store_id, product_id, forecast_date, demand FROM forecasts"):
        by_sku.setdefault((r.store_id, r.product_id), {})[r.forecast_date] = r.demand
    return laid_out_by_day(by_sku)


def write_csv(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "forecasts.csv"
    header = "customer_id,store_id,product_id,date,forecasted_demand,run_id\n"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_writer_keeps_the_horizons_equal_to_the_forecast_rows(db, tmp_path):
    # Given SKUs written by the tests' helper (INSERT ... ON CONFLICT DO UPDATE)
    put_skus(db, CUSTOMER, [("S1", f"P{n}", 10.0, 2.0 + n) for n in range(4)], days=5)
    # When a CSV import updates some days and adds a past day and a day after a gap,
    csv = write_csv(
        tmp_path,
        [
            f"{CUSTOMER},S1,P0,{day(1)},7.5,run2",
            f"{CUSTOMER},S1,P0,{day(-3)},1.0,run2",
            f"{CUSTOMER},S1,P1,{day(9)},4.0,run2",
            f"{CUSTOMER},S2,P9,{day(2)},3.0,run2",
        ],
    )
    with db.begin() as session:
        import_forecasts(session, path=csv)
    # and rows are updated, deleted from the middle, and deleted entirely for one SKU
    with db.begin() as session:
        session.execute(text("UPDATE forecasts SET demand = demand * 2 WHERE product_id = 'P2'"))
        session.execute(
            text("DELETE FROM forecasts WHERE product_id = 'P2' AND forecast_date = :d"),
            {"d": day(2)},
        )
        session.execute(text("DELETE FROM forecasts WHERE product_id = 'P3'"))

    # Then each SKU's horizon is exactly its forecast rows, laid out one value per day
    stored = horizons(db)
    assert stored == expected_from_forecasts(db)
    # (the writes did exercise a past day, gaps, an update and a removed SKU)
    assert stored[("S1", "P0")][0] == day(-3)
    assert stored[("S1", "P0")][1][:5] == [1.0, None, None, 2.0, 7.5]
    assert stored[("S1", "P1")][1][5:] == [None, None, None, None, 4.0]
    assert stored[("S1", "P2")][1] == [8.0, 8.0, None, 8.0, 8.0]
    assert ("S1", "P3") not in stored and ("S2", "P9") in stored


def test_truncating_the_forecasts_empties_the_horizons(db):
    # Given a SKU with a horizon
    put_skus(db, CUSTOMER, [("S1", "P1", 10.0, 2.0)])
    assert len(horizons(db)) == 1
    # When the forecasts are truncated
    with db.begin() as session:
        session.execute(text("TRUNCATE forecasts"))
    # Then no horizon is left behind
    assert horizons(db) == {}


def test_the_batch_read_walks_the_horizon_as_the_forecast_rows(db, tmp_path):
    # Given SKUs whose forecasts have gaps, start later, include the past, or are all past
    put_skus(db, CUSTOMER, [("S1", f"P{n}", 10.0, 1.0) for n in range(4)], days=0)
    shapes = {
        "P0": {-2: 9.0, 0: 1.0, 3: 2.0},
        "P1": {-1: 9.0, 2: 5.0, 4: 6.0},
        "P2": {3: 4.0, 4: 5.0},
        "P3": {-4: 3.0, -1: 2.0},
    }
    lines = [
        f"{CUSTOMER},S1,{product},{day(n)},{demand},r"
        for product, days in shapes.items()
        for n, demand in days.items()
    ]
    with db.begin() as session:
        import_forecasts(session, path=write_csv(tmp_path, lines))

    # When the batch inputs are read
    with db() as session:
        inputs = read_batch_inputs(
            session,
            customer_id=CUSTOMER,
            skus=[Sku("S1", product) for product in shapes],
            today=today(),
        )

    # Then each SKU's demand is what the old per-row walk gives from today's rows
    demand = {item.sku.product_id: item.demand for item in inputs.skus}
    for product, days in shapes.items():
        ahead = sorted((n, value) for n, value in days.items() if n >= 0)
        assert demand[product] == daily_series(
            today(), [day(n) for n, _ in ahead], [value for _, value in ahead]
        )
    assert demand == {"P0": [1, 1, 1, 2], "P1": [5, 5, 5, 5, 6], "P2": [4] * 4 + [5], "P3": []}


def test_two_concurrent_writers_of_one_sku_both_land_in_its_horizon(db):
    # Given a SKU's week of forecasts to insert, by two writers (a week each)
    put_skus(db, CUSTOMER, [("S1", "P1", 10.0, 1.0)], days=0)
    insert = text(
        "INSERT INTO forecasts (customer_id, store_id, product_id, forecast_date, demand)"
        " SELECT :c, 'S1', 'P1', CAST(:start AS date) + g, :d FROM generate_series(0, 6) g"
    )
    # When the first writer inserts the first week and holds it uncommitted, the second
    # inserts the second week meanwhile (it waits for the first's lock), and the first commits
    second_writer_waits(
        db,
        insert,
        {"c": CUSTOMER, "start": day(0), "d": 1.0},
        {"c": CUSTOMER, "start": day(7), "d": 2.0},
        table="forecasts",
    )

    # Then the SKU's horizon holds both weeks
    assert horizons(db) == {("S1", "P1"): (day(0), [1.0] * 7 + [2.0] * 7)}
    assert horizons(db) == expected_from_forecasts(db)
