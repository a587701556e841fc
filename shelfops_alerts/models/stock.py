"""What is on the shelf and what demand is expected: inventory, forecasts, thresholds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base


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
