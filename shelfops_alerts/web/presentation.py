"""How the dashboard words things: labels for types, events and metadata. Pure."""

from __future__ import annotations

import json
from typing import Any

TYPE_LABELS = {
    "stockout_predicted": "Stockout predicted",
    "anomaly_detected": "Sales anomaly",
    "reorder_recommended": "Reorder recommended",
    "forecast_accuracy_low": "Forecast accuracy low",
}
OUTCOME_LABELS = {
    "ordered": "Ordered stock",
    "transferred": "Transferred from another store",
    "false_positive": "False positive",
    "stock_corrected": "Stock count corrected",
    "other": "Other",
}
#: Metadata keys worth a plain name, in the order the detail page lists them; the rest
#: follow under their own names.
METADATA_LABELS = {
    "recommendation": "Recommendation",
    "current_stock": "Stock on hand",
    "on_order": "On order",
    "daily_demand": "Daily demand (forecast)",
    "days_until_stockout": "Days until stockout",
    "reorder_point": "Reorder point",
    "recommended_quantity": "Recommended quantity",
    "inventory_position": "Inventory position",
    "lead_time_days": "Lead time (days)",
    "lead_time_demand": "Lead-time demand",
    "safety_stock": "Safety stock",
    "order_up_to": "Order up to",
    "kind": "Kind",
    "date": "Date",
    "actual_units": "Units sold",
    "forecast_units": "Units forecast",
    "expected_units": "Units expected",
    "score": "Anomaly score",
    "threshold": "Threshold",
    "zero_sales_days": "Days without a sale",
    "since": "Since",
    "wape": "Forecast error (WAPE)",
    "bias": "Bias",
    "days_compared": "Days compared",
    "first_day": "First day",
    "last_day": "Last day",
    "inhibition": "Inhibited",
}


def format_value(value: Any) -> str:
    """A metadata value as the page shows it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def describe_metadata(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs: the known keys first, in a sensible order, then the others."""
    known = [
        (label, format_value(metadata[key]))
        for key, label in METADATA_LABELS.items()
        if key in metadata
    ]
    others = [
        (key.replace("_", " ").capitalize(), format_value(value))
        for key, value in sorted(metadata.items())
        if key not in METADATA_LABELS
    ]
    return known + others
