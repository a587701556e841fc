"""The floors retention never goes below: the rules' window, the re-open window, redelivery."""

from __future__ import annotations

import datetime as dt

import pytest

from shelfops_alerts.config import load_settings
from shelfops_alerts.retention.policy import DAY_S, Retention, input_cutoff

TODAY = dt.date(2026, 12, 5)
URLS = {"SHELFOPS_DATABASE_URL": "postgresql://u@h/db", "SHELFOPS_REDIS_URL": "redis://h:1/0"}


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_the_settings_give_the_days_kept():
    retention = Retention.from_settings(
        load_settings(
            {
                **URLS,
                "SHELFOPS_RETAIN_HISTORY_DAYS": "120",
                "SHELFOPS_RETAIN_DELIVERIES_DAYS": "14",
                "SHELFOPS_RETAIN_FORECAST_DAYS": "60",
                "SHELFOPS_RETAIN_SALES_DAYS": "45",
            }
        )
    )
    assert retention.history_age_s == 120 * DAY_S
    assert retention.deliveries_age_s == 14 * DAY_S
    assert retention.forecast_cutoff(TODAY, longest_history_days=0) == TODAY - dt.timedelta(60)
    assert retention.sales_cutoff(TODAY, longest_history_days=0) == TODAY - dt.timedelta(45)


def test_the_defaults_keep_a_quarter_of_history_and_a_month_of_mail():
    retention = Retention.from_settings(load_settings(URLS))
    assert (retention.history_days, retention.deliveries_days) == (90, 30)
    assert (retention.forecast_days, retention.sales_days) == (90, 90)


@pytest.mark.parametrize("bad", ["0", "-3", "1.5", "many"])
def test_a_bad_retention_setting_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="SHELFOPS_RETAIN_SALES_DAYS"):
        load_settings({**URLS, "SHELFOPS_RETAIN_SALES_DAYS": bad})


def test_daily_inputs_keep_the_longest_window_a_rule_reads_plus_a_day():
    # The default rules look back 28 days
    assert input_cutoff(TODAY, 1, 0) == TODAY - dt.timedelta(29)
    # A customer that looks back 40 days keeps 41
    assert input_cutoff(TODAY, 1, 40) == TODAY - dt.timedelta(41)
    # A longer setting wins
    assert input_cutoff(TODAY, 365, 40) == TODAY - dt.timedelta(365)


def test_a_resolved_alert_is_kept_while_it_may_be_reopened():
    retention = Retention.from_settings(
        load_settings(
            {**URLS, "SHELFOPS_RETAIN_HISTORY_DAYS": "1", "SHELFOPS_REOPEN_WITHIN_S": "604800"}
        )
    )
    assert retention.resolved_alert_age_s == 7 * DAY_S
    assert retention.history_age_s == DAY_S


def test_sweep_batches_outlive_any_redelivery():
    retention = Retention.from_settings(
        load_settings(
            {
                **URLS,
                "SHELFOPS_VISIBILITY_TIMEOUT_S": "86400",
                "SHELFOPS_EMAIL_MAX_PAUSE_S": "900",
            }
        )
    )
    assert retention.sweep_batches_age_s == 2 * 86400
    assert Retention.from_settings(load_settings(URLS)).sweep_batches_age_s == DAY_S
