"""Database tables, as SQLAlchemy 2.0 typed models, one module per part of the domain.

The schema itself is created by the Alembic migrations in ``shelfops_alerts/migrations``;
these models describe it for queries. A SKU is (customer_id, store_id, product_id).
"""

from shelfops_alerts.models.access import ApiToken, LoginLink, WebSession
from shelfops_alerts.models.alerts import Alert, AlertHistory
from shelfops_alerts.models.base import Base
from shelfops_alerts.models.dead_letters import DeadLetter
from shelfops_alerts.models.email import AlertRecipient, EmailDelivery
from shelfops_alerts.models.horizons import ForecastHorizon, SalesWindow
from shelfops_alerts.models.planning import (
    Arrival,
    CustomerRuleSettings,
    ReplenishmentPolicy,
    Sale,
)
from shelfops_alerts.models.silences import Silence
from shelfops_alerts.models.stock import CustomerThresholds, Forecast, Inventory
from shelfops_alerts.models.sweeps import Sweep, SweepBatch

__all__ = [
    "Alert",
    "AlertHistory",
    "AlertRecipient",
    "ApiToken",
    "Arrival",
    "Base",
    "CustomerRuleSettings",
    "CustomerThresholds",
    "DeadLetter",
    "EmailDelivery",
    "Forecast",
    "ForecastHorizon",
    "Inventory",
    "LoginLink",
    "ReplenishmentPolicy",
    "Sale",
    "SalesWindow",
    "Silence",
    "Sweep",
    "SweepBatch",
    "WebSession",
]
