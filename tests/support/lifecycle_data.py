"""Test data helpers for the alert lifecycle: silences and forecast-accuracy alerts."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker


def clear_silences(factory: sessionmaker[Session]) -> None:
    """Delete every silence (the shared ``db`` fixture does not empty alert_silences)."""
    with factory.begin() as session:
        session.execute(text("UPDATE alerts SET silence_id = NULL WHERE silence_id IS NOT NULL"))
        session.execute(text("DELETE FROM alert_silences"))


def put_accuracy_alert(
    factory: sessionmaker[Session], customer_id: str, store_id: str, product_id: str
) -> int:
    """An active forecast_accuracy_low alert, written directly (as its rule would make it)."""
    with factory.begin() as session:
        return int(
            session.execute(
                text(
                    "INSERT INTO alerts (customer_id, store_id, product_id, alert_type,"
                    " severity, message) VALUES (:c, :s, :p, 'forecast_accuracy_low',"
                    " 'medium', 'Forecast error (WAPE) 0.70 over 28 days') RETURNING id"
                ),
                {"c": customer_id, "s": store_id, "p": product_id},
            ).scalar_one()
        )
