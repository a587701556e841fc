"""The forecasts stored for the history window's days, per SKU, laid out as one matrix.

The reads that visit a SKU's horizon row for its forecast from today on (a sweep's span
read and the by-key stock read, :mod:`shelfops_alerts.detect.input_statements`) send its
slice for the window's days, ``[since, today)``, as well: from which day of the window
(``since`` is day 0), how many days, and their values (a day without a forecast, a NULL
element, as -Infinity). The history read then probes only the SKU's sales window: one index
probe per SKU instead of a second one of its horizon row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shelfops_alerts.detect.binary_arrays import FLOATS, elements

#: A day of a horizon without a forecast (a NULL element) as the reads send it: forecasts
#: are never negative (``ck_forecasts_demand``), so this stands for "no forecast".
NO_FORECAST = -np.inf


def day_runs(
    positions: np.ndarray, first: np.ndarray, counts: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``values`` goes, for SKUs that each sent a run of values, one per day
    from their ``first``, one run after the other (``counts`` values each): each value's SKU
    (its row, from ``positions``) and day (from the window's first). Element k of a SKU's
    run is the value of day ``first + k``."""
    where = np.repeat(positions, counts)
    days = np.repeat(first - (np.cumsum(counts) - counts), counts)
    days += np.arange(len(values))
    return where, days


@dataclass
class PastForecasts:
    """Per SKU (rows) and day of the history window (columns, ``since`` is 0): the forecast
    stored for that day, and whether there is one (a gap, or no horizon, has none)."""

    forecast: np.ndarray
    has_forecast: np.ndarray

    @classmethod
    def from_runs(
        cls,
        skus: int,
        width: int,
        *,
        positions: np.ndarray,
        first: np.ndarray,
        counts: np.ndarray,
        values: np.ndarray,
    ) -> PastForecasts:
        """The matrix of ``skus`` SKUs and ``width`` days from their runs (see
        :func:`day_runs`); a row no run names has no forecast."""
        forecast = np.zeros((skus, width))
        has_forecast = np.zeros((skus, width), dtype=bool)
        where, days = day_runs(positions, first, counts, values)
        present = values != NO_FORECAST
        forecast[where[present], days[present]] = values[present]
        has_forecast[where[present], days[present]] = True
        return cls(forecast, has_forecast)

    @classmethod
    def from_rows(
        cls, runs: Sequence[tuple[int | None, bytes | None]], *, width: int
    ) -> PastForecasts:
        """The matrix of SKUs that each sent their run in a row of their own: its first day
        and its values in binary form (both None without a horizon), a row per SKU."""
        sent = [bytes(values or b"") for _, values in runs]
        return cls.from_runs(
            len(runs),
            width,
            positions=np.arange(len(runs)),
            first=np.array([first or 0 for first, _ in runs], dtype=int),
            counts=np.array([len(values) for values in sent], dtype=int) // FLOATS.itemsize,
            values=elements(b"".join(sent), FLOATS),
        )

    def rows(self, at: list[int] | np.ndarray) -> PastForecasts:
        """Those of the SKUs in rows ``at`` (a copy), in that order."""
        return PastForecasts(self.forecast[at], self.has_forecast[at])
