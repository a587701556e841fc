"""Stored forecast rows become one demand value per day from today."""

import datetime as dt

from shelfops_alerts.rules.forecast_series import daily_series

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
