"""The reorder rule: is the inventory position at or below the reorder point, and how much to order.

Inventory position is stock on hand plus stock on order. The reorder point (ROP) is the
policy's own when it gives one; otherwise it is derived::

    ROP = lead-time demand + z(service level) · σ_daily · sqrt(lead time in days)

where lead-time demand is the forecast summed over the lead time from today, z is the
standard normal quantile of the service level, and σ_daily is the root mean square of recent
daily forecast errors (actual − forecast), or, without enough forecast history, the standard
deviation of recent daily sales. With neither, there is no safety stock (σ = 0, and the
metadata says so).

The quantity brings the position up to the policy's ``order_up_to`` (or, without one, to
ROP + lead-time demand), at least the minimum order, rounded up to whole case packs.

Severity: ``high`` when the position is below the lead-time demand (an order placed now
arrives after the shelf is expected to be empty), otherwise ``medium``. Never critical:
an imminent empty shelf is the stockout rule's to call.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.detect.rules.history import SalesDay, residuals, rms
from shelfops_alerts.detect.rules.rule_settings import DEFAULT_RULE_SETTINGS, RuleSettings
from shelfops_alerts.vocabulary import HIGH, MEDIUM, REORDER_RECOMMENDED

ALERT_TYPE = REORDER_RECOMMENDED


@dataclass(frozen=True)
class Policy:
    """A SKU's replenishment policy, as imported; None means "not given"."""

    lead_time_days: float
    reorder_point: float | None = None
    order_up_to: float | None = None
    case_pack: float | None = None
    min_order_qty: float | None = None
    service_level: float | None = None


def lead_time_demand(daily_demand: Sequence[float], lead_time_days: float) -> float:
    """Forecast demand from today over ``lead_time_days`` (a fraction of a day counts pro rata).

    Past the forecast horizon the last day's demand is assumed to continue.
    """
    if not daily_demand:
        raise ValueError("daily_demand must hold at least one day")
    whole = math.floor(lead_time_days)
    days = list(daily_demand[: whole + 1])
    days += [daily_demand[-1]] * (whole + 1 - len(days))
    return sum(days[:whole]) + (lead_time_days - whole) * days[whole]


def demand_sigma(history: Sequence[SalesDay], *, min_days: int) -> tuple[float, str, int]:
    """σ of daily demand, where it came from (``forecast_errors``, ``sales`` or ``none``),
    and how many days it rests on."""
    errors = residuals(history)
    if len(errors) >= max(min_days, 1):
        return rms(errors), "forecast_errors", len(errors)
    if len(history) >= max(min_days, 2):
        return statistics.stdev(d.units for d in history), "sales", len(history)
    return 0.0, "none", 0


@functools.lru_cache(maxsize=256)
def z_score(service_level: float) -> float:
    """The standard normal quantile of ``service_level`` (cached: a batch asks for the same
    few service levels thousands of times)."""
    return statistics.NormalDist().inv_cdf(service_level)


def order_quantity(needed: float, *, case_pack: float | None, min_order_qty: float | None) -> float:
    """``needed`` raised to the minimum order, then rounded up to whole case packs (or units)."""
    quantity = max(needed, min_order_qty or 0.0)
    pack = case_pack or 1.0
    # Rounding to 9 places first keeps float noise (12.000000001) from costing a whole case.
    return math.ceil(round(quantity / pack, 9)) * pack


def check_reorder(
    *,
    store_id: str,
    product_id: str,
    on_hand: float,
    on_order: float,
    daily_demand: Sequence[float],
    policy: Policy,
    history: Sequence[SalesDay] = (),
    settings: RuleSettings = DEFAULT_RULE_SETTINGS,
) -> Finding | None:
    """A reorder finding when the position is at or below the reorder point, else None."""
    lead_time = policy.lead_time_days
    ltd = lead_time_demand(daily_demand, lead_time)
    position = on_hand + on_order
    service_level = policy.service_level or settings.service_level
    safety: dict[str, float | str | None] = {}
    if policy.reorder_point is not None:
        rop, source = policy.reorder_point, "policy"
    else:
        sigma, sigma_source, sigma_days = demand_sigma(history, min_days=settings.min_history_days)
        z = z_score(service_level)
        safety_stock = z * sigma * math.sqrt(lead_time)
        rop, source = ltd + safety_stock, "lead_time_demand_plus_safety_stock"
        safety = {
            "service_level": service_level,
            "z": round(z, 4),
            "sigma_daily": round(sigma, 4),
            "sigma_source": sigma_source,
            "sigma_days": sigma_days,
            "safety_stock": round(safety_stock, 2),
        }
    if position > rop:
        return None
    if policy.order_up_to is not None:
        target, target_source = policy.order_up_to, "policy_order_up_to"
    else:
        target, target_source = rop + ltd, "reorder_point_plus_lead_time_demand"
    if target - position <= 0:
        return None  # nothing to bring the position up to (e.g. no demand at all)
    quantity = order_quantity(
        target - position, case_pack=policy.case_pack, min_order_qty=policy.min_order_qty
    )
    severity = HIGH if position < ltd else MEDIUM
    late = " An order placed now arrives after the shelf is expected to be empty." * (
        severity == HIGH
    )
    return Finding(
        store_id=store_id,
        product_id=product_id,
        alert_type=ALERT_TYPE,
        severity=severity,
        message=(
            f"Reorder product {product_id} at store {store_id}: position {_fmt(position)}"
            f" ({_fmt(on_hand)} on hand + {_fmt(on_order)} on order) is at or below the"
            f" reorder point {rop:.1f}; order {_fmt(quantity)} units.{late}"
        ),
        metadata={
            "inventory_position": position,
            "current_stock": on_hand,
            "on_order": on_order,
            "reorder_point": round(rop, 2),
            "reorder_point_source": source,
            **safety,
            "lead_time_days": lead_time,
            "lead_time_demand": round(ltd, 2),
            "order_up_to": round(target, 2),
            "order_up_to_source": target_source,
            "case_pack": policy.case_pack,
            "min_order_qty": policy.min_order_qty,
            "recommended_quantity": quantity,
        },
    )


def _fmt(value: float) -> str:
    return f"{value:g}"
