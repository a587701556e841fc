"""The anomaly rule on hand-worked numbers: spikes, drops, slow sellers, phantom inventory."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from shelfops_alerts.detect.rules import NotEnoughHistory, RuleSettings, SalesDay, check_anomaly

TODAY = dt.date(2026, 3, 29)


def history(units: list[float], forecast: float = 20.0, *, end_days_ago: int = 1):
    """Days with ``forecast`` each, the last one ``end_days_ago`` days before today."""
    last = TODAY - dt.timedelta(days=end_days_ago)
    first = last - dt.timedelta(days=len(units) - 1)
    return [SalesDay(first + dt.timedelta(days=n), u, forecast) for n, u in enumerate(units)]


def judge(days, on_hand=100.0, **settings):
    return check_anomaly(
        store_id="S1",
        product_id="P1",
        on_hand=on_hand,
        history=days,
        today=TODAY,
        settings=RuleSettings(**settings),
    )


#: Residuals -2, -1, 0, 1, 2 twice: median 0, MAD 1 (1.4826 as σ), below the count-noise
#: floor sqrt(20) = 4.4721 for a forecast of 20.
QUIET = [18, 19, 20, 21, 22] * 2


@pytest.mark.parametrize(
    ("sold", "severity", "kind", "score"),
    [
        (50, "medium", "spike", 30 / math.sqrt(20)),  # 6.71: >= 4, < 8
        (60, "high", "spike", 40 / math.sqrt(20)),  # 8.94: >= 8
        (0, "medium", "drop", -20 / math.sqrt(20)),  # -4.47
    ],
)
def test_spike_or_drop_against_a_quiet_history(sold, severity, kind, score):
    found = judge(history([*QUIET, sold]))
    assert found is not None
    assert (found.alert_type, found.severity) == ("anomaly_detected", severity)
    assert found.metadata["kind"] == kind
    assert found.metadata["score"] == round(score, 2)
    assert found.metadata["scale"] == pytest.approx(math.sqrt(20), abs=1e-4)
    assert found.metadata["baseline_days"] == 10
    assert found.metadata["date"] == "2026-03-28"


def test_within_the_noise_is_no_anomaly():
    # 37 sold against 20: residual 17, 17 / 4.4721 = 3.80 < 4.
    assert judge(history([*QUIET, 37])) is None


def test_a_noisy_history_widens_the_scale():
    # Residuals -10, -5, 0, 5, 10 twice: median 0, MAD 5 → scale 7.413 > sqrt(20).
    # 50 sold: 30 / 7.413 = 4.05, an anomaly; 49 sold: 29 / 7.413 = 3.91, not.
    noisy = [10, 15, 20, 25, 30] * 2
    found = judge(history([*noisy, 50]))
    assert found is not None
    assert found.metadata["scale"] == pytest.approx(7.413, abs=1e-3)
    assert found.metadata["score"] == pytest.approx(4.05, abs=0.005)
    assert judge(history([*noisy, 49])) is None


def test_a_biased_forecast_is_judged_around_its_usual_miss():
    # Sales always 10 above the forecast: median residual 10. 30 sold against 20 is normal.
    biased = [28, 29, 30, 31, 32] * 2
    assert judge(history([*biased, 30])) is None
    found = judge(history([*biased, 60]))  # (40 - 10) / sqrt(20) = 6.71
    assert found is not None and found.metadata["baseline_median_residual"] == 10


def test_slow_sellers_do_not_alarm():
    # Forecast 2, sold 9: a score of 7/sqrt(2) = 4.95 but under 10 units either way.
    slow = history([2, 1, 2, 3, 2, 1, 2, 3, 9], forecast=2)
    assert judge(slow) is None
    assert judge(slow, anomaly_min_units=5) is not None


def test_custom_threshold():
    # 6.71 is an anomaly at z 4 but not at z 7.
    assert judge(history([*QUIET, 50]), anomaly_z=7) is None


def test_too_little_history_cannot_be_judged():
    # 6 baseline days < min_history_days 7, and yesterday is missing (no phantom run to judge).
    with pytest.raises(NotEnoughHistory):
        judge(history([18, 19, 20, 21, 22, 20, 50], end_days_ago=2))
    # With yesterday present the last 3 days can be judged for phantom stock (none here).
    assert judge(history([18, 19, 20, 21, 22, 20, 50])) is None
    # A day older than three days is not news either.
    with pytest.raises(NotEnoughHistory):
        judge(history([*QUIET, 50], end_days_ago=4))
    # Days without a forecast are not compared.
    without = [SalesDay(d.day, d.units, None) for d in history([*QUIET, 50])]
    with pytest.raises(NotEnoughHistory):
        judge(without)


def test_phantom_inventory_when_stock_sits_unsold():
    # Given 3 days of zero sales (forecast 20/day: 60 expected) and 40 on hand.
    found = judge(history([*QUIET, 0, 0, 0]), on_hand=40)
    assert found is not None
    assert (found.severity, found.metadata["kind"]) == ("high", "phantom_inventory")
    assert found.metadata["expected_units"] == 60
    assert found.metadata["zero_sales_days"] == 3
    assert found.metadata["since"] == "2026-03-26"
    assert "phantom inventory" in found.message


def test_phantom_needs_stock_enough_expected_demand_and_every_day():
    zeros = [*QUIET, 0, 0, 0]
    # Empty shelf: zero sales are explained; yesterday is judged as a plain drop instead.
    empty = judge(history(zeros), on_hand=0)
    assert empty is not None and empty.metadata["kind"] == "drop"
    # Forecast 3/day: 9 expected over 3 days < 10, and below the anomaly volume too.
    assert judge(history(zeros, forecast=3)) is None
    # A sale on one of the days breaks the run.
    assert judge(history([*QUIET, 0, 1, 0])).metadata["kind"] == "drop"


def test_phantom_alone_can_be_judged_on_a_short_history():
    # Only the last 3 days exist (no baseline for a spike): phantom is still judged...
    found = judge(history([0, 0, 0]), on_hand=10)
    assert found is not None and found.metadata["kind"] == "phantom_inventory"
    # ...and when they show sales, the SKU is judged fine, not skipped.
    assert judge(history([20, 20, 20])) is None
    # Missing one of the 3 days, and no baseline: nothing to judge.
    with pytest.raises(NotEnoughHistory):
        judge(history([0, 0], end_days_ago=1))
