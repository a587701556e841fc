"""The forecasts the history rules compare sales with come from the stock read (which visits
each SKU's horizon row anyway), not from a second probe of the horizon: the matrices handed
to the history screen are still exactly the stored forecasts of the window's days, for the
SKUs with sales in it — whatever the horizon's shape, by key (an event) and by span (a
sweep) alike (detect/past_forecasts.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import text

from shelfops_alerts.detect import batch_inputs, history_inputs
from shelfops_alerts.detect.batch_inputs import read_batch_inputs
from shelfops_alerts.skus import Sku, SkuSpan
from tests.support.data import put_rule_settings, today
from tests.support.planning import last_sku

#: Per SKU, the days (from today) its forecasts are stored for (a day left out: a NULL in its
#: horizon). Each has a policy, so every one is read for history.
HORIZONS: dict[str, list[int]] = {
    "before_since": list(range(-40, 10)),  # starts before the window, runs past today
    "at_since": list(range(-28, 3)),
    "day_before_since": list(range(-29, 3)),
    "inside": list(range(-10, 5)),  # starts inside the window
    "gaps": [d for d in range(-35, 6) if d % 4 and d != -13],  # NULL days in the horizon
    "yesterday": list(range(-1, 4)),
    "today": list(range(0, 4)),  # no day before today
    "after_today": list(range(3, 9)),
    "ends_inside": list(range(-20, -9)),  # ends before today
    "ends_before_since": list(range(-45, -35)),  # past days, none in the window
    "none": [],
}
#: The SKU with past forecasts but no sales: no history at all (no forecast either).
UNSOLD = "gaps_unsold"
#: The day of "gaps" stored as NaN.
NAN_DAY = -6


def put_horizons(db, customer: str) -> list[Sku]:
    """One SKU per shape of ``HORIZONS`` (and :data:`UNSOLD`), with sales on most days of the
    last 40, and a policy each."""
    start = today()
    skus, forecasts, sales = [], [], []
    for n, (product, days) in enumerate([*HORIZONS.items(), (UNSOLD, HORIZONS["gaps"])]):
        sku = Sku("S", product)
        skus.append(sku)
        for day in days:
            value = n + 1 + (day + 50) / 100  # (a distinct value per SKU and day, never < 0)
            demand = "NaN" if (product == "gaps" and day == NAN_DAY) else str(value)
            forecasts.append({"p": product, "d": start + dt.timedelta(day), "v": demand})
        if product != UNSOLD:
            for day in range(-40, 0):
                if (day + n) % 5:
                    sales.append({"p": product, "d": start + dt.timedelta(day), "u": n + 1})
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO inventory (customer_id, store_id, product_id, on_hand)"
                " VALUES (:c, 'S', :p, 10)"
            ),
            [{"c": customer, "p": sku.product_id} for sku in skus],
        )
        session.execute(
            text(
                "INSERT INTO policies (customer_id, store_id, product_id, lead_time_days)"
                " VALUES (:c, 'S', :p, 2)"
            ),
            [{"c": customer, "p": sku.product_id} for sku in skus],
        )
        session.execute(
            text(
                "INSERT INTO forecasts (customer_id, store_id, product_id, forecast_date, demand)"
                " VALUES (:c, 'S', :p, :d, CAST(:v AS float8))"
            ),
            [{"c": customer, **row} for row in forecasts],
        )
        session.execute(
            text(
                "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
                " VALUES (:c, 'S', :p, :d, :u)"
            ),
            [{"c": customer, **row} for row in sales],
        )
    return skus


def stored(session, customer: str, skus: list[Sku], since: dt.date):
    """The reference: per SKU with sales in the window, the forecasts stored for the window's
    days, read from ``forecasts`` itself (what the horizon probe of the sales read gave)."""
    width = (today() - since).days
    forecast, has_forecast = np.zeros((len(skus), width)), np.zeros((len(skus), width), bool)
    rows = session.execute(
        text(
            "SELECT f.product_id, f.forecast_date, f.demand FROM forecasts f"
            " WHERE f.customer_id = :c AND f.forecast_date >= :since"
            "   AND f.forecast_date < :today AND EXISTS ("
            "     SELECT 1 FROM sales s WHERE s.customer_id = f.customer_id"
            "       AND s.store_id = f.store_id AND s.product_id = f.product_id"
            "       AND s.sale_date >= :since AND s.sale_date < :today)"
        ),
        {"c": customer, "since": since, "today": today()},
    ).all()
    row_of = {sku.product_id: n for n, sku in enumerate(skus)}
    for product, day, demand in rows:
        if product in row_of:
            forecast[row_of[product], (day - since).days] = demand
            has_forecast[row_of[product], (day - since).days] = True
    return forecast, has_forecast


@pytest.mark.parametrize("history_days", [28, 10])
def test_the_screen_gets_the_stored_forecasts_of_the_window(db, monkeypatch, history_days):
    # Given SKUs of every horizon shape (before, at and inside the window, with NULL days
    # and a NaN, after today, ending early, none, one without sales), all with a policy
    customer = "past"
    skus = put_horizons(db, customer)
    with db.begin() as session:
        put_rule_settings(session, customer, history_days=history_days, min_history_days=1)
    since = today() - dt.timedelta(days=history_days)
    # (what the history screen is handed, per call of the history read)
    handed: list[tuple[list[Sku], np.ndarray, np.ndarray]] = []
    read, screen = history_inputs.read_history, history_inputs.screen_history

    def read_recorded(session, keys, **options):
        handed.append((list(options["skus"]), None, None))
        return read(session, keys, **options)

    def screen_recorded(sold, units, forecast, has_forecast, **options):
        handed[-1] = (handed[-1][0], forecast.copy(), has_forecast.copy())
        return screen(sold, units, forecast, has_forecast, **options)

    monkeypatch.setattr(batch_inputs, "read_history", read_recorded)
    monkeypatch.setattr(history_inputs, "screen_history", screen_recorded)

    # When the batch's inputs are read by key (an event: prepared) and as a sweep's span
    # (two pages: the first cut short by a limit)
    with db() as session:
        read_batch_inputs(session, customer_id=customer, skus=skus, today=today())
        last = last_sku(session, customer)
        first = read_batch_inputs(
            session, customer_id=customer, span=SkuSpan(None, last), today=today(), limit=5
        )
        assert first.rest is not None
        read_batch_inputs(session, customer_id=customer, span=first.rest, today=today())
        references = [stored(session, customer, read_skus, since) for read_skus, _, _ in handed]

    # Then each call handed the screen exactly the stored forecasts of the window's days of
    # its SKUs with sales (NaN kept, a NULL day without one), and nothing for the others
    assert len(handed) == 3
    assert sorted(sku for read_skus, _, _ in handed[1:] for sku in read_skus) == sorted(skus)
    for (read_skus, forecast, has_forecast), (expected, expected_has) in zip(
        handed, references, strict=True
    ):
        assert has_forecast.tolist() == expected_has.tolist(), read_skus
        np.testing.assert_array_equal(forecast, expected)
    by_key = dict(zip(handed[0][0], handed[0][2].tolist(), strict=True))
    assert any(by_key[Sku("S", "gaps")]) and not all(by_key[Sku("S", "gaps")])
    for empty in ("today", "after_today", "ends_before_since", "none", UNSOLD):
        assert not any(by_key[Sku("S", empty)])
    assert np.isnan(handed[0][1]).any()  # (the NaN day reached the screen)
