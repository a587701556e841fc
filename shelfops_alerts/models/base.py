"""The declarative base and the domain's fixed vocabularies."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

ALERT_TYPES = (
    "stockout_predicted",
    "anomaly_detected",
    "reorder_recommended",
    "forecast_accuracy_low",
)
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "acknowledged", "resolved")
#: Statuses that count as *active*: at most one active alert per SKU and type.
ACTIVE_STATUSES = ("open", "acknowledged")
HISTORY_EVENTS = ("created", "updated", "escalated", "acknowledged", "resolved", "reopened")
DELIVERY_STATUSES = ("pending", "digest_pending", "sending", "retrying", "sent", "failed")


def severity_rank(severity: str) -> int:
    """Order of a severity: low 0 < medium 1 < high 2 < critical 3."""
    return SEVERITIES.index(severity)


class Base(DeclarativeBase):
    pass
