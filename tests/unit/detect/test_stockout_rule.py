"""The stockout rule on its own: plain numbers in, a finding (or none) out."""

import random

import pytest

from shelfops_alerts.detect.rules import (
    DEFAULT_THRESHOLDS,
    StockoutThresholds,
    check_stockout,
    days_until_stockout,
)
from shelfops_alerts.detect.rules.stockout import (
    MIN_DAILY_DEMAND,
    lasts_beyond,
    recommended_quantity,
)


def finding_for(on_hand, demand, on_order=0.0, thresholds=DEFAULT_THRESHOLDS):
    return check_stockout(
        store_id="S1",
        product_id="P1",
        on_hand=on_hand,
        on_order=on_order,
        daily_demand=demand,
        thresholds=thresholds,
    )


@pytest.mark.parametrize(
    ("on_hand", "demand", "expected"),
    [
        (10, 4, 2.5),
        (7, 3, 7 / 3),
        (0.3, 0.2, 0.3 / 0.2),
        (1, 3, 1 / 3),
        (100, 7, 100 / 7),
        (2, 0.05, 20.0),
    ],
)
def test_flat_forecast_gives_exactly_the_formula(on_hand, demand, expected):
    # Given a flat forecast of any length, when we walk it, then on_hand / max(demand, 0.1)
    # holds to the last bit (no drift from repeated subtraction).
    for horizon in (1, 5, 14):
        assert days_until_stockout(on_hand, [demand] * horizon) == expected


def test_zero_demand_is_floored_not_divided_by():
    # Given no forecast demand at all, the floor of 0.1/day applies.
    assert days_until_stockout(5, [0.0] * 14) == 5 / MIN_DAILY_DEMAND
    # 0.15 units at 0.1/day last 1.5 days: high.
    assert finding_for(0.15, [0.0] * 14).severity == "high"


def test_fractional_demand_below_floor():
    # 0.05/day is floored to 0.1/day: 0.1 units last exactly one day, which is critical.
    assert days_until_stockout(0.1, [0.05, 0.05]) == 1.0
    assert finding_for(0.1, [0.05, 0.05]).severity == "critical"


def test_empty_shelf_is_critical_now():
    found = finding_for(0, [5, 5, 5])
    assert found.severity == "critical"
    assert found.metadata["days_until_stockout"] == 0
    assert found.message == "Product P1 at store S1 is out of stock (0 on hand, forecast 5/day)."


@pytest.mark.parametrize(
    ("on_hand", "severity"),
    [
        (10, "critical"),
        (10.001, "high"),
        (20, "high"),
        (20.5, "medium"),
        (30, "medium"),
        (30.01, None),
    ],
)
def test_running_out_exactly_on_a_threshold_takes_the_worse_severity(on_hand, severity):
    # Given 10 units a day, 10 on hand is exactly 1 day (critical), 20 is 2 (high), 30 is 3.
    found = finding_for(on_hand, [10] * 7)
    assert (found.severity if found else None) == severity


def test_non_flat_forecast_walks_day_by_day():
    # Given 12 on hand and demand 2, 4, 8, 8: day 0 leaves 10, day 1 leaves 6, and day 2
    # needs 8 of which 6 remain: 2 + 6/8 = 2.75 days. The flat formula on day 0 says 6.
    demand = [2, 4, 8, 8]
    assert days_until_stockout(12, demand) == pytest.approx(2.75)
    assert 12 / demand[0] == 6
    found = finding_for(12, demand)
    assert found.severity == "medium"
    assert found.metadata["daily_demand"] == 2


def test_spike_tomorrow_alerts_where_the_flat_formula_would_not():
    # Given 12 on hand and 3 today then 30 a day: today leaves 9, which covers 9/30 of
    # tomorrow, so 1.3 days (high). The flat formula on today's demand says 12/3 = 4 days.
    assert days_until_stockout(12, [3, 30, 30]) == pytest.approx(1.3)
    assert finding_for(12, [3, 30, 30]).severity == "high"
    assert finding_for(12, [3] * 3) is None


def test_forecast_horizon_ending_first_continues_the_last_day():
    # Given 2 days of forecast (5, then 2) and 11 on hand: after the horizon 4 units remain,
    # which last 4/2 = 2 more days at the last day's demand: 4 days in all, no alert.
    assert days_until_stockout(11, [5, 2]) == pytest.approx(4.0)
    assert finding_for(11, [5, 2]) is None


def test_custom_thresholds():
    strict = StockoutThresholds(critical_days=2, high_days=4, medium_days=7)
    assert finding_for(15, [10] * 7, thresholds=strict).severity == "critical"
    assert finding_for(60, [10] * 7, thresholds=strict).severity == "medium"
    with pytest.raises(ValueError, match="critical_days <= high_days"):
        StockoutThresholds(critical_days=3, high_days=2, medium_days=4)


def test_metadata_and_message_carry_the_facts():
    found = finding_for(15, [10] * 14, on_order=20)
    assert found.alert_type == "stockout_predicted"
    assert found.metadata["current_stock"] == 15
    assert found.metadata["daily_demand"] == 10
    assert found.metadata["days_until_stockout"] == 1.5
    assert found.metadata["reorder_point"] is None
    assert found.metadata["recommended_quantity"] == 70 - 15 - 20
    assert "Order at least 35 units" in found.metadata["recommendation"]
    assert found.message == (
        "Product P1 at store S1 runs out in 1.5 days (15 on hand, forecast 10/day)."
    )


def test_recommended_quantity_is_never_negative():
    assert recommended_quantity(5, 1000, [10] * 7) == 0


@pytest.mark.parametrize(
    ("on_hand", "demand", "error"),
    [
        (-1, [1], "on_hand"),
        (float("nan"), [1], "on_hand"),
        (5, [], "at least one day"),
        (5, [1, -2], "daily demand"),
        (5, [float("inf")], "daily demand"),
    ],
)
def test_bad_input_is_a_clear_error(on_hand, demand, error):
    with pytest.raises(ValueError, match=error):
        days_until_stockout(on_hand, demand)


def test_arrival_in_time_prevents_the_stockout():
    # Given 15 on hand and 10 a day (1.5 days: high), when 100 arrive tomorrow:
    # day 0 leaves 5, day 1 has 105: 115 units in all last 11.5 days: no alert.
    assert finding_for(15, [10] * 14).severity == "high"
    assert days_until_stockout(15, [10] * 14, [0, 100]) == pytest.approx(11.5)
    assert (
        check_stockout(
            store_id="S1",
            product_id="P1",
            on_hand=15,
            on_order=100,
            daily_demand=[10] * 14,
            daily_arrivals=[0, 100],
        )
        is None
    )


def test_arrival_on_the_day_the_shelf_would_empty_counts():
    # 10 on hand exactly covers today; 10 arriving tomorrow cover tomorrow: 2 days (high),
    # not 1 (critical). Without the arrival, 1 day.
    assert days_until_stockout(10, [10] * 7, [0, 10]) == 2.0
    assert days_until_stockout(10, [10] * 7, [0, 0]) == 1.0


def test_late_arrival_does_not_prevent_the_stockout_and_is_named():
    # 15 on hand at 10 a day empties at 1.5 days; 50 arrive on day 3, too late.
    found = check_stockout(
        store_id="S1",
        product_id="P1",
        on_hand=15,
        on_order=50,
        daily_demand=[10] * 14,
        daily_arrivals=[0, 0, 0, 50],
    )
    assert found is not None and found.severity == "high"
    assert found.metadata["days_until_stockout"] == 1.5
    assert found.metadata["arrivals_counted"] == 0
    assert found.metadata["late_arrival"] == {"in_days": 3, "quantity": 50}
    assert "due in 3 days arrive after the shelf is empty" in found.metadata["recommendation"]


def test_small_arrival_delays_but_does_not_prevent():
    # 5 on hand, 10 a day, 10 arriving tomorrow: the shelf empties halfway through today,
    # before the arrival, so 0.5 days (critical).
    assert days_until_stockout(5, [10] * 7, [0, 10]) == 0.5
    # 5 on hand and 10 arriving today: 15 → 1.5 days (high), 10 counted.
    found = finding_for(5, [10] * 7)
    assert found.severity == "critical"
    today = check_stockout(
        store_id="S1",
        product_id="P1",
        on_hand=5,
        on_order=10,
        daily_demand=[10] * 7,
        daily_arrivals=[10],
    )
    assert today is not None and today.severity == "high"
    assert today.metadata["arrivals_counted"] == 10
    assert today.message.endswith("(5 on hand, forecast 10/day, 10 arriving in time counted).")


def test_arrivals_past_the_forecast_horizon_extend_the_walk():
    # 2 days of forecast at 10/day, 25 on hand, 30 arriving on day 2 (past the horizon):
    # days 0-1 leave 5, day 2 has 35 → 3.5 more days at the last demand: 5.5 days.
    assert days_until_stockout(25, [10, 10], [0, 0, 30]) == pytest.approx(5.5)


def test_negative_arrival_is_a_clear_error():
    with pytest.raises(ValueError, match="an arrival must be"):
        days_until_stockout(5, [1], [-1])


def test_lasts_beyond_is_only_true_where_the_rule_finds_nothing() -> None:
    """Given 20,000 random SKUs (short and long horizons, demand below the 0.1 floor, stock at
    and around the thresholds, custom thresholds), when lasts_beyond says the stock outlasts
    the medium threshold, then check_stockout finds nothing for that SKU; and it says so for
    most SKUs far from a stockout."""
    rng = random.Random(12)
    said, far = 0, 0
    for _ in range(20_000):
        thresholds = rng.choice(
            [StockoutThresholds(), StockoutThresholds(0.5, 1.5, 2.5), StockoutThresholds(2, 4, 7)]
        )
        base = rng.choice([0.0, 0.05, 0.1, 1.0, 7.3, 120.0])
        demand = [max(0.0, base * rng.uniform(0.5, 1.5)) for _ in range(rng.randint(1, 14))]
        cover = rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 7.0, 8.0, 30.0])
        on_hand = round(sum(demand[:3]) / 3 * cover + rng.choice([-0.1, 0, 0.1]), 1)
        on_hand = max(on_hand, 0.0)
        kwargs = {"store_id": "S", "product_id": "P", "on_hand": on_hand, "on_order": 0.0}
        finding = check_stockout(**kwargs, daily_demand=demand, thresholds=thresholds)
        if lasts_beyond(on_hand, demand, (), thresholds.medium_days):
            said += 1
            assert finding is None, (on_hand, demand, thresholds)
        if days_until_stockout(on_hand, demand) > 2 * thresholds.medium_days + 2:
            far += 1
    assert said > 0.8 * far


def test_lasts_beyond_leaves_what_the_rule_refuses_to_the_rule() -> None:
    """Given a NaN, infinite or negative demand, arrivals, or no forecast, when asked,
    then lasts_beyond is unsure (so the rule itself judges, or refuses, the SKU)."""
    for demand in ([1.0, float("nan")], [1.0, float("inf")], [1.0, -1.0], []):
        assert not lasts_beyond(1000.0, demand, (), 3.0)
    assert not lasts_beyond(1000.0, [1.0], [5.0], 3.0)
    assert not lasts_beyond(float("nan"), [1.0], (), 3.0)
    assert lasts_beyond(1000.0, [1.0], (), 3.0)
