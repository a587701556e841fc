"""Database tables, as SQLAlchemy 2.0 typed models.

The schema itself is created by the Alembic migrations in ``shelfops_alerts/migrations``;
these models describe it for queries. A SKU is (customer_id, store_id, product_id).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
DELIVERY_STATUSES = ("pending", "sending", "retrying", "sent", "failed")


def severity_rank(severity: str) -> int:
    """Order of a severity: low 0 < medium 1 < high 2 < critical 3."""
    return SEVERITIES.index(severity)


class Base(DeclarativeBase):
    pass


class Inventory(Base):
    """Stock of one SKU: what is on the shelf and what is already ordered."""

    __tablename__ = "inventory"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    on_hand: Mapped[float] = mapped_column(Float, nullable=False)
    on_order: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Forecast(Base):
    """Forecast demand of one SKU on one day; the latest import for a day wins."""

    __tablename__ = "forecasts"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    forecast_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    demand: Mapped[float] = mapped_column(Float, nullable=False)
    run_id: Mapped[str | None] = mapped_column(String(128))
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class CustomerThresholds(Base):
    """Per-customer days-until-stockout thresholds; customers without a row use the defaults."""

    __tablename__ = "customer_thresholds"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    critical_days: Mapped[float] = mapped_column(Float, nullable=False, server_default="1")
    high_days: Mapped[float] = mapped_column(Float, nullable=False, server_default="2")
    medium_days: Mapped[float] = mapped_column(Float, nullable=False, server_default="3")


class Alert(Base):
    """One alert; at most one *active* (open or acknowledged) per SKU and type."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_one_active",
            "customer_id",
            "store_id",
            "product_id",
            "alert_type",
            unique=True,
            postgresql_where=text("status IN ('open', 'acknowledged')"),
        ),
        Index("ix_alerts_customer_status", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    store_id: Mapped[str] = mapped_column(String(64), nullable=False)
    product_id: Mapped[str] = mapped_column(String(64), nullable=False)
    alert_type: Mapped[str] = mapped_column(String(32), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    message: Mapped[str] = mapped_column(Text, nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default="{}"
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(128))


class AlertHistory(Base):
    """One row per change of an alert: who, when, what it became.

    ``published_at`` is the outbox mark: a change is committed here first and published on
    Redis afterwards, so a crash between the two is caught up by the relay task.
    """

    __tablename__ = "alert_history"
    __table_args__ = (
        Index(
            "ix_alert_history_unpublished",
            "changed_at",
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event: Mapped[str] = mapped_column(String(16), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False, server_default="system")
    note: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AlertRecipient(Base):
    """Who of a customer gets e-mail, from which severity up."""

    __tablename__ = "alert_recipients"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    min_severity: Mapped[str] = mapped_column(String(16), nullable=False, server_default="critical")


class EmailDelivery(Base):
    """One e-mail for one alert change to one recipient; never two for the same pair."""

    __tablename__ = "email_deliveries"
    __table_args__ = (
        UniqueConstraint("history_id", "recipient", name="uq_email_deliveries_change_recipient"),
        Index("ix_email_deliveries_status", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    history_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alert_history.id", ondelete="CASCADE"), nullable=False
    )
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
