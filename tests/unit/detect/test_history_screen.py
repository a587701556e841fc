"""The numpy history screen (rules/screen.py, screen_history): a SKU it calls quiet is one
the anomaly, accuracy and reorder rules find nothing for; NaN, infinite and huge values,
gaps and days without a forecast go to the rules."""

from __future__ import annotations

import datetime as dt
import math
import random

import numpy as np
import pytest

from shelfops_alerts.detect.rules import DEFAULT_RULE_SETTINGS, RuleSettings, SalesDay
from shelfops_alerts.detect.rules.accuracy import check_accuracy
from shelfops_alerts.detect.rules.anomaly import check_anomaly
from shelfops_alerts.detect.rules.history import NotEnoughHistory, residuals, rms
from shelfops_alerts.detect.rules.screen import ALWAYS, screen_history

TODAY = dt.date(2026, 3, 2)
WIDTH = 28


def screened(
    histories: list[dict[int, tuple[float, float | None]]],
    *,
    every_day: list[bool] | None = None,
    sigma: list[float] | None = None,
    settings: RuleSettings = DEFAULT_RULE_SETTINGS,
    screen: bool = True,
):
    """Screen SKUs given as {day of the window: (units, forecast or None)}."""
    shape = (len(histories), WIDTH)
    sold, units = np.zeros(shape, dtype=bool), np.zeros(shape)
    forecast, has_forecast = np.zeros(shape), np.zeros(shape, dtype=bool)
    for row, days in enumerate(histories):
        for day, (sold_units, expected) in days.items():
            sold[row, day], units[row, day] = True, sold_units
            if expected is not None:
                forecast[row, day], has_forecast[row, day] = expected, True
    return screen_history(
        sold,
        units,
        forecast,
        has_forecast,
        every_day=np.array(every_day or [False] * len(histories), dtype=bool),
        reorder_sigma=np.array(sigma or [math.nan] * len(histories), dtype=float),
        settings=settings,
        screen=screen,
    )


def as_days(days: dict[int, tuple[float, float | None]]) -> list[SalesDay]:
    start = TODAY - dt.timedelta(days=WIDTH)
    return [
        SalesDay(start + dt.timedelta(days=day), units, expected)
        for day, (units, expected) in sorted(days.items())
    ]


def steady(
    level: float = 20.0, days: range = range(WIDTH)
) -> dict[int, tuple[float, float | None]]:
    return {day: (level + (1 if day % 2 else -1), level) for day in days}


def test_steady_sales_near_the_forecast_are_settled():
    # Given a month of sales within a unit of a forecast of 20 a day
    found = screened([steady()])
    # Then both rules can judge it, and it surely gets no finding
    assert found.kept[0] and found.accuracy_judged[0] and found.anomaly_judged[0]
    assert not found.needs_rules[0]


@pytest.mark.parametrize(
    "odd",
    [math.nan, math.inf, 1e200],
    ids=["nan", "infinity", "huge"],
)
@pytest.mark.parametrize("where", ["units", "forecast"])
def test_a_nan_infinite_or_huge_value_goes_to_the_rules(odd, where):
    # Given steady sales with one odd value among the earlier days
    days = steady()
    units, expected = days[5]
    days[5] = (odd, expected) if where == "units" else (units, odd)
    # Then the screen is unsure: the rules decide
    assert screened([days]).needs_rules[0]


def test_a_spike_yesterday_goes_to_the_rules():
    # Given steady sales, and yesterday five times the forecast
    days = steady()
    days[WIDTH - 1] = (100.0, 20.0)
    # Then the anomaly rule must look at it
    assert screened([days]).needs_rules[0]


def test_days_without_sales_are_unknown_not_zero():
    # Given steady sales with every third day missing (no sales row)
    days = {day: value for day, value in steady().items() if day % 3}
    found = screened([days])
    # Then the missing days count as nothing: still quiet and judged
    assert found.accuracy_judged[0] and not found.needs_rules[0]


def test_days_without_a_forecast_count_only_for_a_policy():
    # Given sales every day but no forecast on any of them, once without and once with a
    # policy whose reorder rule reads the history
    days = {day: (5.0, None) for day in range(WIDTH)}
    found = screened([days, days], every_day=[False, True], sigma=[math.nan, 10.0])
    # Then without a policy no rule reads them; with one, the reorder rule gets them (no
    # residuals to bound its σ), and neither anomaly nor accuracy can judge
    assert list(found.kept) == [False, True]
    assert not found.needs_rules[0] and found.needs_rules[1]
    assert not found.accuracy_judged.any() and not found.anomaly_judged.any()


def test_recent_zero_days_go_to_the_rules():
    # Given steady sales but nothing sold on each of the last three days
    days = steady()
    for day in range(WIDTH - 3, WIDTH):
        days[day] = (0.0, 20.0)
    # Then phantom inventory is possible: the rules decide
    assert screened([days]).needs_rules[0]


def test_the_reorder_bound_settles_only_a_small_sigma():
    # Given steady sales (σ of the residuals 1), against bounds above it, below it, ALWAYS
    found = screened([steady()] * 3, every_day=[True] * 3, sigma=[2.0, 0.5, ALWAYS])
    # Then only the bound above σ settles the SKU
    assert list(found.needs_rules) == [False, True, True]


def test_without_the_screen_every_kept_sku_goes_to_the_rules():
    found = screened([steady(), {}], screen=False)
    assert list(found.kept) == [True, False]
    assert list(found.needs_rules) == [True, False]


@pytest.mark.parametrize("seed", range(4))
def test_whatever_the_screen_settles_the_rules_find_nothing_for(seed):
    # Given many random SKUs: levels, noise, gaps, days without a forecast, odd values
    rng = random.Random(seed)
    settings = (
        DEFAULT_RULE_SETTINGS
        if seed % 2 == 0
        else RuleSettings.from_overrides(
            {"min_history_days": 1, "phantom_days": 1, "anomaly_z": 1.0, "accuracy_wape": 0.2}
        )
    )
    histories, sigmas = [], []
    for _ in range(400):
        level = rng.choice((0.0, 0.5, 3.0, 12.0, 80.0))
        noise = rng.choice((0.0, 0.1, 0.5, 2.0))
        days: dict[int, tuple[float, float | None]] = {}
        for day in range(WIDTH):
            if rng.random() < 0.2:
                continue
            expected = None if rng.random() < 0.1 else level
            units = max(0.0, round(level * (1 + rng.gauss(0, noise))))
            if rng.random() < 0.01:
                units = rng.choice((math.nan, math.inf, 1e200, 0.0))
            days[day] = (units, expected)
        histories.append(days)
        sigmas.append(rng.choice((math.nan, 0.5, 3.0, 50.0)))
    found = screened(histories, every_day=[True] * len(histories), sigma=sigmas, settings=settings)
    # Then every rule the screen settles for a SKU finds nothing for it (or cannot judge it,
    # as the screen says), even where another rule needs the SKU's days, and the reorder
    # rule's σ is below its bound
    settled = partly = 0
    for row, days in enumerate(histories):
        if not found.kept[row]:
            continue
        needs = (found.accuracy_needs[row], found.anomaly_needs[row], found.reorder_needs[row])
        assert found.needs_rules[row] == any(needs)
        settled += not any(needs)
        partly += any(needs) and not all(needs)
        history = as_days(days)
        if not found.accuracy_needs[row]:
            _assert_quiet_or_unjudged(
                lambda h=history: check_accuracy(
                    store_id="S", product_id="P", history=h, settings=settings
                ),
                judged=found.accuracy_judged[row],
            )
        if not found.anomaly_needs[row]:
            _assert_quiet_or_unjudged(
                lambda h=history: check_anomaly(
                    store_id="S",
                    product_id="P",
                    on_hand=1.0,
                    history=h,
                    today=TODAY,
                    settings=settings,
                ),
                judged=found.anomaly_judged[row],
            )
        if not found.reorder_needs[row] and not math.isnan(sigmas[row]):
            assert rms(residuals(history)) < sigmas[row]
    assert settled > 20 and partly > 20


def _assert_quiet_or_unjudged(rule, *, judged) -> None:
    """The rule finds nothing if the screen says it judges, else it cannot judge."""
    if judged:
        assert rule() is None
    else:
        with pytest.raises(NotEnoughHistory):
            rule()
