"""The floor: the sweep's work as one set-based SQL statement inside PostgreSQL.

It reads every input once (inventory, the forecast from today on, thresholds), walks the
stock against the forecast exactly as the stockout rule does (demand floored at 0.1/day,
the last day's demand continuing past the horizon), and writes every alert once, with its
message and metadata, into a table shaped like ``alerts`` (same indexes). No Python, no
queue, no round trips: what the pipeline's time is compared against.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import Engine, text

_PREPARE = """
DROP TABLE IF EXISTS bench_floor;
CREATE TABLE bench_floor (LIKE alerts INCLUDING ALL);
"""

_FLOOR = text(
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


def run_floor(engine: Engine, *, today: dt.date) -> tuple[float, int]:
    """Seconds the one statement takes, and how many alerts it wrote."""
    with engine.begin() as connection:
        connection.exec_driver_sql(_PREPARE)
    with engine.begin() as connection:
        began = time.perf_counter()
        written = connection.execute(_FLOOR, {"today": today}).rowcount
        seconds = time.perf_counter() - began
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE bench_floor")
    return seconds, int(written)
