"""The thresholds that tune the reorder, anomaly and accuracy rules, with their defaults.

A customer may override any of them (the ``customer_rule_settings`` table, filled by
``shelfops-alerts import rule-settings FILE``); a value it leaves empty takes the default
below. The stockout thresholds (days until stockout) live apart, in ``customer_thresholds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class RuleSettings:
    """One customer's rule thresholds; every field has a documented default."""

    #: Service level used for safety stock when a SKU's policy gives none (a fraction).
    service_level: float = 0.95
    #: Trailing days of sales (and the forecasts for those days) the rules look back on:
    #: the WAPE window, the anomaly baseline and the demand variability for safety stock.
    history_days: int = 28
    #: Fewest days of history a rule needs before it judges a SKU at all.
    min_history_days: int = 7
    #: Robust score (residual over the scaled MAD of recent residuals) from which a day's
    #: sales are an anomaly; twice this is a high-severity anomaly.
    anomaly_z: float = 4.0
    #: Fewest units (sold or forecast, whichever is larger) a day needs to be judged, so
    #: slow sellers, whose counts are noisy, never alarm.
    anomaly_min_units: float = 10.0
    #: Consecutive days without a sale (up to yesterday) that, with stock on hand, suggest
    #: phantom inventory.
    phantom_days: int = 3
    #: Units the forecast must have expected over those days for the silence to count:
    #: with 10 expected, a true zero has a Poisson chance below 0.005 %.
    phantom_min_expected: float = 10.0
    #: WAPE over the history window above which the forecast is flagged as inaccurate;
    #: above twice this, at medium severity.
    accuracy_wape: float = 0.5
    #: Fewest units sold over the window for a SKU's accuracy to be judged.
    accuracy_min_units: float = 50.0

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_overrides(cls, values: Mapping[str, Any]) -> RuleSettings:
        """Defaults, with each non-None value of ``values`` (by field name) put over them."""
        chosen = {name: values[name] for name in FIELD_NAMES if values.get(name) is not None}
        for name in INTEGER_FIELDS:
            if name in chosen:
                chosen[name] = int(chosen[name])
        return cls(**chosen)


def validate(settings: Any) -> list[str]:
    """What is wrong with a settings object (each problem names its field)."""
    problems = []
    if not 0.5 <= settings.service_level < 1:
        problems.append(f"service_level must be >= 0.5 and < 1, got {settings.service_level}")
    for name in ("history_days", "min_history_days", "phantom_days"):
        if getattr(settings, name) < 1:
            problems.append(f"{name} must be at least 1, got {getattr(settings, name)}")
    if settings.min_history_days > settings.history_days:
        problems.append(
            f"min_history_days ({settings.min_history_days}) must not exceed"
            f" history_days ({settings.history_days})"
        )
    if settings.phantom_days > settings.history_days:
        problems.append(
            f"phantom_days ({settings.phantom_days}) must not exceed"
            f" history_days ({settings.history_days})"
        )
    for name in ("anomaly_z", "accuracy_wape", "accuracy_min_units", "phantom_min_expected"):
        if not getattr(settings, name) > 0:
            problems.append(f"{name} must be greater than 0, got {getattr(settings, name)}")
    if settings.anomaly_min_units < 0:
        problems.append(f"anomaly_min_units must be >= 0, got {settings.anomaly_min_units}")
    return problems


FIELD_NAMES = tuple(f.name for f in fields(RuleSettings))
INTEGER_FIELDS = ("history_days", "min_history_days", "phantom_days")
DEFAULT_RULE_SETTINGS = RuleSettings()
