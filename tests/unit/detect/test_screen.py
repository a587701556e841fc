"""The reorder screen's σ bound: below it the reorder rule surely finds nothing."""

from __future__ import annotations

import datetime as dt
import math
import random

from shelfops_alerts.detect.rules import DEFAULT_RULE_SETTINGS, Policy, SalesDay, check_reorder
from shelfops_alerts.detect.rules.history import residuals, rms
from shelfops_alerts.detect.rules.screen import ALWAYS, reorder_sigma_bound

TODAY = dt.date(2026, 3, 2)


def history_with_sigma(sigma: float, days: int = 10) -> list[SalesDay]:
    """Days whose forecast errors all equal ``sigma`` (so their RMS is ``sigma``)."""
    return [SalesDay(TODAY - dt.timedelta(days=n), 20.0 + sigma, 20.0) for n in range(days, 0, -1)]


def test_a_policy_with_its_own_reorder_point_needs_no_history():
    # Given a policy that states its reorder point
    policy = Policy(lead_time_days=3, reorder_point=40)
    # Then the screen asks nothing of the history
    bound = reorder_sigma_bound(
        on_hand=10, on_order=0, daily_demand=[5.0], policy=policy, settings=DEFAULT_RULE_SETTINGS
    )
    assert bound is None


def test_a_position_below_lead_time_demand_always_goes_to_the_rule():
    # Given stock below what the lead time will sell
    policy = Policy(lead_time_days=4)
    # Then no σ can keep the rule quiet
    bound = reorder_sigma_bound(
        on_hand=10, on_order=0, daily_demand=[5.0], policy=policy, settings=DEFAULT_RULE_SETTINGS
    )
    assert bound == ALWAYS


def test_unusual_inputs_go_to_the_rule():
    # Given a NaN forecast, an infinite stock or a 50 % service level with no room
    nan = reorder_sigma_bound(
        on_hand=10,
        on_order=0,
        daily_demand=[math.nan],
        policy=Policy(lead_time_days=2),
        settings=DEFAULT_RULE_SETTINGS,
    )
    infinite = reorder_sigma_bound(
        on_hand=math.inf,
        on_order=0,
        daily_demand=[1.0],
        policy=Policy(lead_time_days=2),
        settings=DEFAULT_RULE_SETTINGS,
    )
    # Then the rule decides
    assert nan == ALWAYS and infinite == ALWAYS


def test_below_the_bound_the_rule_finds_nothing_and_above_it_may_fire():
    # Given many random SKUs with a policy, and the σ bound the screen computes for each
    rng = random.Random(12)
    checked = fired = 0
    for _ in range(2000):
        demand = [rng.uniform(0, 50) for _ in range(rng.randint(1, 14))]
        policy = Policy(
            lead_time_days=rng.choice((0.5, 1, 2.5, 7, 12)),
            service_level=rng.choice((None, 0.5, 0.9, 0.999)),
        )
        on_hand, on_order = rng.uniform(0, 600), rng.choice((0.0, rng.uniform(0, 100)))
        bound = reorder_sigma_bound(
            on_hand=on_hand,
            on_order=on_order,
            daily_demand=demand,
            policy=policy,
            settings=DEFAULT_RULE_SETTINGS,
        )
        assert bound is not None
        if bound == ALWAYS or bound == math.inf:
            continue
        # When the history's σ is just below the bound, and then a little above it
        for factor, may_fire in ((1 - 1e-7, False), (1.01, True)):
            history = history_with_sigma(bound * factor)
            finding = check_reorder(
                store_id="S",
                product_id="P",
                on_hand=on_hand,
                on_order=on_order,
                daily_demand=demand,
                policy=policy,
                history=history,
            )
            # Then below the bound the rule is quiet (as the screen promises)
            if not may_fire:
                checked += 1
                assert rms(residuals(history)) < bound
                assert finding is None
            elif finding is not None:
                fired += 1
    # And the bound is tight: just above it the rule fires for most SKUs
    assert checked > 500 and fired > checked // 2
