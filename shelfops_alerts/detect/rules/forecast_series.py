"""Turning stored forecast rows into the day-by-day series the rules walk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast


def daily_series(today: dt.date, dates: Sequence[dt.date], demands: Sequence[float]) -> list[float]:
    """Daily demand from ``today`` to the last forecast date, one value per day.

    ``dates`` are ascending and on or after ``today``. A day the forecast does not cover
    takes the demand of the nearest earlier forecast day (before the first one, the first
    one's), so a gap neither shortens the walk nor counts as zero demand.
    """
    if len(dates) != len(demands):
        raise ValueError("dates and demands must have the same length")
    if not dates:
        return []
    by_date = dict(zip(dates, demands, strict=True))
    series: list[float] = []
    current = float(demands[0])
    day = today
    while day <= dates[-1]:
        if day in by_date:
            current = float(by_date[day])
        series.append(current)
        day += dt.timedelta(days=1)
    return series


def horizon_series(lead_days: int, demands: Sequence[float | None]) -> list[float]:
    """Daily demand from today, from a stored horizon cut at today (the same walk as
    :func:`daily_series`).

    ``demands`` holds one value per day from ``max(today, first forecast date)`` to the last
    forecast date, None on a day without a forecast; ``lead_days`` is how many days the
    first forecast date lies after today (0 when it is today or earlier). Days before the
    first forecast take its demand; a day without one carries the previous one forward.
    """
    if not demands:
        return []
    if None not in demands:
        # The common case, a forecast for every day: no per-day Python work (and no copy of
        # a list that need not grow).
        if lead_days == 0 and type(demands) is list:
            return cast("list[float]", demands)
        series = list(cast("Sequence[float]", demands))
    else:
        current = next(float(value) for value in demands if value is not None)
        series = []
        for value in demands:
            if value is not None:
                current = float(value)
            series.append(current)
    if lead_days > 0:
        series[:0] = [series[0]] * lead_days
    return series
