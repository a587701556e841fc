"""The accuracy rule: is a SKU's forecast too far off its actual sales to trust?

Over the days of the history window (default the 28 days before today) that have both
sales and a forecast::

    WAPE = Σ |actual − forecast| / Σ actual

WAPE weighs each day by its volume, so a slow day's miss counts little (unlike MAPE, which
explodes on small actuals). A SKU is judged once it has ``min_history_days`` such days; one
that sold fewer than ``accuracy_min_units`` in them is too slow to judge fairly and gets no
alert. ``WAPE > accuracy_wape`` is ``low`` severity, ``WAPE > 2 · accuracy_wape`` is
``medium``: it concerns the forecasting model, not the shelf, so it is never urgent.
"""

from __future__ import annotations

from collections.abc import Sequence

from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.detect.rules.history import NotEnoughHistory, SalesDay, forecast_days
from shelfops_alerts.detect.rules.rule_settings import DEFAULT_RULE_SETTINGS, RuleSettings
from shelfops_alerts.vocabulary import FORECAST_ACCURACY_LOW, LOW, MEDIUM

ALERT_TYPE = FORECAST_ACCURACY_LOW


def check_accuracy(
    *,
    store_id: str,
    product_id: str,
    history: Sequence[SalesDay],
    settings: RuleSettings = DEFAULT_RULE_SETTINGS,
) -> Finding | None:
    """A low-accuracy finding for one SKU, or None.

    Raises :class:`NotEnoughHistory` with fewer than ``min_history_days`` days to compare.
    """
    days = forecast_days(history)
    if len(days) < settings.min_history_days:
        raise NotEnoughHistory(f"{store_id}/{product_id}: {len(days)} day(s) to compare")
    # (list comprehensions: the same sums in the same order, at half a generator's cost)
    actual = sum([d.units for d in days])
    if actual < settings.accuracy_min_units:
        return None
    forecast = sum([d.forecast or 0.0 for d in days])
    wape = sum([abs(d.units - (d.forecast or 0.0)) for d in days]) / actual
    if wape <= settings.accuracy_wape:
        return None
    severity = MEDIUM if wape > 2 * settings.accuracy_wape else LOW
    direction = "over" if forecast > actual else "under"
    return Finding(
        store_id=store_id,
        product_id=product_id,
        alert_type=ALERT_TYPE,
        severity=severity,
        message=(
            f"The forecast for product {product_id} at store {store_id} was off by"
            f" {wape:.0%} of actual sales (WAPE) over the last {len(days)} days;"
            f" it {direction}-forecast {_fmt(forecast)} against {_fmt(actual)} sold."
        ),
        metadata={
            "wape": round(wape, 4),
            "threshold": settings.accuracy_wape,
            "days_compared": len(days),
            "first_day": days[0].day.isoformat(),
            "last_day": days[-1].day.isoformat(),
            "actual_units": round(actual, 4),
            "forecast_units": round(forecast, 4),
            "bias": round((forecast - actual) / actual, 4),
        },
    )


def _fmt(value: float) -> str:
    return f"{value:g}"
