"""For producers: ``from shelfops_alerts.client import notify_forecast_complete``.

The producer client lives in :mod:`shelfops_alerts.intake.client`; this name stays so
forecasting jobs written against it keep working.
"""

from shelfops_alerts.intake.client import (
    notify_forecast_complete,
    notify_sales_recorded,
    send_event,
)
from shelfops_alerts.intake.events import InvalidEvent

__all__ = ["InvalidEvent", "notify_forecast_complete", "notify_sales_recorded", "send_event"]
