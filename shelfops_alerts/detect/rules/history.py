"""A SKU's recent past as the rules see it: the units sold each day and what was forecast."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from operator import attrgetter
from typing import NamedTuple


class NotEnoughHistory(Exception):
    """A rule cannot judge a SKU from the days it was given; its alerts are left alone."""


class SalesDay(NamedTuple):
    """One past day of one SKU: units sold, and the forecast stored for that day (if any).

    A named tuple (immutable, and made in a fraction of a frozen dataclass's time: a batch
    reads a month of days for thousands of SKUs)."""

    day: dt.date
    units: float
    forecast: float | None = None


_BY_DAY = attrgetter("day")


def forecast_days(history: Sequence[SalesDay]) -> list[SalesDay]:
    """The days that have both sales and a forecast, in date order."""
    return sorted([d for d in history if d.forecast is not None], key=_BY_DAY)


def residuals(history: Sequence[SalesDay]) -> list[float]:
    """Actual minus forecast, for the days that have both, in date order."""
    return [d.units - (d.forecast or 0.0) for d in forecast_days(history)]


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def rms(values: Sequence[float]) -> float:
    """Root mean square: the typical size of an error, bias included."""
    return math.sqrt(sum(v * v for v in values) / len(values))
