"""Stored forecast rows, or a stored horizon, become one demand value per day from today."""

import datetime as dt
import random

from shelfops_alerts.detect.rules.forecast_series import daily_series, horizon_series

TODAY = dt.date(2026, 11, 26)


def day(n):
    return TODAY + dt.timedelta(days=n)


def test_contiguous_days_are_kept_as_they_are():
    assert daily_series(TODAY, [day(0), day(1), day(2)], [1.0, 2.0, 3.0]) == [1, 2, 3]


def test_a_gap_repeats_the_previous_day():
    assert daily_series(TODAY, [day(0), day(3)], [4.0, 8.0]) == [4, 4, 4, 8]


def test_a_forecast_starting_later_takes_its_first_day_for_the_days_before():
    assert daily_series(TODAY, [day(2), day(3)], [5.0, 6.0]) == [5, 5, 5, 6]


def test_no_rows_no_series():
    assert daily_series(TODAY, [], []) == []


# A stored horizon (migration 0006) is one value per day from the first forecast date to
# the last, None on a day without one; the batch read cuts it at today as below.


def horizon(dates, demands):
    """The row the triggers store for these forecast rows: (start date, dense demands)."""
    by_date = dict(zip(dates, demands, strict=True))
    start, stop = min(dates), max(dates)
    span = (stop - start).days + 1
    return start, [by_date.get(start + dt.timedelta(days=n)) for n in range(span)]


def cut_at(today, start, demands):
    """What the batch read selects: (lead days, the slice from today)."""
    return max((start - today).days, 0), demands[max((today - start).days, 0) :]


def test_a_full_horizon_is_its_demands_from_today():
    # Given forecasts for yesterday to three days out; When cut at today
    lead, tail = cut_at(TODAY, *horizon([day(n) for n in range(-1, 3)], [9.0, 1.0, 2.0, 3.0]))
    # Then only today on counts
    assert horizon_series(lead, tail) == [1, 2, 3]


def test_today_inside_a_gap_takes_the_next_forecast_like_the_rows_did():
    # Given forecasts on day -1 and day 2 only; When cut at today (inside the gap)
    lead, tail = cut_at(TODAY, *horizon([day(-1), day(2)], [7.0, 5.0]))
    # Then yesterday's forecast does not leak in: the days before day 2 take day 2's
    assert tail == [None, None, 5.0]
    assert horizon_series(lead, tail) == [5, 5, 5]


def test_a_horizon_starting_later_is_led_by_its_first_day():
    lead, tail = cut_at(TODAY, *horizon([day(2), day(3)], [5.0, 6.0]))
    assert (lead, horizon_series(lead, tail)) == (2, [5, 5, 5, 6])


def test_a_horizon_that_ended_before_today_is_no_series():
    lead, tail = cut_at(TODAY, *horizon([day(-5), day(-1)], [1.0, 2.0]))
    assert horizon_series(lead, tail) == []


def test_horizons_walk_exactly_as_the_forecast_rows_do():
    # Given many random sparse forecasts (gaps, past days, late starts) and days to judge
    rng = random.Random(6)
    compared = with_gaps = 0
    for _ in range(2000):
        dates = sorted(rng.sample([day(n) for n in range(-10, 20)], rng.randint(1, 12)))
        demands = [round(rng.uniform(0, 50), 2) for _ in dates]
        today = day(rng.randint(-12, 22))
        start, dense = horizon(dates, demands)
        # When the horizon is cut at today, and the rows from today are walked as before
        lead, tail = cut_at(today, start, dense)
        from_today = [(d, v) for d, v in zip(dates, demands, strict=True) if d >= today]
        expected = daily_series(today, [d for d, _ in from_today], [v for _, v in from_today])
        # Then both give the same days
        assert horizon_series(lead, tail) == expected
        compared += bool(expected)
        with_gaps += None in tail
    # (and the draw exercised gaps and non-empty series, so the comparison means something)
    assert compared > 1000 and with_gaps > 500
