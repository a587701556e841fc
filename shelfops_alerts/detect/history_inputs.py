"""Reading a batch's recent past: its sales in a compact binary form, screened with numpy.

One statement per batch reads the sales of the history window, one index probe of the
sales key per SKU with the window's days in the index condition (a range scan of a sweep's
span would read every stored day of its SKUs: with the default 90 days of sales retained it
cost PostgreSQL about a third more than the probes; docs/performance-log.md), and for each
SKU with sales the forecasts its horizon row holds for those days. It answers in one row of
PostgreSQL's binary array form, SKU after SKU — each SKU's position in the batch, its days
(as offsets from the window's first day), units and past forecasts — which numpy reads as a
block (no row, and no parsing, per SKU or element). The history pre-screen
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
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.db import array_literal, execute_prepared, prepared
from shelfops_alerts.detect.input_statements import NUMBERED_KEYS, SAME_SKU
from shelfops_alerts.detect.rules import RuleSettings, SalesDay
from shelfops_alerts.detect.rules.screen import screen_history
from shelfops_alerts.skus import Sku

#: A forecast day the SKU's horizon holds no value for (a NULL element): forecasts are
#: never negative (``ck_forecasts_demand``), so this stands for "no forecast".
NO_FORECAST = "-Infinity"
#: PostgreSQL's binary form of a one-dimensional array (``array_send``), once its 20-byte
#: header is cut off: per element its length, then its value, big-endian.
_INTS = np.dtype([("length", ">i4"), ("value", ">i4")])
_VALUES = np.dtype([("length", ">i4"), ("value", ">f8")])

#: Per SKU, its days of the window and the units sold on each (no order: each value sits
#: at its day's column).
_SALES = """
    count(*) AS count,
    substr(array_send(array_agg(s.sale_date - CAST(:since AS date))), 21) AS days,
    substr(array_send(array_agg(s.units)), 21) AS units
"""

#: Per SKU, the forecasts its horizon row holds for the window's days before today: from
#: which day of the window (``:since`` is day 0), and their values in binary form
#: (``array_send`` without its 20-byte header), a NULL element (a gap) as -Infinity
#: (:data:`NO_FORECAST`). None without any.
_PAST = """
    greatest(h.start_date - CAST(:since AS date), 0) AS first,
    substr(array_send(array_replace(
        h.demands[CAST(:since AS date) - h.start_date + 1 : CAST(:today AS date) - h.start_date],
        NULL, CAST('-Infinity' AS float8))), 21) AS values
"""

# A probe of the sales key per SKU, its days bounded in the index condition, and of its
# forecast horizon for the forecasts of those days (only a SKU with sales needs them: a day
# with a forecast and no sales is unknown). The batch's answer is one row (no row, no
# driver call and no key to look up per SKU): the position of each SKU with sales in the
# keys given (from 0), how many days it has, all their days and units, and its past
# forecasts (from which day, how many, the values), SKU after SKU in that order (every
# aggregate reads the same rows in the same order, the keys', which ``ORDER BY k.n`` makes
# explicit; NULL, a SKU without past forecasts, adds no values).
READ_SALES = prepared(
    "read_sales",
    text(
        f"""
    SELECT substr(array_send(array_agg(CAST(k.n - 1 AS int) ORDER BY k.n)), 21) AS positions,
           substr(array_send(array_agg(CAST(s.count AS int) ORDER BY k.n)), 21) AS counts,
           string_agg(s.days, ''::bytea ORDER BY k.n) AS days,
           string_agg(s.units, ''::bytea ORDER BY k.n) AS units,
           substr(array_send(array_agg(coalesce(p.first, 0) ORDER BY k.n)), 21) AS past_first,
           substr(array_send(array_agg(
               coalesce(length(p.values), 0) / {_VALUES.itemsize} ORDER BY k.n)), 21)
               AS past_counts,
           string_agg(p.values, ''::bytea ORDER BY k.n) AS past
    FROM {NUMBERED_KEYS}
    CROSS JOIN LATERAL (
        SELECT {_SALES}
        FROM sales s
        WHERE {SAME_SKU.format(t="s")} AND s.sale_date >= :since AND s.sale_date < :today
    ) s
    LEFT JOIN LATERAL (
        SELECT {_PAST}
        FROM forecast_horizons h
        WHERE {SAME_SKU.format(t="h")} AND h.start_date < :today
        LIMIT 1
    ) p ON true
    WHERE s.days IS NOT NULL
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
    every_day: Sequence[bool],
    reorder_sigma: np.ndarray,
    screen: bool = True,
    prepare: bool = False,
) -> list[tuple[int, bool, bool, bool, list[SalesDay] | None]]:
    """The recent past of ``skus``; per SKU (in the same order) whether it has a policy
    (``every_day``: the reorder rule reads days without a forecast too), the σ bound of
    :func:`shelfops_alerts.detect.rules.screen.reorder_sigma_bounds` (NaN when the reorder
    rule does not read history). The forecasts stored for the window's days are read
    with the sales.

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
    forecast, has_forecast = np.zeros(shape), np.zeros(shape, dtype=bool)
    if row.positions is not None:
        positions = _elements(row.positions, _INTS)
        where = np.repeat(positions, _elements(row.counts, _INTS))
        days = _elements(row.days, _INTS)
        sold[where, days] = True
        units[where, days] = _elements(row.units, _VALUES)
        # Element k of a SKU's past is the forecast of day ``first + k``.
        counts = _elements(row.past_counts, _INTS)
        value = _elements(row.past or b"", _VALUES)
        where = np.repeat(positions, counts)
        days = np.repeat(_elements(row.past_first, _INTS) - (np.cumsum(counts) - counts), counts)
        days += np.arange(len(value))
        present = value != -np.inf  # (NO_FORECAST)
        forecast[where[present], days[present]] = value[present]
        has_forecast[where[present], days[present]] = True
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


def _elements(blob: bytes, dtype: np.dtype) -> np.ndarray:
    """The values of a binary array (its header cut off), as native numbers."""
    values = np.frombuffer(blob, dtype=dtype)["value"]
    return values.astype(np.int64 if values.dtype.kind == "i" else np.float64)


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
    # (SalesDay._make is tuple.__new__; a day without a forecast has None for it)
    days = list(
        map(
            SalesDay._make,
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
