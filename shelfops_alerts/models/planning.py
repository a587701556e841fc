"""What the rules beyond stockout read: replenishment policies, actual sales, expected
arrivals, and each customer's rule thresholds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, Float, Index, Integer, PrimaryKeyConstraint, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base


class ReplenishmentPolicy(Base):
    """How one SKU is replenished; unset columns are derived by the reorder rule."""

    __tablename__ = "policies"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_time_days: Mapped[float] = mapped_column(Float, nullable=False)
    reorder_point: Mapped[float | None] = mapped_column(Float)
    order_up_to: Mapped[float | None] = mapped_column(Float)
    case_pack: Mapped[float | None] = mapped_column(Float)
    min_order_qty: Mapped[float | None] = mapped_column(Float)
    service_level: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Sale(Base):
    """Units of one SKU actually sold on one day; the latest import for a day wins."""

    __tablename__ = "sales"
    __table_args__ = (
        # ``units`` rides in the key's index: the history read is an index-only scan
        # (migration 0015).
        PrimaryKeyConstraint(
            "customer_id",
            "store_id",
            "product_id",
            "sale_date",
            name="sales_pkey",
            postgresql_include=["units"],
        ),
        Index("ix_sales_date", "sale_date"),
    )

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sale_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    units: Mapped[float] = mapped_column(Float, nullable=False)
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class Arrival(Base):
    """A confirmed quantity (purchase orders, transfers) due for one SKU on one day."""

    __tablename__ = "arrivals"
    __table_args__ = (Index("ix_arrivals_date", "arrival_date"),)

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    arrival_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    quantity: Mapped[float] = mapped_column(Float, nullable=False)
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


class CustomerRuleSettings(Base):
    """A customer's overrides of the rule thresholds; NULL takes the documented default
    (see :class:`shelfops_alerts.detect.rules.RuleSettings`)."""

    __tablename__ = "customer_rule_settings"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_level: Mapped[float | None] = mapped_column(Float)
    history_days: Mapped[int | None] = mapped_column(Integer)
    min_history_days: Mapped[int | None] = mapped_column(Integer)
    anomaly_z: Mapped[float | None] = mapped_column(Float)
    anomaly_min_units: Mapped[float | None] = mapped_column(Float)
    phantom_days: Mapped[int | None] = mapped_column(Integer)
    phantom_min_expected: Mapped[float | None] = mapped_column(Float)
    accuracy_wape: Mapped[float | None] = mapped_column(Float)
    accuracy_min_units: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
