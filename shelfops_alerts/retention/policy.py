"""How long each kind of row is kept: the retention settings, and the floors the rules set.

Pure: plain values in, ages and dates out, so the limits are tested without a database.
The settings are the operator's wish; a floor wins where the wish would cut into what the
rules still read:

* forecasts and sales: the rules look back ``history_days`` (per customer; 28 by default)
  from today, so those days plus one (a check that started before midnight, UTC, still reads
  yesterday's window) are always kept, whatever the setting;
* resolved alerts: a finding within ``SHELFOPS_REOPEN_WITHIN_S`` of the resolution re-opens
  the same alert, so a resolved alert is kept at least that long;
* a sweep's batch rows: a batch message redelivered after its sweep finished must still
  find its row (or it would count twice), so they stay at least twice the visibility
  timeout (and a day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shelfops_alerts.config import Settings
from shelfops_alerts.detect.rules import RuleSettings

DAY_S = 86400.0
#: Extra day kept before the rules' window (see the module's docstring).
WINDOW_MARGIN_DAYS = 1
#: A SKU's forecasts are pruned once its oldest is this many days past the cutoff, all at
#: once: every prune of a SKU's forecasts rebuilds its horizon (the triggers re-read all of
#: its forecasts, about a millisecond per SKU), so pruning a week at a time costs a seventh
#: of pruning every day. Forecasts are therefore kept between N and N + 7 days.
FORECAST_STEP_DAYS = 7
#: The same for sales: every prune of a SKU's sales cuts the deleted days out of its sales
#: window (the triggers on ``sales``, migration 0016: a rewrite of the SKU's row, about
#: 30 µs), once per statement however many days go, so a week at once costs a seventh.
#: Sales are therefore kept between N and N + 7 days.
SALES_STEP_DAYS = 7


@dataclass(frozen=True)
class Retention:
    """The ages a prune run deletes beyond (in days, or seconds where a floor is in seconds)."""

    #: Resolved alerts (with their history), alert history, ended silences, finished sweeps.
    history_days: int
    #: Sent or failed e-mail deliveries and digests, and long-closed digest windows.
    deliveries_days: int
    #: Forecasts for days before today (and with them each SKU's forecast horizon).
    forecast_days: int
    #: Sales, and arrivals whose day has passed.
    sales_days: int
    #: SHELFOPS_REOPEN_WITHIN_S: resolved alerts younger than this are kept.
    reopen_within_s: float
    #: SHELFOPS_VISIBILITY_TIMEOUT_S: how late a batch message can come back.
    visibility_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            history_days=settings.retain_history_days,
            deliveries_days=settings.retain_deliveries_days,
            forecast_days=settings.retain_forecast_days,
            sales_days=settings.retain_sales_days,
            reopen_within_s=settings.reopen_within_s,
            visibility_timeout_s=float(settings.visibility_timeout_s),
        )

    @property
    def resolved_alert_age_s(self) -> float:
        """Resolved longer ago than this: the alert goes, with what is left of its history."""
        return max(self.history_days * DAY_S, self.reopen_within_s)

    @property
    def history_age_s(self) -> float:
        return self.history_days * DAY_S

    @property
    def deliveries_age_s(self) -> float:
        return self.deliveries_days * DAY_S

    @property
    def sweep_batches_age_s(self) -> float:
        """A finished sweep's batch rows go this long after it finished."""
        return max(DAY_S, 2 * self.visibility_timeout_s)

    @property
    def batch_ledger_age_s(self) -> float:
        """A finished batch's ledger row goes this long after it finished (only an unfinished
        row is ever read again)."""
        return DAY_S

    def forecast_cutoff(self, today: dt.date, *, longest_history_days: int) -> dt.date:
        """Forecasts for days before this date go."""
        return input_cutoff(today, self.forecast_days, longest_history_days)

    def sales_cutoff(self, today: dt.date, *, longest_history_days: int) -> dt.date:
        """Sales (and arrivals) of days before this date go."""
        return input_cutoff(today, self.sales_days, longest_history_days)


def input_cutoff(today: dt.date, keep_days: int, longest_history_days: int) -> dt.date:
    """The first day kept of a daily input: ``keep_days`` back from ``today``, but never
    inside the longest window a rule reads (``longest_history_days``) plus the margin."""
    floor = max(longest_history_days, RuleSettings().history_days) + WINDOW_MARGIN_DAYS
    return today - dt.timedelta(days=max(keep_days, floor))
