"""Silences: an operator's "stored, but do not tell anyone" for matching findings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base


class Silence(Base):
    """Findings of ``customer_id`` matching every non-null field, from start until end.

    A silence matches a finding when the finding's store, product and type equal the
    silence's (a null field matches anything) and ``starts_at <= now < ends_at`` and it
    was not expired by hand (``expired_at``).
    """

    __tablename__ = "alert_silences"
    __table_args__ = (Index("ix_alert_silences_customer_ends", "customer_id", "ends_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    store_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[str | None] = mapped_column(String(64))
    alert_type: Mapped[str | None] = mapped_column(String(32))
    starts_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    expired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expired_by: Mapped[str | None] = mapped_column(String(128))
