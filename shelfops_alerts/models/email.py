"""Who gets e-mail, and every e-mail delivery."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base


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
