"""Reading a batch's recent past: its sales in a compact binary form, screened with numpy.

One statement per batch reads the sales of the history window, one index probe of the
sales key per SKU with the window's days in the index condition (a range scan of a sweep's
span would read every stored day of its SKUs: with the default 90 days of sales retained it
cost PostgreSQL about a third more than the probes; docs/performance-log.md). Per SKU
it returns the days (as offsets from the window's first day) and the units as PostgreSQL's
binary array form, which numpy reads as a block (no parsing per element). The forecast
stored for each past day comes with the SKU's stock and forecast
(:mod:`shelfops_alerts.detect.input_statements`, ``past``), in the same form. The history
pre-screen (:func:`shelfops_alerts.detect.rules.screen.screen_history`) then works out the
statistics of every SKU at once, and only the SKUs that a rule could find something for get
their days as ``SalesDay`` objects; for the others it says which history rules can judge
them at all, and the check records those rules as judged with no finding — what they would
have returned.

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
_DAYS = np.dtype([("length", ">i4"), ("value", ">i4")])
_VALUES = np.dtype([("length", ">i4"), ("value", ">f8")])

#: Per SKU, its days of the window and the units sold on each (no order: each value sits
#: at its day's column).
_SALES = """
    count(*) AS count,
    substr(array_send(array_agg(s.sale_date - CAST(:since AS date))), 21) AS days,
    substr(array_send(array_agg(s.units)), 21) AS units
"""

# A probe of the key per SKU, its days bounded in the index condition; the batch's answer
# is one row (no row, no driver call and no key to look up per SKU): the position of each
# SKU with sales in the keys given (from 0), how many days it has, and all their days and
# units, SKU after SKU in that order (every aggregate reads the same rows in the same order,
# the keys' order, which ``ORDER BY k.n`` makes explicit).
READ_SALES = prepared(
    "read_sales",
    text(
        f"""
    SELECT substr(array_send(array_agg(CAST(k.n - 1 AS int) ORDER BY k.n)), 21) AS positions,
           substr(array_send(array_agg(CAST(s.count AS int) ORDER BY k.n)), 21) AS counts,
           string_agg(s.days, ''::bytea ORDER BY k.n) AS days,
           string_agg(s.units, ''::bytea ORDER BY k.n) AS units
    FROM {NUMBERED_KEYS}
    CROSS JOIN LATERAL (
        SELECT {_SALES}
        FROM sales s
        WHERE {SAME_SKU.format(t="s")} AND s.sale_date >= :since AND s.sale_date < :today
    ) s
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
    past: Sequence[tuple[int, bytes | None]],
    screen: bool = True,
    prepare: bool = False,
) -> list[tuple[int, bool, bool, list[SalesDay] | None]]:
    """The recent past of ``skus``; per SKU (in the same order) whether it has a policy
    (``every_day``: the reorder rule reads days without a forecast too), the σ bound of
    :func:`shelfops_alerts.detect.rules.screen.reorder_sigma_bounds` (NaN when the reorder
    rule does not read history), and ``(past_from, past)``: the forecasts of the window's
    days from day ``past_from`` on, in binary form (None without any).

    Returns ``(n, accuracy_judged, anomaly_judged, days)`` for each SKU
    (``n``: its position in ``skus``) with sales in the window that a rule reads: ``days``
    (oldest first) when a rule could find something, else None — then the rules the two
    flags name judge it with no finding. ``screen=False`` returns the days of every SKU
    (the reference the tests hold the screen to). ``prepare``: an event's few SKUs (the
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
    if row.positions is not None:
        positions = np.frombuffer(row.positions, dtype=_DAYS)["value"].astype(np.int64)
        counts = np.frombuffer(row.counts, dtype=_DAYS)["value"].astype(np.int64)
        where = np.repeat(positions, counts)
        days = np.frombuffer(row.days, dtype=_DAYS)["value"].astype(np.int64)
        sold[where, days] = True
        units[where, days] = np.frombuffer(row.units, dtype=_VALUES)["value"]
    forecast, has_forecast = _past_forecasts(past, shape)
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


def _spread(
    rows: Sequence[int], blobs: Sequence[Any], dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The elements of each row's binary array at once: the row of each element, the
    elements' values (native numbers), and how many each row has."""
    counts = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // dtype.itemsize
    elements = np.frombuffer(b"".join(blobs), dtype=dtype)["value"]
    values = elements.astype(np.int64 if elements.dtype.kind == "i" else np.float64)
    return np.repeat(np.asarray(rows, dtype=np.int64), counts), values, counts


def _past_forecasts(
    past: Sequence[tuple[int, bytes | None]], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Each SKU's forecast for each day of the window, and whether it has one."""
    forecast, has_forecast = np.zeros(shape), np.zeros(shape, dtype=bool)
    if not past:
        return forecast, has_forecast
    firsts, blobs = zip(*past, strict=True)
    with_past = [n for n, blob in enumerate(blobs) if blob]
    if not with_past:
        return forecast, has_forecast
    where, value, counts = _spread(with_past, [blobs[n] for n in with_past], _VALUES)
    # Element k of a SKU's past is the forecast of day ``past_from + k``.
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    days = np.repeat(np.array(firsts, dtype=np.int64)[with_past], counts)
    days += np.arange(len(value)) - starts
    present = value != -np.inf  # (NO_FORECAST)
    forecast[where[present], days[present]] = value[present]
    has_forecast[where[present], days[present]] = True
    return forecast, has_forecast


def _verdicts(
    found: Any,
    sold: np.ndarray,
    units: np.ndarray,
    forecast: np.ndarray,
    has_forecast: np.ndarray,
    every_day: np.ndarray,
    since: dt.date,
) -> list[tuple[int, bool, bool, list[SalesDay] | None]]:
    """The read's answer per SKU kept, with the days of those the rules must judge."""
    kept = np.flatnonzero(found.kept).tolist()
    accuracy, anomaly = found.accuracy_judged.tolist(), found.anomaly_judged.tolist()
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
    return [(n, accuracy[n], anomaly[n], history.get(n)) for n in kept]
