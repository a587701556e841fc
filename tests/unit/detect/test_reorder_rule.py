"""The reorder rule on hand-worked numbers: position, reorder point, quantity, severity."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from shelfops_alerts.detect.rules import Policy, RuleSettings, SalesDay, check_reorder
from shelfops_alerts.detect.rules.reorder import demand_sigma, lead_time_demand, order_quantity

TODAY = dt.date(2026, 3, 29)
#: z for a 95 % service level, to 6 places (standard normal tables).
Z95 = 1.644854


def days_back(units: list[float], forecasts: list[float | None]) -> list[SalesDay]:
    """History ending yesterday: the last value is yesterday's."""
    start = TODAY - dt.timedelta(days=len(units))
    return [
        SalesDay(start + dt.timedelta(days=n), u, f)
        for n, (u, f) in enumerate(zip(units, forecasts, strict=True))
    ]


def reorder(on_hand=20.0, on_order=10.0, demand=None, policy=None, history=(), **settings):
    return check_reorder(
        store_id="S1",
        product_id="P1",
        on_hand=on_hand,
        on_order=on_order,
        daily_demand=demand or [10.0] * 14,
        policy=policy or Policy(lead_time_days=4),
        history=history,
        settings=RuleSettings(**settings),
    )


def test_lead_time_demand_sums_the_forecast_and_prorates_a_part_day():
    # Given demand 2, 4, 6 then the horizon ends: 2.5 days is 2 + 4 + 0.5·6 = 9,
    # and 5 days continue the last day: 2 + 4 + 6 + 6 + 6 = 24.
    assert lead_time_demand([2, 4, 6], 2.5) == 9
    assert lead_time_demand([2, 4, 6], 5) == 24


def test_sigma_comes_from_forecast_errors_then_sales_then_nothing():
    # Given 14 days with errors +2, -2, ...: the RMS error is 2.
    with_forecasts = days_back([12, 8] * 7, [10] * 14)
    assert demand_sigma(with_forecasts, min_days=7) == (2.0, "forecast_errors", 14)
    # Given sales 8, 12 alternating (7 days, no forecasts): sample stdev of [8,12,8,12,8,12,8].
    sales_only = days_back([8, 12, 8, 12, 8, 12, 8], [None] * 7)
    sigma, source, days = demand_sigma(sales_only, min_days=7)
    mean = 68 / 7
    expected = math.sqrt((4 * (8 - mean) ** 2 + 3 * (12 - mean) ** 2) / 6)
    assert (source, days) == ("sales", 7)
    assert sigma == pytest.approx(expected)
    # Given fewer days than min_history_days: no variability known.
    assert demand_sigma(sales_only[:3], min_days=7) == (0.0, "none", 0)


def test_order_quantity_meets_the_minimum_then_rounds_up_to_case_packs():
    # 56.58 needed, packs of 12: 5 packs = 60. A minimum of 70 first: 6 packs = 72.
    assert order_quantity(56.58, case_pack=12, min_order_qty=None) == 60
    assert order_quantity(56.58, case_pack=12, min_order_qty=70) == 72
    # Without a case pack, whole units; float noise does not cost a unit.
    assert order_quantity(56.58, case_pack=None, min_order_qty=None) == 57
    assert order_quantity(36.000000000001, case_pack=12, min_order_qty=None) == 36


def test_derived_reorder_point_from_forecast_errors():
    # Given 20 on hand + 10 on order = 30, demand 10/day, lead time 4 days (LTD 40),
    # forecast errors ±2 (σ = 2), 95 % service: SS = 1.644854 · 2 · 2 = 6.5794,
    # ROP = 46.5794. 30 <= ROP: reorder. Target ROP + LTD = 86.5794, need 56.5794,
    # packs of 12 → 60. Position 30 is below LTD 40: an order now arrives too late → high.
    history = days_back([12, 8] * 7, [10] * 14)
    found = reorder(policy=Policy(lead_time_days=4, case_pack=12), history=history)

    assert found is not None
    assert found.alert_type == "reorder_recommended"
    assert found.severity == "high"
    meta = found.metadata
    assert meta["inventory_position"] == 30
    assert meta["lead_time_demand"] == 40
    assert meta["z"] == pytest.approx(Z95, abs=1e-4)
    assert (meta["sigma_daily"], meta["sigma_source"], meta["sigma_days"]) == (
        2.0,
        "forecast_errors",
        14,
    )
    assert meta["safety_stock"] == pytest.approx(6.58, abs=0.005)
    assert meta["reorder_point"] == pytest.approx(46.58, abs=0.005)
    assert meta["reorder_point_source"] == "lead_time_demand_plus_safety_stock"
    assert meta["order_up_to"] == pytest.approx(86.58, abs=0.005)
    assert meta["order_up_to_source"] == "reorder_point_plus_lead_time_demand"
    assert meta["recommended_quantity"] == 60
    assert "order 60 units" in found.message


def test_medium_when_the_position_still_covers_the_lead_time():
    # Given a position of 45: above LTD 40, below ROP 46.58 → medium.
    history = days_back([12, 8] * 7, [10] * 14)
    found = reorder(on_hand=45, on_order=0, history=history)
    assert found is not None and found.severity == "medium"
    # And 47 is above the ROP: no finding.
    assert reorder(on_hand=47, on_order=0, history=history) is None


def test_policy_reorder_point_and_order_up_to_win():
    # Given ROP 50 and order-up-to 120 in the policy, position 50 (at the ROP, counts),
    # min order 80: need 70, raised to 80 → 80 units. Position 50 > LTD 40 → medium.
    policy = Policy(lead_time_days=4, reorder_point=50, order_up_to=120, min_order_qty=80)
    found = reorder(on_hand=50, on_order=0, policy=policy)

    assert found is not None and found.severity == "medium"
    assert found.metadata["reorder_point_source"] == "policy"
    assert "safety_stock" not in found.metadata
    assert found.metadata["order_up_to_source"] == "policy_order_up_to"
    assert found.metadata["recommended_quantity"] == 80
    assert reorder(on_hand=50.5, on_order=0, policy=policy) is None


def test_service_level_of_the_policy_beats_the_customer_default():
    # 99 % → z 2.326348; σ 2, L 4: SS 9.3054, ROP 49.31. Position 48 reorders at 99 % but
    # not at the customer's 95 % (ROP 46.58).
    history = days_back([12, 8] * 7, [10] * 14)
    strict = Policy(lead_time_days=4, service_level=0.99)
    found = reorder(on_hand=48, on_order=0, policy=strict, history=history)
    assert found is not None
    assert found.metadata["reorder_point"] == pytest.approx(49.31, abs=0.005)
    assert reorder(on_hand=48, on_order=0, history=history) is None
    assert reorder(on_hand=48, on_order=0, history=history, service_level=0.99) is not None


def test_no_history_means_no_safety_stock():
    found = reorder(on_hand=40, on_order=0)
    assert found is not None
    assert found.metadata["sigma_source"] == "none"
    assert found.metadata["reorder_point"] == 40
    assert found.metadata["recommended_quantity"] == 40  # up to ROP + LTD = 80


def test_nothing_to_order_without_demand():
    # Zero demand and an empty shelf: position 0 <= ROP 0, but the target is 0 too.
    assert reorder(on_hand=0, on_order=0, demand=[0.0] * 7) is None
