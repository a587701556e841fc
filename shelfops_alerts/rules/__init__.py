"""Pure rules: plain values in, findings out. No Celery, no SQLAlchemy, no clock."""

from shelfops_alerts.rules.finding import Finding
from shelfops_alerts.rules.stockout import (
    DEFAULT_THRESHOLDS,
    StockoutThresholds,
    check_stockout,
    days_until_stockout,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Finding",
    "StockoutThresholds",
    "check_stockout",
    "days_until_stockout",
]
