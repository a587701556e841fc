"""The stockout rule: how many days until a SKU's shelf is empty, and how bad that is.

Stock on hand is walked against the daily forecast from today (UTC) on. On day *i* the
shelf loses ``max(demand_i, MIN_DAILY_DEMAND)`` units; the day it cannot cover is counted
fractionally. When the forecast horizon ends before the stock does, the last forecast day's
demand is assumed to continue, so a flat forecast of any length gives exactly
``on_hand / max(daily_demand, MIN_DAILY_DEMAND)``.

Confirmed arrivals (purchase orders, transfers) are put on the shelf at the start of their
day, before that day's demand, so supply arriving in time means no stockout. The walk goes
on at least until the last arrival, even past the forecast horizon.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.vocabulary import CRITICAL, HIGH, MEDIUM, STOCKOUT_PREDICTED

ALERT_TYPE = STOCKOUT_PREDICTED
#: Demand below this (units/day) is treated as this, so a zero forecast cannot divide by zero
#: nor make any stock look infinite.
MIN_DAILY_DEMAND = 0.1
#: Relative margin of :func:`lasts_beyond` (far above the rounding of a horizon's sums).
LASTS_BEYOND_MARGIN = 1e-9
#: Days of forecast demand a recommended replenishment should cover.
COVER_DAYS = 7


@dataclass(frozen=True)
class StockoutThresholds:
    """Days until stockout at or below which each severity applies (critical ≤ high ≤ medium)."""

    critical_days: float = 1.0
    high_days: float = 2.0
    medium_days: float = 3.0

    def __post_init__(self) -> None:
        if not 0 <= self.critical_days <= self.high_days <= self.medium_days:
            raise ValueError(
                "stockout thresholds must satisfy 0 <= critical_days <= high_days <= medium_days,"
                f" got {self.critical_days}, {self.high_days}, {self.medium_days}"
            )

    def severity(self, days: float) -> str | None:
        """The severity for ``days`` until stockout, or None when it is far enough away."""
        if days <= self.critical_days:
            return CRITICAL
        if days <= self.high_days:
            return HIGH
        if days <= self.medium_days:
            return MEDIUM
        return None


DEFAULT_THRESHOLDS = StockoutThresholds()


def days_until_stockout(
    on_hand: float, daily_demand: Sequence[float], daily_arrivals: Sequence[float] = ()
) -> float:
    """Days the stock lasts against the forecast (``daily_demand[0]`` is today).

    ``daily_arrivals[i]`` is the quantity arriving on day *i* (today is 0). Raises ValueError
    for negative stock, a negative or non-finite demand or arrival, or no forecast.
    """
    if not math.isfinite(on_hand) or on_hand < 0:
        raise ValueError(f"on_hand must be a finite number >= 0, got {on_hand!r}")
    if not daily_demand:
        raise ValueError("daily_demand must hold at least one day")
    demands = []
    for value in daily_demand:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"daily demand must be a finite number >= 0, got {value!r}")
        demands.append(max(value, MIN_DAILY_DEMAND))
    for value in daily_arrivals:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"an arrival must be a finite number >= 0, got {value!r}")

    if not any(daily_arrivals) and all(d == demands[0] for d in demands):
        # The flat case is computed by the formula itself, so it is exact (no float drift
        # from repeated subtraction).
        return on_hand / demands[0]

    days = max(len(demands), len(daily_arrivals))
    demands += [demands[-1]] * (days - len(demands))
    remaining = on_hand
    for day, demand in enumerate(demands):
        if day < len(daily_arrivals):
            remaining += daily_arrivals[day]
        # Strictly less: a shelf that exactly covers a day is empty at its end, and the next
        # day (with no arrival) returns the same day + 0; with an arrival it goes on.
        if remaining < demand:
            return day + remaining / demand
        remaining -= demand
    return days + remaining / demands[-1]


def lasts_beyond(
    on_hand: float,
    daily_demand: Sequence[float],
    daily_arrivals: Sequence[float],
    days: float,
) -> bool:
    """True when the stock on hand alone surely outlasts ``days``, so :func:`check_stockout`
    with ``days`` as its medium threshold finds nothing; False when unsure.

    A cheap test for the many SKUs far from a stockout: stock covering the demand of the
    first ``floor(days) + 1`` days cannot run out within ``days``. It reads each value once
    in C (two sums and a min), with margins that only ever answer "unsure"; inputs the rule
    refuses (negative, NaN, infinite) and SKUs with arrivals are "unsure", so the rule
    itself judges — and refuses — them.
    """
    if daily_arrivals or not daily_demand:
        return False
    total = sum(daily_demand)
    if not (math.isfinite(total) and min(daily_demand) >= 0 and 0 <= on_hand < math.inf):
        return False
    walked = math.floor(days) + 1
    head = daily_demand[:walked]
    # max(d, MIN_DAILY_DEMAND) <= d + MIN_DAILY_DEMAND; past the horizon the last day repeats
    need = sum(head) + (walked - len(head)) * daily_demand[-1] + walked * MIN_DAILY_DEMAND
    return on_hand > need * (1 + LASTS_BEYOND_MARGIN)


def recommended_quantity(on_hand: float, on_order: float, daily_demand: Sequence[float]) -> int:
    """Units to order so stock plus open orders cover the next COVER_DAYS days of forecast."""
    horizon = list(daily_demand[:COVER_DAYS])
    horizon += [daily_demand[-1]] * (COVER_DAYS - len(horizon))
    return max(0, math.ceil(sum(horizon) - on_hand - on_order))


def check_stockout(
    *,
    store_id: str,
    product_id: str,
    on_hand: float,
    on_order: float,
    daily_demand: Sequence[float],
    thresholds: StockoutThresholds = DEFAULT_THRESHOLDS,
    daily_arrivals: Sequence[float] = (),
    reorder_point: float | None = None,
) -> Finding | None:
    """A stockout finding for one SKU, or None when its stock lasts past the medium threshold.

    ``daily_arrivals[i]`` is the confirmed quantity arriving on day *i* (today is 0);
    ``reorder_point``, when the SKU's policy or the reorder rule knows it, goes in the metadata.
    """
    days = days_until_stockout(on_hand, daily_demand, daily_arrivals)
    severity = thresholds.severity(days)
    if severity is None:
        return None
    first_day = daily_demand[0]
    # Arrivals on or before the day the shelf empties were counted; later ones come too late.
    counted = sum(daily_arrivals[: math.floor(days) + 1])
    late = next(
        ((day, qty) for day, qty in enumerate(daily_arrivals) if day > days and qty > 0), None
    )
    quantity = recommended_quantity(on_hand, on_order, daily_demand)
    if quantity > 0:
        recommendation = (
            f"Order at least {quantity} units now to cover the next {COVER_DAYS} days"
            + (f" ({_fmt(on_order)} already on order)." if on_order else ".")
        )
    else:
        recommendation = (
            f"The {_fmt(on_order)} units on order cover the next {COVER_DAYS} days;"
            " make sure they arrive before the shelf is empty."
        )
    if late is not None:
        recommendation += (
            f" The {_fmt(late[1])} units due in {late[0]} days arrive after the shelf is empty:"
            " expedite them."
        )
    when = "is out of stock" if on_hand <= 0 and not counted else f"runs out in {days:.1f} days"
    arriving = f", {_fmt(counted)} arriving in time counted" if counted else ""
    message = (
        f"Product {product_id} at store {store_id} {when}"
        f" ({_fmt(on_hand)} on hand, forecast {_fmt(first_day)}/day{arriving})."
    )
    return Finding(
        store_id=store_id,
        product_id=product_id,
        alert_type=ALERT_TYPE,
        severity=severity,
        message=message,
        metadata={
            "current_stock": on_hand,
            "on_order": on_order,
            "daily_demand": first_day,
            "days_until_stockout": round(days, 4),
            "forecast_horizon_days": len(daily_demand),
            "arrivals_counted": counted,
            "late_arrival": None if late is None else {"in_days": late[0], "quantity": late[1]},
            "reorder_point": None if reorder_point is None else round(reorder_point, 2),
            "recommended_quantity": quantity,
            "recommendation": recommendation,
        },
    )


def _fmt(value: float) -> str:
    return f"{value:g}"
