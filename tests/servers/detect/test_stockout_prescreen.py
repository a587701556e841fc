"""A sweep's span pre-screens the stockout rule in SQL: the SKUs far from a stockout come
back without their forecast, and the verdicts are those of checking the same SKUs by name."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from shelfops_alerts.detect.batch_inputs import read_batch_inputs
from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.skus import Sku, SkuSpan
from tests.support.data import put_skus, today

C = "acme"
#: (product, on hand, flat daily demand) in store S1; the thresholds are the defaults
#: (medium 3 days, so the first 4 days are walked).
FLAT = [
    ("P00", 500.0, 10.0),  # 50 days: far
    ("P01", 5.0, 10.0),  # half a day: critical
    ("P02", 25.0, 10.0),  # 2.5 days: medium
    ("P03", 40.5, 10.0),  # just over the 4 days walked: far
    ("P04", 0.0, 0.0),  # nothing on hand, nothing sold: 0 days, critical
    ("P05", 3.0, 0.0),  # no demand (counts as 0.1/day): 30 days, far
    ("P06", 1e200, 1.0),  # a huge stock: far
    ("P07", 500.0, 10.0),  # far, but a NaN day in its forecast: refused
    ("P08", 500.0, 10.0),  # far, but arrivals: the rule judges it
    ("P09", 500.0, 10.0),  # far on average, one huge day in the first four: high
    ("P10", 500.0, 10.0),  # far, one huge day after the first four: quiet in SQL too
    ("P11", 500.0, 10.0),  # far; its forecast starts in two days (before: its first day)
    ("P12", 500.0, 10.0),  # its forecast ended yesterday: without forecast
]
FAR = {"P00", "P03", "P05", "P06", "P10", "P11"}


def catalogue(db) -> None:
    put_skus(db, C, [("S1", p, h, d) for p, h, d in FLAT])
    day = today()
    with db.begin() as session:
        session.execute(
            text(
                "UPDATE forecasts SET demand = 'NaN' WHERE customer_id = :c"
                " AND product_id = 'P07' AND forecast_date = :d"
            ),
            {"c": C, "d": day + dt.timedelta(days=5)},
        )
        for product, offset, demand in (("P09", 1, 900.0), ("P10", 9, 900.0)):
            session.execute(
                text(
                    "UPDATE forecasts SET demand = :q WHERE customer_id = :c"
                    " AND product_id = :p AND forecast_date = :d"
                ),
                {"c": C, "p": product, "q": demand, "d": day + dt.timedelta(days=offset)},
            )
        session.execute(
            text(
                "DELETE FROM forecasts WHERE customer_id = :c AND (product_id = 'P12'"
                " OR (product_id = 'P11' AND forecast_date < :d))"
            ),
            {"c": C, "d": day + dt.timedelta(days=2)},
        )
        session.execute(
            text(
                "INSERT INTO forecasts (customer_id, store_id, product_id, forecast_date, demand)"
                " VALUES (:c, 'S1', 'P12', :d, 10)"
            ),
            {"c": C, "d": day - dt.timedelta(days=1)},
        )
        session.execute(
            text(
                "INSERT INTO arrivals (customer_id, store_id, product_id, arrival_date, quantity)"
                " VALUES (:c, 'S1', 'P08', :d, 20)"
            ),
            {"c": C, "d": day + dt.timedelta(days=1)},
        )


def test_the_span_prescreen_clears_far_skus_and_keeps_every_verdict(db):
    # Given SKUs far from, near to and in a stockout, and some the rule must judge itself
    catalogue(db)
    span = SkuSpan(None, Sku("S1", "P12"))
    named = [Sku("S1", p) for p, _, _ in FLAT]
    with db() as session:
        # When the span is checked, and the same SKUs by name (no pre-screen in SQL)
        by_span = check_batch(session, customer_id=C, span=span, today=today())
        by_name = check_batch(session, customer_id=C, skus=named, today=today())
        inputs = read_batch_inputs(session, customer_id=C, span=span, today=today(), stockout=True)
    # Then the pre-screen cleared only SKUs surely far from a stockout (never one with a
    # NaN day, arrivals, a huge day within the walk, or no forecast)
    assert {sku.product_id for sku in inputs.quiet} == FAR
    assert not {sku.product_id for sku in inputs.quiet} & {
        item.sku.product_id for item in inputs.skus
    }
    # And the verdicts are the same either way
    assert sorted(by_span.evaluated) == sorted(by_name.evaluated)
    assert sorted(by_span.findings, key=repr) == sorted(by_name.findings, key=repr)
    assert by_span.rejected == by_name.rejected
    assert by_span.without_forecast == by_name.without_forecast
    assert {f.product_id: f.severity for f in by_span.findings} == {
        "P01": "critical",
        "P02": "medium",
        "P04": "critical",
        "P09": "high",
    }
    assert [sku.product_id for sku, _ in by_span.rejected] == ["P07"]
    assert [sku.product_id for sku in by_span.without_forecast] == ["P12"]


def test_a_check_without_the_stockout_rule_prescreens_nothing(db):
    # Given far SKUs
    catalogue(db)
    with db() as session:
        # When a span's inputs are read for rules other than stockout
        inputs = read_batch_inputs(
            session, customer_id=C, span=SkuSpan(None, Sku("S1", "P12")), today=today()
        )
    # Then every SKU comes back with its inputs
    assert inputs.quiet == []
    assert len(inputs.skus) == len(FLAT)


def same_verdicts(db) -> list[str]:
    """Check the span and the same SKUs by name; assert the verdicts agree; return the
    products the span's pre-screen cleared."""
    span = SkuSpan(None, Sku("S1", "P12"))
    with db() as session:
        by_span = check_batch(session, customer_id=C, span=span, today=today())
        by_name = check_batch(
            session, customer_id=C, skus=[Sku("S1", p) for p, _, _ in FLAT], today=today()
        )
        inputs = read_batch_inputs(session, customer_id=C, span=span, today=today(), stockout=True)
    assert sorted(by_span.evaluated) == sorted(by_name.evaluated)
    assert sorted(by_span.findings, key=repr) == sorted(by_name.findings, key=repr)
    assert by_span.rejected == by_name.rejected
    return sorted(sku.product_id for sku in inputs.quiet)


def test_the_prescreen_walks_the_customers_own_medium_threshold(db):
    # Given the catalogue, and a customer whose medium threshold is 6.5 days (7 days walked)
    catalogue(db)
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO customer_thresholds (customer_id, critical_days, high_days,"
                " medium_days) VALUES (:c, 1, 3, 6.5)"
            ),
            {"c": C},
        )
    # When checked by span and by name, then the verdicts agree, and the SKU with 4 days of
    # stock (now a medium alert) is no longer cleared by the pre-screen
    assert same_verdicts(db) == ["P00", "P05", "P06", "P10", "P11"]


def test_a_customer_with_policies_is_not_prescreened(db):
    # Given the catalogue, and one SKU with a replenishment policy (the reorder rule judges
    # every SKU of such a customer that has one)
    catalogue(db)
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO policies (customer_id, store_id, product_id, lead_time_days)"
                " VALUES (:c, 'S1', 'P00', 2)"
            ),
            {"c": C},
        )
    # When checked by span and by name, then the verdicts agree and nothing is pre-screened
    assert same_verdicts(db) == []
