"""The reorder screen's σ bound: below it the reorder rule surely finds nothing."""

from __future__ import annotations

import datetime as dt
import math
import random

import numpy as np
import pytest

from shelfops_alerts.detect.rules import DEFAULT_RULE_SETTINGS, Policy, SalesDay, check_reorder
from shelfops_alerts.detect.rules.history import median, residuals, rms
from shelfops_alerts.detect.rules.reorder import z_score
from shelfops_alerts.detect.rules.screen import (
    ALWAYS,
    MATRIX_DAYS,
    demand_matrix,
    outlast,
    reorder_sigma_bound,
    reorder_sigma_bounds,
    row_medians,
)
from shelfops_alerts.detect.rules.stockout import lasts_beyond

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


def test_a_batch_gets_each_skus_own_bound():
    # Given SKUs of every shape in one batch: horizons of different lengths, lead times
    # within, at and past the horizon (whole and fractional), a NaN, infinite or huge
    # demand, a NaN or huge position, unusual service levels and lead times
    rng = random.Random(5)
    rows = []
    for _ in range(400):
        demand = [rng.choice((rng.uniform(0, 40), 0.0, 7.5)) for _ in range(rng.randint(1, 20))]
        if rng.random() < 0.05:
            demand[rng.randrange(len(demand))] = rng.choice((math.nan, math.inf, 1e200))
        unusual = rng.random() < 0.2
        policy = Policy(
            lead_time_days=rng.choice(
                (-1, math.nan, 1e7) if unusual else (0, 0.5, 1, 2.5, 7, 13.25, 30)
            ),
            service_level=rng.choice((1.0, 0.2, math.nan) if unusual else (None, 0.5, 0.9)),
        )
        on_hand = rng.choice((math.nan, 1e200, -5.0) if unusual else (rng.uniform(0, 800),))
        rows.append((on_hand, rng.uniform(0, 50), demand, policy))
    # When their bounds are computed at once
    matrix, counts = demand_matrix([demand for _, _, demand, _ in rows])
    batch = reorder_sigma_bounds(
        position=np.array([on_hand + on_order for on_hand, on_order, _, _ in rows]),
        lead_time=np.array([policy.lead_time_days for *_, policy in rows]),
        service_level=np.array(
            [policy.service_level or DEFAULT_RULE_SETTINGS.service_level for *_, policy in rows]
        ),
        demand=matrix,
        counts=counts,
    ).tolist()
    # Then each is the bound of that SKU alone (to the last bits of a sum, which the margin
    # covers), and some are real bounds
    alone = [
        reorder_sigma_bound(
            on_hand=on_hand,
            on_order=on_order,
            daily_demand=demand,
            policy=policy,
            settings=DEFAULT_RULE_SETTINGS,
        )
        for on_hand, on_order, demand, policy in rows
    ]
    assert [b if not 0 < b < math.inf else "bound" for b in batch] == [
        b if not 0 < b < math.inf else "bound" for b in alone
    ]
    assert batch == pytest.approx(alone, rel=1e-12)
    assert 50 < sum(0 < bound < math.inf for bound in batch) < len(rows) - 50
    # And lead times past the horizon sum the last day's demand for each day beyond it
    (long,) = reorder_sigma_bounds(
        position=np.array([1000.0]),
        lead_time=np.array([5.5]),
        service_level=np.array([0.9]),
        demand=np.array([[10.0, 20.0, 0.0]]),
        counts=np.array([2]),
    ).tolist()
    ltd = 10 + 20 * 4 + 0.5 * 20
    assert long == pytest.approx((1000 - ltd) / (z_score(0.9) * math.sqrt(5.5)), rel=1e-6)


def test_a_batch_outlasts_only_where_lasts_beyond_says_so():
    # Given SKUs near and far from a stockout, with horizons of every length, some with a
    # NaN, negative, infinite or huge demand or stock
    rng = random.Random(9)
    rows = []
    for _ in range(3000):
        demand = [rng.uniform(0, 30) for _ in range(rng.randint(0, 16))]
        if demand and rng.random() < 0.05:
            demand[rng.randrange(len(demand))] = rng.choice((math.nan, -1.0, math.inf, 1e200))
        need = sum(demand[:4]) + max(4 - len(demand), 0) * (demand[-1] if demand else 0)
        on_hand = rng.choice((need * rng.uniform(0.9, 1.1), need + 0.4, need * 3, math.nan, -1.0))
        rows.append((on_hand, demand))
    # When the batch is screened at once (a medium threshold of 3.5 days)
    matrix, counts = demand_matrix([demand for _, demand in rows])
    far = outlast(
        on_hand=np.array([on_hand for on_hand, _ in rows]),
        demand=matrix,
        counts=counts,
        days=3.5,
    ).tolist()
    # Then every SKU it finds far, lasts_beyond finds far too, and it misses only those
    # with a huge demand (left to lasts_beyond)
    alone = [lasts_beyond(on_hand, demand, (), 3.5) for on_hand, demand in rows]
    assert all(one for batch, one in zip(far, alone, strict=True) if batch)
    missed = [
        demand
        for (_, demand), batch, one in zip(rows, far, alone, strict=True)
        if one and not batch
    ]
    assert sum(far) > 500 and missed and all(max(demand) == 1e200 for demand in missed)


def test_a_horizon_too_long_for_the_matrix_is_left_to_the_per_sku_tests():
    # Given a batch of two SKUs alike but for the length of their horizon (the longer one
    # past the matrix's width)
    short, long = [5.0] * 14, [5.0] * (MATRIX_DAYS + 1)
    # When the batch is screened
    matrix, counts = demand_matrix([short, long])
    far = outlast(on_hand=np.array([1000.0, 1000.0]), demand=matrix, counts=counts, days=3.0)
    bounds = reorder_sigma_bounds(
        position=np.array([1000.0, 1000.0]),
        lead_time=np.array([3.0, 3.0]),
        service_level=np.array([0.9, 0.9]),
        demand=matrix,
        counts=counts,
    )
    # Then only the short one is settled by the batch screens (the long one's matrix row is
    # empty), though the per-SKU test finds both far from a stockout
    assert matrix.shape == (2, 14) and list(counts) == [14, 0]
    assert far.tolist() == [True, False]
    assert bounds[0] > 0 and bounds[1] == ALWAYS
    assert lasts_beyond(1000.0, long, (), 3.0)


def test_row_medians_are_the_medians_of_each_rows_numbers_without_nan():
    # Given rows of a batch's residuals: odd and even counts of numbers (one at least),
    # the rest NaN (days not among them), ties, signs and magnitudes mixed
    rng = random.Random(4)
    rows = []
    for _ in range(2000):
        count = rng.randint(1, 27)
        numbers = [
            rng.choice((rng.uniform(-50, 50), float(rng.randint(-3, 3)), 1e9)) for _ in range(count)
        ]
        row = numbers + [math.nan] * (27 - count)
        rng.shuffle(row)
        rows.append(row)
    values = np.array(rows)
    # When their medians are taken at once
    found = row_medians(values)
    # Then each is exactly the median of that row's numbers, as numpy's nanmedian and
    # the anomaly rule's own median (history.median) find it
    assert found.tolist() == np.nanmedian(values, axis=1).tolist()
    assert found.tolist() == [median([v for v in row if not math.isnan(v)]) for row in rows]


@pytest.mark.parametrize("lengths", [(14,), (0, 1, 14, 30), (5, MATRIX_DAYS, MATRIX_DAYS + 1)])
def test_the_demand_matrix_holds_each_horizon_as_its_row(lengths):
    # Given horizons of these lengths (all alike, ragged, empty, longer than the matrix)
    rng = random.Random(len(lengths))
    demands = [[rng.uniform(0, 50) for _ in range(rng.choice(lengths))] for _ in range(400)]
    # When the batch's matrix is made
    matrix, counts = demand_matrix(demands)
    # Then each row is its SKU's horizon, zeros after it (a horizon too long: none at all)
    width = max([len(d) for d in demands if len(d) <= MATRIX_DAYS] + [1])
    assert matrix.shape == (len(demands), width)
    for row, count, demand in zip(matrix.tolist(), counts.tolist(), demands, strict=True):
        kept = demand if len(demand) <= MATRIX_DAYS else []
        assert count == len(kept)
        assert row == kept + [0.0] * (width - len(kept))
