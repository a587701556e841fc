"""Reading a batch's recent past: its sales in a compact binary form, screened with numpy.

One statement per batch reads the sales of the history window: one index probe per SKU of
its sales window (``sales_windows``: one row per SKU, its retained units as an array from
its first day, kept by triggers on ``sales``, migration 0016) whose slice for the window's
days it takes. It answers in one row of PostgreSQL's binary array form, SKU after SKU — each
SKU's position in the batch and its units per day (from its first day in the window, a day
without sales as -Infinity) — which numpy reads as a block (no row, and no parsing, per SKU
or element). The forecasts stored for those days come from the stock read, which visits each
SKU's horizon row anyway (:mod:`shelfops_alerts.detect.past_forecasts`). The history pre-screen
(:func:`shelfops_alerts.detect.rules.screen.screen_history`) then works out the statistics of
every SKU at once; a SKU's days become ``SalesDay`` objects only when a rule could find
something for it, and the rules it proves quiet (all of them for most SKUs, some for the
others) the check records as judged with no finding — what they would have returned.

Only days with sales count: a day with a forecast but no sales recorded is unknown, not
zero. Anomaly and accuracy judge only days that have a forecast too; only the reorder rule
(a SKU with a policy, ``every_day``) uses days without one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.db import array_literal, execute_prepared, prepared
from shelfops_alerts.detect.binary_arrays import FLOATS, INTS, SENT_DAYS, elements
from shelfops_alerts.detect.input_statements import NUMBERED_KEYS, SAME_SKU
from shelfops_alerts.detect.past_forecasts import PastForecasts, day_runs
from shelfops_alerts.detect.rules import RuleSettings, SalesDay
from shelfops_alerts.detect.rules.screen import screen_history
from shelfops_alerts.skus import Sku

#: A day of a SKU's sales window without a sales row: units are never negative
#: (``ck_sales_units``), so this stands for "no sales recorded".
NO_SALES = "-Infinity"

#: A SKU's units on the window's days, from its sales window row ``w``.
_WINDOW = "w.units[CAST(:since AS date) - w.start_date + 1 : CAST(:today AS date) - w.start_date]"
#: Per SKU, the units its sales window row holds for the window's days: from which day of
#: the window (``:since`` is day 0), and their values in binary form, a day without sales
#: (a NULL element) as -Infinity (:data:`NO_SALES`).
_SOLD = f"""
    greatest(w.start_date - CAST(:since AS date), 0) AS first,
    {SENT_DAYS.format(_WINDOW)} AS values
"""

# One probe per SKU of its sales window (one row, kept by triggers on sales: migration 0016).
# The batch's answer is one row (no row, no driver call and no key to look up per SKU): the
# position of each SKU with sales in the keys given (from 0) and its sales (from which day,
# how many days, the values), SKU after SKU in that order (every aggregate reads the same
# rows in the same order, the keys', which ``ORDER BY k.n`` makes explicit).
READ_SALES = prepared(
    "read_sales",
    text(
        f"""
    SELECT substr(array_send(array_agg(CAST(k.n - 1 AS int) ORDER BY k.n)), 21) AS positions,
           substr(array_send(array_agg(s.first ORDER BY k.n)), 21) AS sold_first,
           substr(array_send(array_agg(
               length(s.values) / {FLOATS.itemsize} ORDER BY k.n)), 21) AS sold_counts,
           string_agg(s.values, ''::bytea ORDER BY k.n) AS sold
    FROM {NUMBERED_KEYS}
    CROSS JOIN LATERAL (
        SELECT {_SOLD}
        FROM sales_windows w
        -- (a window without a sale on the window's days: no history, as without a window)
        WHERE {SAME_SKU.format(t="w")} AND w.start_date < :today
          AND num_nonnulls(VARIADIC {_WINDOW}) > 0
        LIMIT 1
    ) s
    """
    ),
)


def read_history(
    session: Session,
    keys: dict[str, Any],
    *,
    since: dt.date,
    settings: RuleSettings,
    skus: Sequence[Sku],
    past: PastForecasts,
    every_day: Sequence[bool],
    reorder_sigma: np.ndarray,
    screen: bool = True,
    prepare: bool = False,
) -> list[tuple[int, bool, bool, bool, list[SalesDay] | None]]:
    """The recent past of ``skus``; per SKU (in the same order) whether it has a policy
    (``every_day``: the reorder rule reads days without a forecast too), the σ bound of
    :func:`shelfops_alerts.detect.rules.screen.reorder_sigma_bounds` (NaN when the reorder
    rule does not read history). ``past``: the forecasts stored for the window's days of
    ``skus`` (a row each), which the stock read sent.

    Returns ``(n, accuracy_settled, anomaly_settled, reorder_unsure, days)`` for each SKU
    (``n``: its position in ``skus``) with sales in the window that a rule reads: whether
    the accuracy and the anomaly rule judge it and surely find nothing (the screen settled
    them: the check records them as judged without running them), whether the reorder rule
    could find something, and ``days`` (oldest first) when any rule could, else None.
    ``screen=False`` returns the days of every SKU and settles nothing (the reference the
    tests hold the screen to). ``prepare``: an event's few SKUs (the
    statement prepared, see :func:`shelfops_alerts.db.execute_prepared`).
    """
    today = keys["today"]
    width = (today - since).days
    params = {
        "customer_id": keys["customer_id"],
        "since": since,
        "today": today,
        "stores": array_literal([sku.store_id for sku in skus]),
        "products": array_literal([sku.product_id for sku in skus]),
    }
    row = execute_prepared(session, READ_SALES, params, prepare=prepare).one()
    shape = (len(skus), width)
    sold, units = np.zeros(shape, dtype=bool), np.zeros(shape)
    # Only a SKU with sales has forecasts here (a day with a forecast and no sales is
    # unknown, and a SKU without any sales is no history at all).
    with_sales = np.zeros(len(skus), dtype=bool)
    if row.positions is not None:
        positions = elements(row.positions, INTS)
        value = elements(row.sold or b"", FLOATS)
        where, days = day_runs(
            positions, elements(row.sold_first, INTS), elements(row.sold_counts, INTS), value
        )
        present = value != -np.inf  # (NO_SALES)
        sold[where[present], days[present]] = True
        units[where[present], days[present]] = value[present]
        with_sales[positions] = True
    forecast = np.where(with_sales[:, None], past.forecast, 0.0)
    has_forecast = past.has_forecast & with_sales[:, None]
    policies = np.array(every_day, dtype=bool)
    found = screen_history(
        sold,
        units,
        forecast,
        has_forecast,
        every_day=policies,
        reorder_sigma=reorder_sigma,
        settings=settings,
        screen=screen,
    )
    return _verdicts(found, sold, units, forecast, has_forecast, policies, since)


def _verdicts(
    found: Any,
    sold: np.ndarray,
    units: np.ndarray,
    forecast: np.ndarray,
    has_forecast: np.ndarray,
    every_day: np.ndarray,
    since: dt.date,
) -> list[tuple[int, bool, bool, bool, list[SalesDay] | None]]:
    """The read's answer per SKU kept, with the days of those the rules must judge."""
    kept = np.flatnonzero(found.kept).tolist()
    accuracy = (found.accuracy_judged & ~found.accuracy_needs).tolist()
    anomaly = (found.anomaly_judged & ~found.anomaly_needs).tolist()
    reorder = found.reorder_needs.tolist()
    # The days the rules read, of the SKUs they must judge (all at once, row by row): with
    # sales, and a forecast or a policy (``every_day``).
    judged = np.flatnonzero(found.needs_rules)
    read = sold[judged] & (has_forecast[judged] | every_day[judged, None])
    rows, columns = np.nonzero(read)
    window = [since + dt.timedelta(days=n) for n in range(sold.shape[1])]
    forecasts = forecast[judged].astype(object)
    forecasts[~has_forecast[judged]] = None
    # (a named tuple made by tuple.__new__ in C, not by SalesDay._make, a Python call per
    # day; a day without a forecast has None for it)
    days = list(
        map(
            tuple.__new__,
            repeat(SalesDay),
            zip(
                map(window.__getitem__, columns.tolist()),
                units[judged][read].tolist(),
                forecasts[read].tolist(),
                strict=True,
            ),
        )
    )
    ends = np.cumsum(np.bincount(rows, minlength=len(judged))).tolist()
    history: dict[int, list[SalesDay]] = {}
    for n, start, end in zip(judged.tolist(), [0, *ends], ends, strict=False):
        history[n] = days[start:end]
    return [(n, accuracy[n], anomaly[n], reorder[n], history.get(n)) for n in kept]
