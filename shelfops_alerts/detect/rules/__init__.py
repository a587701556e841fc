"""Pure rules: plain values in, findings out. No Celery, no SQLAlchemy, no clock."""

from shelfops_alerts.detect.rules.accuracy import check_accuracy
from shelfops_alerts.detect.rules.anomaly import check_anomaly
from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.detect.rules.history import NotEnoughHistory, SalesDay
from shelfops_alerts.detect.rules.reorder import Policy, check_reorder
from shelfops_alerts.detect.rules.rule_settings import DEFAULT_RULE_SETTINGS, RuleSettings
from shelfops_alerts.detect.rules.stockout import (
    DEFAULT_THRESHOLDS,
    StockoutThresholds,
    check_stockout,
    days_until_stockout,
)

__all__ = [
    "DEFAULT_RULE_SETTINGS",
    "DEFAULT_THRESHOLDS",
    "Finding",
    "NotEnoughHistory",
    "Policy",
    "RuleSettings",
    "SalesDay",
    "StockoutThresholds",
    "check_accuracy",
    "check_anomaly",
    "check_reorder",
    "check_stockout",
    "days_until_stockout",
]
