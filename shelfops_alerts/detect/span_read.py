"""Reading a sweep's page (a span of keys) as one row of binary arrays.

The span read (``READ_SPAN`` in :mod:`shelfops_alerts.detect.input_statements`) answers in
ONE row: the page's keys as two text arrays, and its stock, leads, flags and the forecast
days of every SKU, SKU after SKU, in PostgreSQL's binary array form, which numpy reads as a
block. The driver used to parse a ``float8[]`` of demands as text in every row of the page
(about a tenth of a history check's CPU); now nothing is parsed per SKU or per day, and
each SKU's days are a slice of one list. The page's forecasts for the history window's days
come in the same form, laid out as one matrix (:mod:`shelfops_alerts.detect.past_forecasts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shelfops_alerts.detect.binary_arrays import FLAGS, FLOATS, INTS, elements
from shelfops_alerts.detect.past_forecasts import NO_FORECAST, PastForecasts
from shelfops_alerts.detect.rules.forecast_series import horizon_series
from shelfops_alerts.skus import Sku

_NO_RUNS = {
    "positions": np.zeros(0, dtype=int),
    "first": np.zeros(0, dtype=int),
    "counts": np.zeros(0, dtype=int),
    "values": np.zeros(0),
}


@dataclass
class SpanRows:
    """A page's SKUs in key order, column by column (what the old read's rows held)."""

    skus: list[Sku]
    on_hand: list[float]
    on_order: list[float]
    #: Each SKU's forecast demand per day from today (``horizon_series`` of its slice);
    #: empty without one, or when the SQL pre-screen found it quiet.
    demands: list[list[float]]
    has_past: list[bool]
    quiet: list[bool]
    #: The forecasts stored for the history window's days, a row per SKU.
    past: PastForecasts

    def cut(self, most: int) -> SpanRows:
        """The first ``most`` SKUs."""
        return SpanRows(
            self.skus[:most],
            self.on_hand[:most],
            self.on_order[:most],
            self.demands[:most],
            self.has_past[:most],
            self.quiet[:most],
            self.past.rows(np.arange(min(most, len(self.skus)))),
        )


def span_rows(row: Any, *, width: int) -> SpanRows:
    """The columns of ``READ_SPAN``'s one row (``row``: its named fields), in key order;
    ``width``: how many days the history window holds (0: the read sent none)."""
    if row.stores is None:  # (an empty page: every aggregate is NULL)
        return SpanRows([], [], [], [], [], [], PastForecasts.from_runs(0, width, **_NO_RUNS))
    positions = elements(row.positions, INTS)
    # (laid out by position, each SKU's row is already its place in key order)
    past = PastForecasts.from_runs(
        len(positions),
        width,
        positions=positions,
        first=elements(row.past_first, INTS),
        counts=elements(row.past_counts, INTS),
        values=elements(row.past or b"", FLOATS),
    )
    counts = elements(row.counts, INTS)
    demands = horizon_rows(elements(row.leads, INTS), counts, elements(row.demands or b"", FLOATS))
    columns: list[list[Any]] = [
        list(map(Sku, row.stores, row.products)),
        elements(row.on_hand, FLOATS).tolist(),
        elements(row.on_order, FLOATS).tolist(),
        demands,
        elements(row.has_past, FLAGS).tolist(),
        elements(row.quiet, FLAGS).tolist(),
    ]
    if (positions != np.arange(len(positions))).any():
        # (the aggregates read the rows in one pass, so the columns agree; key order is
        # the rows' numbers)
        order = np.argsort(positions).tolist()
        columns = [[column[n] for n in order] for column in columns]
    skus, on_hand, on_order, demands, has_past, quiet = columns
    return SpanRows(skus, on_hand, on_order, demands, has_past, quiet, past)


def horizon_rows(leads: np.ndarray, counts: np.ndarray, values: np.ndarray) -> list[list[float]]:
    """Each SKU's daily demand from today, as :func:`horizon_series` gives it for the SKU's
    lead and days: ``values`` holds every SKU's days one after the other (``counts`` of
    them each), a day without a forecast as :data:`NO_FORECAST`."""
    flat = values.tolist()
    ends = np.cumsum(counts).tolist()
    series = [flat[start:end] for start, end in zip([0, *ends], ends, strict=False)]
    # Only a SKU whose forecast starts after today, or has a day without one, is walked
    # (days carried forward); the others' days are their series as they are.
    walked = leads > 0
    walked[np.repeat(np.arange(len(counts)), counts)[values == NO_FORECAST]] = True
    for n in np.flatnonzero(walked).tolist():
        days = [None if value == NO_FORECAST else value for value in series[n]]
        series[n] = horizon_series(int(leads[n]), days)
    return series
