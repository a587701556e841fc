"""The history read hands the rules exactly the stored days: each sale of the window with the
forecast stored for its day (none for a gap in the horizon), by name and by span alike."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from shelfops_alerts.detect.batch_inputs import read_batch_inputs
from shelfops_alerts.skus import Sku, SkuSpan
from tests.servers.detect.test_history_screen import put_history
from tests.support.data import today
from tests.support.planning import last_sku


def test_the_read_days_are_the_stored_sales_with_their_forecasts(db):
    # Given SKUs of every history shape (gaps in the forecasts, NaN, infinite and huge
    # values, SKUs without past forecasts or without a policy), and sales older than the
    # window (kept by retention, not read)
    customer = "read"
    skus = put_history(db, customer, 120, seed=7)
    since = today() - dt.timedelta(days=28)
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
                " SELECT customer_id, store_id, product_id, CAST(:old AS date), 3"
                " FROM inventory WHERE customer_id = :c"
            ),
            {"c": customer, "old": since - dt.timedelta(days=5)},
        )

    # When the inputs are read without the screen, by name and as a sweep's span
    with db() as session:
        named = read_batch_inputs(
            session, customer_id=customer, skus=skus, today=today(), screen=False
        )
        last = last_sku(session, customer)
        spanned = read_batch_inputs(
            session, customer_id=customer, span=SkuSpan(None, last), today=today(), screen=False
        )
        stored = session.execute(
            text(
                "SELECT s.store_id, s.product_id, s.sale_date, s.units, f.demand,"
                "       p.store_id IS NOT NULL AS policy"
                " FROM sales s"
                " LEFT JOIN forecasts f ON f.customer_id = s.customer_id"
                "  AND f.store_id = s.store_id AND f.product_id = s.product_id"
                "  AND f.forecast_date = s.sale_date"
                " LEFT JOIN policies p ON p.customer_id = s.customer_id"
                "  AND p.store_id = s.store_id AND p.product_id = s.product_id"
                " WHERE s.customer_id = :c AND s.sale_date >= :since AND s.sale_date < :today"
                " ORDER BY s.store_id, s.product_id, s.sale_date"
            ),
            {"c": customer, "since": since, "today": today()},
        ).all()

    # Then each SKU's days are its stored sales of the window, each with the forecast of its
    # day (a policy's SKU also the days without one), in date order
    expected: dict[Sku, list[str]] = {}
    for store, product, day, units, forecast, policy in stored:
        if forecast is not None or policy:
            expected.setdefault(Sku(store, product), []).append(repr((day, units, forecast)))
    for inputs in (named, spanned):
        read = {
            item.sku: [repr(tuple(d)) for d in item.history] for item in inputs.skus if item.history
        }
        assert read == expected
    assert any("nan" in day for days in expected.values() for day in days)
    assert any("None" in day for days in expected.values() for day in days)
