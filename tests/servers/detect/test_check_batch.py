"""A batch's check on a real PostgreSQL: bad stored input for one SKU is refused with its
reason while the rest of its batch is judged, and a batch costs the same statements whatever
its size."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from shelfops_alerts.detect.checks import SALES_TYPES, check_batch
from shelfops_alerts.intake.imports import (
    import_arrivals,
    import_forecasts,
    import_policies,
    import_sales,
)
from shelfops_alerts.skus import Sku
from tests.support.data import poison, put_skus, today
from tests.support.planning import Loader
from tests.support.statements import counting_statements

CUSTOMER = "rules-co"


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


def test_a_batch_costs_the_same_queries_whatever_its_size(planning, tmp_path):
    # Given 3 and 300 SKUs, each with a forecast, a policy, an arrival, and 14 days of sales
    # with the forecasts made for those days
    db = planning
    load = Loader(db, tmp_path, CUSTOMER)
    products = [f"P{n:03d}" for n in range(300)]
    put_skus(db, CUSTOMER, [("S1", p, 30.0, 10.0) for p in products])
    past = [today() - dt.timedelta(days=n) for n in range(1, 15)]
    load.load_rows(
        import_sales,
        "customer_id,store_id,product_id,date,units",
        [f"{CUSTOMER},S1,{p},{day},10" for p in products for day in past],
    )
    load.load_rows(
        import_forecasts,
        "customer_id,store_id,product_id,date,forecasted_demand",
        [f"{CUSTOMER},S1,{p},{day},10" for p in products for day in past],
    )
    load.load_rows(
        import_policies,
        "customer_id,store_id,product_id,lead_time_days",
        [f"{CUSTOMER},S1,{p},3" for p in products],
    )
    load.load_rows(
        import_arrivals,
        "customer_id,store_id,product_id,date,quantity",
        [f"{CUSTOMER},S1,{p},{today() + dt.timedelta(days=2)},5" for p in products],
    )

    # When each batch is checked with all rules, and with the sales rules only
    counts = []
    for size in (3, 300):
        skus = [Sku("S1", p) for p in products[:size]]
        for only in (None, SALES_TYPES):
            with counting_statements(db) as sent, db() as session:
                result = check_batch(
                    session, customer_id=CUSTOMER, skus=skus, today=today(), only_types=only
                )
            # (an event-sized batch's reads are prepared: a PREPARE is once per connection,
            # not per batch, so it is not counted)
            counts.append(len([sql for sql in sent if not sql.startswith("PREPARE ")]))
            # (every SKU was judged by every rule asked for: the reads found their inputs)
            assert len(result.evaluated) == size * (4 if only is None else 2)

    # Then all rules cost 5 queries and the sales rules 3, for 3 SKUs as for 300
    assert counts == [5, 3, 5, 3]


def test_a_sku_whose_finding_could_not_be_stored_is_refused_alone(db):
    # Given two SKUs about to run out, each with two weeks of sales as forecast, and for P1
    # yesterday's sale of 1e200 units (stored, but beyond what a finding may carry)
    put_skus(db, "huge", [("S1", "P1", 5.0, 10.0), ("S1", "P2", 5.0, 10.0)])
    past = [today() - dt.timedelta(days=n) for n in range(1, 15)]
    with db.begin() as session:
        for product in ("P1", "P2"):
            for day in past:
                huge = product == "P1" and day == past[0]
                session.execute(
                    text(
                        "INSERT INTO forecasts (customer_id, store_id, product_id,"
                        " forecast_date, demand) VALUES ('huge', 'S1', :p, :d, 10);"
                        " INSERT INTO sales (customer_id, store_id, product_id, sale_date,"
                        " units) VALUES ('huge', 'S1', :p, :d, :u)"
                    ),
                    {"p": product, "d": day, "u": 1e200 if huge else 10.0},
                )
    # When the batch is checked
    with db() as session:
        result = check_batch(
            session, customer_id="huge", skus=[Sku("S1", "P1"), Sku("S1", "P2")], today=today()
        )
    # Then P1 is refused with the reason, none of its verdicts kept, and P2 is judged
    assert [(sku, "must be at most" in why) for sku, why in result.rejected] == [
        (Sku("S1", "P1"), True)
    ]
    assert [(f.product_id, f.alert_type) for f in result.findings] == [("P2", "stockout_predicted")]
    assert result.checked == [Sku("S1", "P2")]
