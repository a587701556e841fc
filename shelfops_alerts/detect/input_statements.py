"""The statements :mod:`shelfops_alerts.detect.batch_inputs` runs: one per kind of input.

Kept apart from the reading in batch_inputs.py so each reads on its own (as
:mod:`shelfops_alerts.alerts.statements` is for persist). The reads by key are
:class:`~shelfops_alerts.db.PreparedStatement`: an event's batch runs them prepared (planned
once per connection), a larger batch as plain statements, planned for their values.
"""

from __future__ import annotations

from sqlalchemy import text

from shelfops_alerts.db import prepared
from shelfops_alerts.detect.binary_arrays import SENT_DAYS
from shelfops_alerts.detect.rules.rule_settings import FIELD_NAMES

KEYS = "unnest(CAST(:stores AS text[]), CAST(:products AS text[])) AS k(store_id, product_id)"
#: The same keys, each with its position in the arrays (``k.n``, from 1).
NUMBERED_KEYS = (
    "unnest(CAST(:stores AS text[]), CAST(:products AS text[]))"
    " WITH ORDINALITY AS k(store_id, product_id, n)"
)
SAME_SKU = (
    "{t}.customer_id = :customer_id AND {t}.store_id = k.store_id AND {t}.product_id = k.product_id"
)
# Every read looks up the batch's SKUs one index probe each, in a LATERAL subquery that
# cannot be flattened into a join (LIMIT 1, or an aggregate): left to itself the planner
# would hash the customer's whole table for a batch — a seq scan of 100,000 rows to find
# 2,000 — whenever it guesses that cheaper than 2,000 probes of pages that are in memory.

# Also whether the customer has any policy or arrival at all: a customer with none skips
# those reads (one index probe each here instead of a join per batch).
READ_SETTINGS = prepared(
    "check_settings",
    text(
        f"""
    SELECT t.critical_days, t.high_days, t.medium_days,
           {", ".join(f"r.{name}" for name in FIELD_NAMES)},
           EXISTS (SELECT 1 FROM policies p WHERE p.customer_id = c.customer_id)
               AS has_policies,
           EXISTS (SELECT 1 FROM arrivals a WHERE a.customer_id = c.customer_id)
               AS has_arrivals
    FROM (SELECT CAST(:customer_id AS text) AS customer_id) c
    LEFT JOIN customer_thresholds t ON t.customer_id = c.customer_id
    LEFT JOIN customer_rule_settings r ON r.customer_id = c.customer_id
    """
    ),
)

#: A SKU's forecast from today on, from its horizon row ``h`` (both reads below).
_HORIZON_FROM_TODAY = (
    "greatest(h.start_date - CAST(:today AS date), 0) AS lead,"
    " h.demands[greatest(CAST(:today AS date) - h.start_date, 0) + 1:] AS demands,"
    " h.start_date < CAST(:today AS date) AS has_past"
)
#: A SKU's forecasts for the history window's days ``[:since, :today)``, from the same
#: horizon row ``h`` (both reads below): from which day of the window (``:since`` is day 0),
#: and the slice (empty for a horizon that starts after today or ends before ``:since``;
#: ``:since`` = ``:today``, no window, leaves every slice empty). Read here, where the row
#: is visited anyway, the history read need not probe the horizon again
#: (detect/past_forecasts.py).
_PAST_FIRST = "greatest(h.start_date - CAST(:since AS date), 0)"
_PAST_DAYS = (
    "h.demands[CAST(:since AS date) - h.start_date + 1 : CAST(:today AS date) - h.start_date]"
)

# The forecast from today on is a slice of the SKU's one horizon row (kept by triggers on
# forecasts, migration 0006): no row per day, no aggregate. ``lead`` is how many days the
# first forecast lies after today; ``has_past`` whether it holds days before today (the
# forecasts the history rules compare sales with).
READ_STOCK = prepared(
    "check_stock",
    text(
        f"""
    SELECT k.store_id, k.product_id, i.on_hand, i.on_order,
           {_HORIZON_FROM_TODAY},
           {_PAST_FIRST} AS past_first, {SENT_DAYS.format(_PAST_DAYS)} AS past
    FROM {KEYS}
    CROSS JOIN LATERAL (SELECT on_hand, on_order FROM inventory i
                        WHERE {SAME_SKU.format(t="i")} LIMIT 1) i
    LEFT JOIN LATERAL (SELECT start_date, demands FROM forecast_horizons h
                       WHERE {SAME_SKU.format(t="h")} LIMIT 1) h ON true
    """
    ),
)

# A sweep's page: its span of the customer's inventory and of its forecast horizons, both
# read by one index range scan in key order and merged (no probe per SKU: both sides are
# bounded by the span, so no plan reads more than the span's rows); one row more than the
# limit says whether the span holds more keys than it may read.
_SPAN = (
    "{t}.customer_id = :customer_id"
    " AND ({t}.store_id, {t}.product_id) > (:after_store, :after_product)"
    " AND ({t}.store_id, {t}.product_id) <= (:last_store, :last_product)"
)
#
# It also pre-screens the stockout rule (``quiet``) when asked (``:quiet``: the customer has
# no policies, so no other rule needs the SKU's stock): a SKU without forecasts before today
# and without arrivals whose stock covers each of the first ``:walked`` days of demand
# (``floor(medium_days) + 1``, and the horizon's last day, which repeats past its end) many
# times over cannot run out within ``medium_days``: every day's ``demand + MIN_DAILY_DEMAND``
# is below ``on_hand / walked`` (with a margin for rounding), so their sum, which bounds the
# shelf's loss over those days, is below ``on_hand``. Such a SKU comes back without its
# demands (no array to send and parse). Only finite, non-negative values pass (``ALL`` is
# NULL, so false, with a NULL day; NaN sorts above infinity), so the rule still judges every
# SKU it would refuse. A stricter test than ``rules.stockout.lasts_beyond`` (the largest day
# instead of the sum): the SKUs it leaves are judged in Python as before.
_QUIET = """
    :quiet AND NOT q.has_past AND cardinality(q.demands) > 0
    AND q.on_hand >= 0 AND q.on_hand < 'Infinity'
    AND 0 <= ALL(q.demands) AND 1e300 > ALL(q.demands)
    AND q.on_hand / (:walked * (1 + 1e-6)) - :min_demand > ALL(q.demands[1:CAST(:walked AS int)])
    AND q.on_hand / (:walked * (1 + 1e-6)) - :min_demand > q.demands[cardinality(q.demands)]
    AND (NOT :has_arrivals OR NOT EXISTS (
        SELECT 1 FROM arrivals a
        WHERE a.customer_id = :customer_id AND a.store_id = q.store_id
          AND a.product_id = q.product_id AND a.arrival_date >= :today AND a.quantity > 0))
"""
#
# The page comes back as ONE row (no row, driver call or array parsed per SKU): its keys as
# two text arrays, and every other column as PostgreSQL's binary array form
# (``array_send``, its 20-byte header cut off) that numpy reads as a block — each SKU's
# position in key order (``n``, from 0: the aggregates read the rows in one pass, so the
# columns agree with each other, and the reader orders them by ``n``), stock, lead, whether
# its horizon holds days before today, the pre-screen's verdict, how many days of forecast
# it has from today, and all those days SKU after SKU (a day without a forecast, a NULL
# element, as -Infinity: forecasts are never negative); and the same of its forecasts for
# the history window's days (from which day of the window, how many, the days: only a SKU
# with days before today has any). See detect/span_read.py.
READ_SPAN = text(
    f"""
    SELECT array_agg(q.store_id) AS stores, array_agg(q.product_id) AS products,
           substr(array_send(array_agg(CAST(q.n AS int))), 21) AS positions,
           substr(array_send(array_agg(q.on_hand)), 21) AS on_hand,
           substr(array_send(array_agg(q.on_order)), 21) AS on_order,
           substr(array_send(array_agg(coalesce(q.lead, 0))), 21) AS leads,
           substr(array_send(array_agg(coalesce(q.has_past, false))), 21) AS has_past,
           substr(array_send(array_agg(q.quiet)), 21) AS quiet,
           substr(array_send(array_agg(
               CASE WHEN q.quiet THEN 0 ELSE coalesce(cardinality(q.demands), 0) END)), 21)
               AS counts,
           string_agg(CASE WHEN NOT q.quiet THEN {SENT_DAYS.format("q.demands")} END, ''::bytea)
               AS demands,
           substr(array_send(array_agg(coalesce(q.past_first, 0))), 21) AS past_first,
           substr(array_send(array_agg(coalesce(cardinality(q.past), 0))), 21) AS past_counts,
           string_agg(CASE WHEN q.has_past THEN {SENT_DAYS.format("q.past")} END, ''::bytea)
               AS past
    FROM (
        SELECT q.*, coalesce({_QUIET}, false) AS quiet,
               row_number() OVER (ORDER BY q.store_id, q.product_id) - 1 AS n
        FROM (
            SELECT i.store_id, i.product_id, i.on_hand, i.on_order,
                   {_HORIZON_FROM_TODAY}, {_PAST_FIRST} AS past_first, {_PAST_DAYS} AS past
            FROM inventory i
            LEFT JOIN forecast_horizons h
              ON h.customer_id = i.customer_id AND h.store_id = i.store_id
             AND h.product_id = i.product_id AND {_SPAN.format(t="h")}
            WHERE {_SPAN.format(t="i")}
            ORDER BY i.store_id, i.product_id
            LIMIT :limit
        ) q
        OFFSET 0  -- not flattened: the test runs once per row, not once per use of quiet
    ) q
    """
)

READ_POLICIES = prepared(
    "check_policies",
    text(
        f"""
    SELECT k.store_id, k.product_id, p.lead_time_days, p.reorder_point, p.order_up_to,
           p.case_pack, p.min_order_qty, p.service_level
    FROM {KEYS}
    CROSS JOIN LATERAL (SELECT * FROM policies p WHERE {SAME_SKU.format(t="p")} LIMIT 1) p
    """
    ),
)

# A sweep's page: the span's policies by one range scan of their key (no probe per SKU).
READ_SPAN_POLICIES = text(
    f"""
    SELECT p.store_id, p.product_id, p.lead_time_days, p.reorder_point, p.order_up_to,
           p.case_pack, p.min_order_qty, p.service_level
    FROM policies p
    WHERE {_SPAN.format(t="p")}
    """
)

READ_ARRIVALS = prepared(
    "check_arrivals",
    text(
        f"""
    SELECT k.store_id, k.product_id, a.dates, a.quantities
    FROM {KEYS}
    CROSS JOIN LATERAL (
        SELECT array_agg(a.arrival_date ORDER BY a.arrival_date) AS dates,
               array_agg(a.quantity ORDER BY a.arrival_date) AS quantities
        FROM arrivals a
        WHERE {SAME_SKU.format(t="a")} AND a.arrival_date >= :today AND a.quantity > 0
    ) a
    WHERE a.dates IS NOT NULL
    """
    ),
)
