"""The floor: the sweep's stockout work as one set-based SQL statement inside PostgreSQL.

It reads what the pipeline reads — ``inventory``, each SKU's ``forecast_horizons`` row cut
at today, confirmed ``arrivals`` from today on, the customer's thresholds — and computes the
same days until stockout as the stockout rule, with the same arithmetic in the same order
(stock walked day by day, arrivals at the start of their day, demand floored at 0.1/day, the
last day's demand continuing, a flat forecast without arrivals as ``on_hand / demand``).
Only the days that can matter are walked: a SKU whose stock covers the demand of the first
``floor(medium_days) + 1`` days cannot reach any severity, so it is settled by one sum; the
rest (a few percent) are walked exactly. Every alert is written once, with its message and
metadata, into a table shaped like ``alerts`` (same indexes). No Python, no queue, no round
trips: what the pipeline's time is compared against.

``run_row_floor`` keeps the earlier floor for reference: it reads ``forecasts`` a row per
day with window functions (the stored form the pipeline no longer reads).
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import Engine, text

_PREPARE = """
DROP TABLE IF EXISTS bench_floor;
CREATE TABLE bench_floor (LIKE alerts INCLUDING ALL);
"""

# day k's demand (k from 0 = today) in the series the rule walks: days before the first
# forecast take the first one, a day without a forecast carries the previous one forward,
# days past the horizon the last one; then floored at 0.1.
_DEMAND_ON_DAY_K = """
    greatest(coalesce(
        c.d[least(greatest(g.k - c.lead + 1, 1), c.n)],
        (SELECT x FROM unnest(c.d[1:least(greatest(g.k - c.lead + 1, 1), c.n)])
                       WITH ORDINALITY u(x, o) WHERE x IS NOT NULL ORDER BY o DESC LIMIT 1),
        (SELECT x FROM unnest(c.d) WITH ORDINALITY u(x, o) WHERE x IS NOT NULL
         ORDER BY o LIMIT 1)), 0.1)
"""

_FLOOR = text(
    f"""
    WITH arriving AS (
        SELECT customer_id, store_id, product_id,
               array_agg(arrival_date - CAST(:today AS date) ORDER BY arrival_date) AS days,
               array_agg(quantity ORDER BY arrival_date) AS qty
        FROM arrivals WHERE arrival_date >= :today AND quantity > 0
        GROUP BY customer_id, store_id, product_id
    ),
    sku AS (
        SELECT i.customer_id, i.store_id, i.product_id, i.on_hand,
               greatest(h.start_date - CAST(:today AS date), 0) AS lead,
               h.demands[greatest(CAST(:today AS date) - h.start_date, 0) + 1:] AS d,
               a.days AS arrival_days, a.qty AS arrival_qty,
               coalesce(t.critical_days, 1) AS critical_days,
               coalesce(t.high_days, 2) AS high_days,
               coalesce(t.medium_days, 3) AS medium_days,
               floor(coalesce(t.medium_days, 3))::int + 1 AS p
        FROM inventory i
        JOIN forecast_horizons h USING (customer_id, store_id, product_id)
        LEFT JOIN arriving a USING (customer_id, store_id, product_id)
        LEFT JOIN customer_thresholds t USING (customer_id)
    ),
    -- Settled without a walk: no arrivals, forecasts from today on every one of the first p
    -- days, and stock covering their demand (with a margin for the order of the additions).
    candidate AS (
        SELECT s.*, cardinality(s.d) AS n,
               greatest(cardinality(s.d) + s.lead,
                        coalesce(s.arrival_days[cardinality(s.arrival_days)] + 1, 0)) AS walk
        FROM sku s
        WHERE cardinality(s.d) > 0
          AND (s.arrival_days IS NOT NULL OR s.lead > 0 OR cardinality(s.d) < s.p
               OR array_position(s.d[1:s.p], NULL) IS NOT NULL
               OR s.on_hand < (SELECT sum(greatest(x, 0.1)) FROM unnest(s.d[1:s.p]) x)
                              * (1 + 1e-9))
    ),
    day AS (
        SELECT c.customer_id, c.store_id, c.product_id, g.k,
               {_DEMAND_ON_DAY_K} AS dk,
               -- the walk starts from the stock on hand, to which day 0's arrival is added
               CASE WHEN g.k = 0 THEN c.on_hand ELSE 0 END
               + coalesce(c.arrival_qty[array_position(c.arrival_days, g.k)], 0) AS ak
        FROM candidate c, generate_series(0, least(c.walk, c.p) - 1) g(k)
    ),
    walked AS (
        -- remaining stock when day k's demand is due: on_hand + a0 - d0 + a1 - ... + ak,
        -- added one term at a time in that order (as the rule does)
        SELECT customer_id, store_id, product_id, k, dk,
               sum(term) OVER (PARTITION BY customer_id, store_id, product_id
                               ORDER BY k, part) AS remaining, part
        FROM (SELECT customer_id, store_id, product_id, k, dk, ak AS term, 1 AS part FROM day
              UNION ALL
              SELECT customer_id, store_id, product_id, k, dk, -dk, 2 FROM day) terms
    ),
    found AS (
        SELECT customer_id, store_id, product_id,
               (array_agg(k + remaining / dk ORDER BY k) FILTER (
                    WHERE part = 1 AND remaining < dk))[1] AS hit,
               max(remaining) FILTER (WHERE part = 2 AND k = last_k) AS left_over,
               max(dk) FILTER (WHERE k = last_k) AS last_d
        FROM (SELECT w.*, max(k) OVER (PARTITION BY customer_id, store_id, product_id)
                          AS last_k FROM walked w) w
        GROUP BY customer_id, store_id, product_id
    ),
    judged AS (
        SELECT c.customer_id, c.store_id, c.product_id, c.on_hand, c.n + c.lead AS horizon,
               (SELECT x FROM unnest(c.d) x WHERE x IS NOT NULL LIMIT 1) AS first_d,
               CASE
                   WHEN c.arrival_days IS NULL
                    AND (SELECT min(greatest(x, 0.1)) = max(greatest(x, 0.1))
                         FROM unnest(c.d) x WHERE x IS NOT NULL)
                   THEN c.on_hand / (SELECT greatest(x, 0.1) FROM unnest(c.d) x
                                     WHERE x IS NOT NULL LIMIT 1)
                   WHEN f.hit IS NOT NULL THEN f.hit
                   WHEN c.walk <= c.p THEN c.walk + f.left_over / f.last_d
               END AS days,
               c.critical_days, c.high_days, c.medium_days
        FROM candidate c JOIN found f USING (customer_id, store_id, product_id)
    ),
    rated AS (
        SELECT j.*, CASE WHEN j.days <= j.critical_days THEN 'critical'
                         WHEN j.days <= j.high_days THEN 'high'
                         WHEN j.days <= j.medium_days THEN 'medium' END AS severity
        FROM judged j
    )
    INSERT INTO bench_floor
        (customer_id, store_id, product_id, alert_type, severity, status, message, metadata)
    SELECT customer_id, store_id, product_id, 'stockout_predicted', severity, 'open',
           format('Product %s at store %s runs out in %s days (%s on hand, forecast %s/day).',
                  product_id, store_id, round(days::numeric, 1), on_hand, first_d),
           jsonb_build_object('current_stock', on_hand, 'daily_demand', first_d,
                              'days_until_stockout', round(days::numeric, 4),
                              'forecast_horizon_days', horizon, 'reorder_point', null)
    FROM rated WHERE severity IS NOT NULL
    """
)

_ROW_FLOOR = text(
    """
    WITH walk AS (
        SELECT f.customer_id, f.store_id, f.product_id, f.d,
               row_number() OVER w AS day_no,
               sum(f.d) OVER w AS cum,
               count(*) OVER (PARTITION BY f.customer_id, f.store_id, f.product_id) AS horizon
        FROM (SELECT customer_id, store_id, product_id, forecast_date,
                     greatest(demand, 0.1) AS d
              FROM forecasts WHERE forecast_date >= :today) f
        WINDOW w AS (PARTITION BY f.customer_id, f.store_id, f.product_id
                     ORDER BY f.forecast_date)
    ),
    days AS (
        SELECT w.customer_id, w.store_id, w.product_id, i.on_hand,
               max(w.d) FILTER (WHERE w.day_no = 1) AS first_d,
               max(w.horizon) AS horizon,
               coalesce(
                   (array_agg((w.day_no - 1) + (i.on_hand - (w.cum - w.d)) / w.d
                              ORDER BY w.day_no) FILTER (WHERE w.cum >= i.on_hand))[1],
                   max(w.horizon + (i.on_hand - w.cum) / w.d) FILTER (WHERE w.day_no = w.horizon)
               ) AS days
        FROM walk w
        JOIN inventory i USING (customer_id, store_id, product_id)
        GROUP BY w.customer_id, w.store_id, w.product_id, i.on_hand
    ),
    judged AS (
        SELECT d.*, CASE WHEN d.days <= coalesce(t.critical_days, 1) THEN 'critical'
                         WHEN d.days <= coalesce(t.high_days, 2) THEN 'high'
                         WHEN d.days <= coalesce(t.medium_days, 3) THEN 'medium' END AS severity
        FROM days d LEFT JOIN customer_thresholds t USING (customer_id)
    )
    INSERT INTO bench_floor
        (customer_id, store_id, product_id, alert_type, severity, status, message, metadata)
    SELECT customer_id, store_id, product_id, 'stockout_predicted', severity, 'open',
           format('Product %s at store %s runs out in %s days (%s on hand, forecast %s/day).',
                  product_id, store_id, round(days::numeric, 1), on_hand, first_d),
           jsonb_build_object('current_stock', on_hand, 'daily_demand', first_d,
                              'days_until_stockout', round(days::numeric, 4),
                              'forecast_horizon_days', horizon, 'reorder_point', null)
    FROM judged WHERE severity IS NOT NULL
    """
)

# The pipeline's stockout alerts against the floor's: same SKUs, same severity (before any
# inhibition lowered it), days until stockout within rounding.
_DIFFERENCES = text(
    """
    WITH pipeline AS (
        SELECT customer_id, store_id, product_id,
               coalesce(metadata->>'severity_before_inhibition', severity) AS severity,
               (metadata->>'days_until_stockout')::float8 AS days
        FROM alerts WHERE alert_type = 'stockout_predicted' AND status = 'open'
    ),
    floor AS (
        SELECT customer_id, store_id, product_id, severity,
               (metadata->>'days_until_stockout')::float8 AS days
        FROM bench_floor
    )
    SELECT (SELECT count(*) FROM pipeline), (SELECT count(*) FROM floor),
           (SELECT count(*) FROM pipeline p FULL JOIN floor f
                USING (customer_id, store_id, product_id)
            WHERE p.severity IS DISTINCT FROM f.severity
               OR abs(p.days - f.days) > 1e-3 OR p.days IS NULL OR f.days IS NULL)
    """
)


def _timed(engine: Engine, statement: text, today: dt.date) -> tuple[float, int]:
    with engine.begin() as connection:
        connection.exec_driver_sql(_PREPARE)
    with engine.begin() as connection:
        began = time.perf_counter()
        written = connection.execute(statement, {"today": today}).rowcount
        seconds = time.perf_counter() - began
    return seconds, int(written)


def run_floor(engine: Engine, *, today: dt.date) -> tuple[float, int]:
    """Seconds the one statement takes, and how many alerts it wrote (kept in
    ``bench_floor`` for :func:`compare_with_pipeline`)."""
    return _timed(engine, _FLOOR, today)


def run_row_floor(engine: Engine, *, today: dt.date) -> tuple[float, int]:
    """The earlier floor (forecast rows, window functions): seconds and alerts."""
    return _timed(engine, _ROW_FLOOR, today)


def compare_with_pipeline(engine: Engine, *, today: dt.date) -> dict[str, object]:
    """The pipeline's open stockout alerts against the floor's (run :func:`run_floor` first)."""
    with engine.begin() as connection:
        pipeline, floor, differ = connection.execute(_DIFFERENCES).one()
    return {"pipeline": pipeline, "floor": floor, "differ": differ, "same": differ == 0}
