"""Turning stored forecast rows into the day-by-day series the rules walk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


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
