"""The anomaly rule: a recent day's sales far from the forecast, or stock that does not sell.

**Spikes and drops.** The judged day is the latest day, within the last ``RECENT_DAYS``
before today, that has both sales and a forecast. Its residual (actual − forecast) is
compared with the residuals of the earlier days of the history window (at least
``min_history_days`` of them)::

    score = (residual − median(baseline)) / scale
    scale = max(1.4826 · MAD(baseline), sqrt(max(forecast, 1)))

1.4826 · MAD estimates a standard deviation that a few wild days cannot inflate; the floor
``sqrt(forecast)`` is the noise of counting sales (Poisson), so a history of near-perfect
forecasts does not turn every small miss into an anomaly. ``|score| >= anomaly_z`` is an
anomaly (``medium``; ``high`` from twice ``anomaly_z``), provided the day sold or expected
at least ``anomaly_min_units``.

**Phantom inventory.** Stock on hand, and zero sales on each of the last ``phantom_days``
days while the forecast expected at least ``phantom_min_expected`` units over them: the
stock record likely shows goods that are not on the shelf. Severity ``high`` — sales are
being lost now and no replenishment rule will notice, since the record says stock is there.

When both hold, phantom inventory is reported (it explains the drop).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.detect.rules.history import NotEnoughHistory, SalesDay, forecast_days, median
from shelfops_alerts.detect.rules.rule_settings import DEFAULT_RULE_SETTINGS, RuleSettings
from shelfops_alerts.vocabulary import ANOMALY_DETECTED, HIGH, MEDIUM

ALERT_TYPE = ANOMALY_DETECTED
#: How many days back (before today) the judged day may lie; older sales are not news.
RECENT_DAYS = 3
#: Turns a median absolute deviation into an estimate of the standard deviation (normal data).
MAD_TO_SIGMA = 1.4826


def check_anomaly(
    *,
    store_id: str,
    product_id: str,
    on_hand: float,
    history: Sequence[SalesDay],
    today: dt.date,
    settings: RuleSettings = DEFAULT_RULE_SETTINGS,
) -> Finding | None:
    """An anomaly finding for one SKU, or None.

    Raises :class:`NotEnoughHistory` when neither check has the days it needs.
    """
    days = forecast_days(history)
    phantom = _phantom_days(days, today, settings)
    judged = _judged_day(days, today, settings)
    if phantom is None and judged is None:
        raise NotEnoughHistory(f"{store_id}/{product_id}: too few recent days with a forecast")
    if phantom is not None and on_hand > 0:
        expected = sum(d.forecast or 0.0 for d in phantom)
        if all(d.units == 0 for d in phantom) and expected >= settings.phantom_min_expected:
            return _phantom_finding(store_id, product_id, on_hand, phantom, expected)
    if judged is None:
        return None
    day, baseline = judged
    forecast = day.forecast or 0.0
    if max(day.units, forecast) < settings.anomaly_min_units:
        return None
    errors = [d.units - (d.forecast or 0.0) for d in baseline]
    centre = median(errors)
    mad = median([abs(e - centre) for e in errors])
    scale = max(MAD_TO_SIGMA * mad, math.sqrt(max(forecast, 1.0)))
    score = (day.units - forecast - centre) / scale
    if abs(score) < settings.anomaly_z:
        return None
    kind = "spike" if score > 0 else "drop"
    severity = HIGH if abs(score) >= 2 * settings.anomaly_z else MEDIUM
    return Finding(
        store_id=store_id,
        product_id=product_id,
        alert_type=ALERT_TYPE,
        severity=severity,
        message=(
            f"Product {product_id} at store {store_id} sold {_fmt(day.units)} on"
            f" {day.day.isoformat()} against a forecast of {_fmt(forecast)}: an unusual"
            f" {kind} (score {score:+.1f})."
        ),
        metadata={
            "kind": kind,
            "date": day.day.isoformat(),
            "actual_units": day.units,
            "forecast_units": forecast,
            "residual": round(day.units - forecast, 4),
            "baseline_median_residual": round(centre, 4),
            "scale": round(scale, 4),
            "score": round(score, 2),
            "threshold": settings.anomaly_z,
            "baseline_days": len(baseline),
        },
    )


def _judged_day(
    days: list[SalesDay], today: dt.date, settings: RuleSettings
) -> tuple[SalesDay, list[SalesDay]] | None:
    """The latest recent day and the earlier days of the window, if there are enough."""
    if not days or days[-1].day < today - dt.timedelta(days=RECENT_DAYS):
        return None
    baseline = days[:-1]
    if len(baseline) < settings.min_history_days:
        return None
    return days[-1], baseline


def _phantom_days(
    days: list[SalesDay], today: dt.date, settings: RuleSettings
) -> list[SalesDay] | None:
    """The last ``phantom_days`` days before today, if each has sales and a forecast."""
    wanted = [today - dt.timedelta(days=n) for n in range(settings.phantom_days, 0, -1)]
    last = days[-len(wanted) :]
    if [d.day for d in last] == wanted:
        # The usual case, the last days are the wanted ones (each once): no lookup needed.
        return last
    by_day = {d.day: d for d in days}
    if not all(day in by_day for day in wanted):
        return None
    return [by_day[day] for day in wanted]


def _phantom_finding(
    store_id: str, product_id: str, on_hand: float, days: list[SalesDay], expected: float
) -> Finding:
    return Finding(
        store_id=store_id,
        product_id=product_id,
        alert_type=ALERT_TYPE,
        severity=HIGH,
        message=(
            f"Product {product_id} at store {store_id} has sold nothing for {len(days)} days"
            f" although the forecast expected {_fmt(expected)} units and {_fmt(on_hand)} are"
            " on hand: the stock record may be wrong (phantom inventory). Check the shelf."
        ),
        metadata={
            "kind": "phantom_inventory",
            "current_stock": on_hand,
            "zero_sales_days": len(days),
            "since": days[0].day.isoformat(),
            "expected_units": round(expected, 4),
        },
    )


def _fmt(value: float) -> str:
    return f"{value:g}"
