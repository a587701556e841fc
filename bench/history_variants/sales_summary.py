"""Variant (not kept): the history statement reading a per-SKU summary of past sales.

``sales_histories`` holds one row per SKU — its first sale date and a float8[] of daily units
(NULL on a day without sales), built here from ``sales`` as ``forecast_horizons`` is from
``forecasts`` — and the statement unnests the window's slice of it instead of reading the
SKU's ~28 sales rows. ``python bench/history_statement.py --variant
bench/history_variants/sales_summary.py``: same rows, about 7 % more PostgreSQL CPU than
reading the rows (2026-11-27): the one index probe saves the 28-row scan, and unnesting the
array costs more than that saved.
"""

from shelfops_alerts.detect import history_inputs

SETUP = [
    """
    CREATE TABLE sales_histories (
        customer_id varchar(64), store_id varchar(64), product_id varchar(64),
        start_date date NOT NULL, units float8[] NOT NULL,
        PRIMARY KEY (customer_id, store_id, product_id))
    """,
    """
    INSERT INTO sales_histories
    SELECT customer_id, store_id, product_id, min(sale_date),
           ARRAY(SELECT u.units FROM generate_series(0, max(sale_date) - min(sale_date)) g(i)
                 LEFT JOIN unnest(array_agg(sale_date), array_agg(units)) u(day, units)
                   ON u.day = min(sale_date) + g.i
                 ORDER BY g.i)
    FROM sales GROUP BY customer_id, store_id, product_id
    """,
    "ANALYZE sales_histories",
]

_CURRENT = history_inputs._READ_HISTORY.text
_ROWS = _CURRENT[
    _CURRENT.index("        FROM (SELECT s.sale_date AS day") : _CURRENT.index(
        "        WHERE k.every_day OR t.f IS NOT NULL"
    )
]
# The window's days of the summary row (offsets from :since), one per element, in the SELECT
# list (a ProjectSet: cheaper than a function scan in FROM, which fills a tuplestore per SKU).
_SUMMARY_ROWS = """        FROM (SELECT t.d AS day, t.d, t.u, least(t.u, :largest) AS su,
                     h.demands[t.d + CAST(:since AS date) - h.start_date + 1] AS f,
                     least(h.demands[t.d + CAST(:since AS date) - h.start_date + 1], :largest)
                         + 0 * h.demands[t.d + CAST(:since AS date) - h.start_date + 1] AS sf
              FROM (SELECT unnest(s.units[greatest(CAST(:since AS date) - s.start_date + 1, 1)
                                          : CAST(:today AS date) - s.start_date]) AS u,
                           generate_series(greatest(CAST(:since AS date), s.start_date)
                                           - CAST(:since AS date), :today_offset - 1) AS d
                    OFFSET 0) t
              WHERE t.u IS NOT NULL
              OFFSET 0) t
"""
_AGGREGATE = "    CROSS JOIN LATERAL (\n        SELECT array_agg(t.d ORDER BY t.day)"
_SUMMARY = """    CROSS JOIN LATERAL (SELECT start_date, units FROM sales_histories s
                        WHERE s.customer_id = :customer_id AND s.store_id = k.store_id
                          AND s.product_id = k.product_id LIMIT 1) s
"""
STATEMENT = (
    _CURRENT.replace(_ROWS, _SUMMARY_ROWS)
    .replace(_AGGREGATE, _SUMMARY + _AGGREGATE)
    # (the unnested days are in order already; an ORDER BY here would sort each aggregate)
    .replace(" ORDER BY t.day)", ")")
)
