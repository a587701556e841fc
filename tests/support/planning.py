"""Planning data (policies, sales, arrivals, past forecasts) loaded as a user would: CSV
files through the importers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.intake.imports import (
    import_arrivals,
    import_forecasts,
    import_policies,
    import_sales,
)
from shelfops_alerts.skus import Sku
from tests.support.data import today


class Loader:
    """Writes planning data as CSV files and imports them, like ``shelfops-alerts import``."""

    def __init__(self, factory: sessionmaker[Session], folder: Path, customer: str) -> None:
        self.factory = factory
        self.folder = folder
        self.customer = customer
        self.files = 0

    def load_rows(self, importer: Any, header: str, lines: list[str]) -> None:
        self.files += 1
        path = self.folder / f"file{self.files}.csv"
        path.write_text(header + "\n" + "".join(f"{line}\n" for line in lines))
        with self.factory.begin() as session:
            importer(session, path=path)

    def history(self, product: str, units: list[float], forecast: float, *, end_days_ago=1):
        """Daily sales ending ``end_days_ago`` days ago, and the forecast that was made for them."""
        last = today() - dt.timedelta(days=end_days_ago)
        days = [last - dt.timedelta(days=len(units) - 1 - n) for n in range(len(units))]
        self.sales(product, dict(zip(days, units, strict=True)))
        self.load_rows(
            import_forecasts,
            "customer_id,store_id,product_id,date,forecasted_demand,run_id",
            [f"{self.customer},S1,{product},{day},{forecast},past" for day in days],
        )

    def sales(self, product: str, by_day: dict[dt.date, float]) -> None:
        self.load_rows(
            import_sales,
            "customer_id,store_id,product_id,date,units",
            [f"{self.customer},S1,{product},{day},{units}" for day, units in by_day.items()],
        )

    def policy(self, product: str, lead_time_days: float, case_pack: int) -> None:
        self.load_rows(
            import_policies,
            "customer_id,store_id,product_id,lead_time_days,case_pack",
            [f"{self.customer},S1,{product},{lead_time_days},{case_pack}"],
        )

    def arrival(self, product: str, in_days: int, quantity: float) -> None:
        self.load_rows(
            import_arrivals,
            "customer_id,store_id,product_id,date,quantity",
            [f"{self.customer},S1,{product},{today() + dt.timedelta(days=in_days)},{quantity}"],
        )


def last_sku(session: Session, customer: str) -> Sku:
    """The customer's last inventory key: a span ``SkuSpan(None, last_sku(...))`` holds all."""
    store, product = session.execute(
        text(
            "SELECT store_id, product_id FROM inventory WHERE customer_id = :c"
            " ORDER BY store_id DESC, product_id DESC LIMIT 1"
        ),
        {"c": customer},
    ).one()
    return Sku(store, product)
