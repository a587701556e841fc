"""Database tables, as SQLAlchemy 2.0 typed models, one module per part of the domain.

The schema itself is created by the Alembic migrations in ``shelfops_alerts/migrations``;
these models describe it for queries. A SKU is (customer_id, store_id, product_id).
"""

from shelfops_alerts.models.alerts import Alert, AlertHistory
from shelfops_alerts.models.base import (
    ACTIVE_STATUSES,
    ALERT_TYPES,
    DELIVERY_STATUSES,
    HISTORY_EVENTS,
    SEVERITIES,
    STATUSES,
    Base,
    severity_rank,
)
from shelfops_alerts.models.email import AlertRecipient, EmailDelivery
from shelfops_alerts.models.stock import CustomerThresholds, Forecast, Inventory

__all__ = [
    "ACTIVE_STATUSES",
    "ALERT_TYPES",
    "DELIVERY_STATUSES",
    "HISTORY_EVENTS",
    "SEVERITIES",
    "STATUSES",
    "Alert",
    "AlertHistory",
    "AlertRecipient",
    "Base",
    "CustomerThresholds",
    "EmailDelivery",
    "Forecast",
    "Inventory",
    "severity_rank",
]
