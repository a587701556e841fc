"""Each SKU's forecasts and its sales as one row: what the batch reads take instead of a row
per day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base


class ForecastHorizon(Base):
    """A SKU's forecast demand per day from ``start_date`` to its last forecast date.

    ``demands[i]`` is the forecast for ``start_date + i`` days, or None on a day without
    one. Kept by database triggers on ``forecasts`` (migration 0006): never write it.
    """

    __tablename__ = "forecast_horizons"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    demands: Mapped[list[float | None]] = mapped_column(ARRAY(Float), nullable=False)


class SalesWindow(Base):
    """A SKU's retained sales: the units sold per day from ``start_date`` (its first day
    with sales) to its last day with sales.

    ``units[i]`` is the units of ``start_date + i`` days, or None on a day without a sales
    row (unknown, not zero). Kept by database triggers on ``sales`` (migration 0016, which
    also sets the table's ``fillfactor`` to 50): never write it.
    """

    __tablename__ = "sales_windows"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    units: Mapped[list[float | None]] = mapped_column(ARRAY(Float), nullable=False)
