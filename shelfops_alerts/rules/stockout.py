"""The stockout rule: how many days until a SKU's shelf is empty, and how bad that is.

Stock on hand is walked against the daily forecast from today (UTC) on. On day *i* the
shelf loses ``max(demand_i, MIN_DAILY_DEMAND)`` units; the day it cannot cover is counted
fractionally. When the forecast horizon ends before the stock does, the last forecast day's
demand is assumed to continue, so a flat forecast of any length gives exactly
``on_hand / max(daily_demand, MIN_DAILY_DEMAND)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shelfops_alerts.rules.finding import Finding

ALERT_TYPE = "stockout_predicted"
#: Demand below this (units/day) is treated as this, so a zero forecast cannot divide by zero
#: nor make any stock look infinite.
MIN_DAILY_DEMAND = 0.1
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
            return "critical"
        if days <= self.high_days:
            return "high"
        if days <= self.medium_days:
            return "medium"
        return None


DEFAULT_THRESHOLDS = StockoutThresholds()


def days_until_stockout(on_hand: float, daily_demand: Sequence[float]) -> float:
    """Days the stock lasts against the forecast (``daily_demand[0]`` is today).

    Raises ValueError for negative stock, a negative or non-finite demand, or no forecast.
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

    if all(d == demands[0] for d in demands):
        # The flat case is computed by the formula itself, so it is exact (no float drift
        # from repeated subtraction).
        return on_hand / demands[0]

    remaining = on_hand
    for day, demand in enumerate(demands):
        if remaining <= demand:
            return day + remaining / demand
        remaining -= demand
    return len(demands) + remaining / demands[-1]


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
) -> Finding | None:
    """A stockout finding for one SKU, or None when its stock lasts past the medium threshold."""
    days = days_until_stockout(on_hand, daily_demand)
    severity = thresholds.severity(days)
    if severity is None:
        return None
    first_day = daily_demand[0]
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
    when = "is out of stock" if on_hand <= 0 else f"runs out in {days:.1f} days"
    message = (
        f"Product {product_id} at store {store_id} {when}"
        f" ({_fmt(on_hand)} on hand, forecast {_fmt(first_day)}/day)."
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
            "reorder_point": None,
            "recommended_quantity": quantity,
            "recommendation": recommendation,
        },
    )


def _fmt(value: float) -> str:
    return f"{value:g}"
