"""A refused event names the field at fault (the webhook's 422 reports it)."""

from __future__ import annotations

import pytest

from shelfops_alerts.intake.events import InvalidEvent, forecast_complete, sales_recorded


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: forecast_complete(""), "customer_id"),
        (lambda: forecast_complete("acme", run_id=1.5), "run_id"),
        (lambda: forecast_complete("acme", skus="S1/P1"), "skus"),
        (lambda: forecast_complete("acme", skus=[]), "skus"),
        (lambda: sales_recorded("acme", skus=["S1"]), "skus"),
    ],
)
def test_a_refused_event_names_its_field(call, field):
    with pytest.raises(InvalidEvent) as refused:
        call()
    assert refused.value.field == field
