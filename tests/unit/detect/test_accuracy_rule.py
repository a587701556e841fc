"""The forecast-accuracy rule on hand-worked WAPE values, and the rule settings it reads."""

from __future__ import annotations

import datetime as dt

import pytest

from shelfops_alerts.detect.rules import NotEnoughHistory, RuleSettings, SalesDay, check_accuracy

START = dt.date(2026, 3, 1)


def days(units: list[float], forecasts: list[float | None]) -> list[SalesDay]:
    return [
        SalesDay(START + dt.timedelta(days=n), u, f)
        for n, (u, f) in enumerate(zip(units, forecasts, strict=True))
    ]


def judge(history, **settings):
    return check_accuracy(
        store_id="S1", product_id="P1", history=history, settings=RuleSettings(**settings)
    )


def test_accurate_forecast_is_fine():
    # Sold 9, 11 alternating against 10: Σ|e| = 14, Σ actual = 140 over 14 days: WAPE 0.1.
    assert judge(days([9, 11] * 7, [10] * 14)) is None


def test_wape_above_the_threshold_is_low():
    # Forecast 10, sold 30 every day: |e| 20 per 30 sold → WAPE 2/3, under-forecast.
    found = judge(days([30] * 14, [10] * 14))
    assert found is not None
    assert (found.alert_type, found.severity) == ("forecast_accuracy_low", "low")
    meta = found.metadata
    assert meta["wape"] == pytest.approx(0.6667, abs=1e-4)
    assert (meta["actual_units"], meta["forecast_units"]) == (420, 140)
    assert meta["bias"] == pytest.approx(-0.6667, abs=1e-4)
    assert (meta["days_compared"], meta["first_day"], meta["last_day"]) == (
        14,
        "2026-03-01",
        "2026-03-14",
    )
    assert "67%" in found.message and "under-forecast" in found.message


def test_wape_above_twice_the_threshold_is_medium():
    # Forecast 40, sold 10: |e| 30 per 10 sold → WAPE 3.0 > 1.0, over-forecast.
    found = judge(days([10] * 14, [40] * 14))
    assert found is not None and found.severity == "medium"
    assert found.metadata["wape"] == 3.0
    assert "over-forecast" in found.message


def test_exactly_at_the_threshold_is_not_flagged():
    # Forecast 10, sold 20: WAPE 10/20 = 0.5, which is not above 0.5.
    assert judge(days([20] * 14, [10] * 14)) is None
    assert judge(days([20] * 14, [10] * 14), accuracy_wape=0.4) is not None


def test_slow_sellers_are_judged_but_not_flagged():
    # 3 a day over 14 days = 42 < 50 units: no alert however bad the forecast.
    assert judge(days([3] * 14, [30] * 14)) is None
    assert judge(days([3] * 14, [30] * 14), accuracy_min_units=40) is not None


def test_only_days_with_a_forecast_count_and_enough_are_needed():
    # 6 days with a forecast < min_history_days 7: cannot judge.
    with pytest.raises(NotEnoughHistory):
        judge(days([30] * 10, [10] * 6 + [None] * 4))
    # With min_history_days 6 they are judged: 6 × 30 = 180 sold, WAPE 2/3.
    found = judge(days([30] * 10, [10] * 6 + [None] * 4), min_history_days=6)
    assert found is not None and found.metadata["days_compared"] == 6


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"service_level": 1.0}, "service_level must be >= 0.5 and < 1"),
        ({"min_history_days": 30}, "min_history_days (30) must not exceed history_days (28)"),
        ({"phantom_days": 0}, "phantom_days must be at least 1"),
        ({"accuracy_wape": 0}, "accuracy_wape must be greater than 0"),
    ],
)
def test_rule_settings_refuse_nonsense(values, error):
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")):
        RuleSettings(**values)


def test_overrides_fill_in_defaults():
    settings = RuleSettings.from_overrides({"history_days": 56.0, "anomaly_z": None, "x": 1})
    assert settings.history_days == 56 and isinstance(settings.history_days, int)
    assert settings.anomaly_z == 4.0
