"""Checking a batch of SKUs: one bulk read of their inputs, then the pure rules.

A batch is one customer's SKUs. Its inputs (stock, the forecast from today on, and the
customer's thresholds) are read in two queries whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.rules import (
    DEFAULT_THRESHOLDS,
    Finding,
    StockoutThresholds,
    check_stockout,
)
from shelfops_alerts.rules.forecast_series import daily_series
from shelfops_alerts.rules.stockout import ALERT_TYPE as STOCKOUT
from shelfops_alerts.skus import Sku

_READ_INPUTS = text(
    """
    SELECT i.store_id, i.product_id, i.on_hand, i.on_order,
           f.dates, f.demands
    FROM unnest(CAST(:stores AS text[]), CAST(:products AS text[])) AS k(store_id, product_id)
    JOIN inventory i
      ON i.customer_id = :customer_id
     AND i.store_id = k.store_id AND i.product_id = k.product_id
    LEFT JOIN LATERAL (
        SELECT array_agg(fc.forecast_date ORDER BY fc.forecast_date) AS dates,
               array_agg(fc.demand ORDER BY fc.forecast_date) AS demands
        FROM forecasts fc
        WHERE fc.customer_id = i.customer_id
          AND fc.store_id = i.store_id AND fc.product_id = i.product_id
          AND fc.forecast_date >= :today
    ) f ON true
    """
)

_READ_THRESHOLDS = text(
    "SELECT critical_days, high_days, medium_days FROM customer_thresholds"
    " WHERE customer_id = :customer_id"
)


@dataclass
class BatchResult:
    """What a batch check found, as JSON for the next task in the chain.

    ``evaluated`` lists every (SKU, alert type) pair a rule was evaluated for: persist
    resolves an active alert of that pair when no finding of it came back, and leaves
    alerts of pairs not evaluated (missing inputs) alone. ``context`` rides along the chain
    unchanged (for example the sweep a batch belongs to).
    """

    customer_id: str
    evaluated: list[tuple[Sku, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unknown: list[Sku] = field(default_factory=list)
    without_forecast: list[Sku] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def checked(self) -> list[Sku]:
        """SKUs for which at least one rule was evaluated, in first-seen order."""
        return list(dict.fromkeys(sku for sku, _ in self.evaluated))

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "evaluated": [[sku.store_id, sku.product_id, kind] for sku, kind in self.evaluated],
            "findings": [finding.to_json() for finding in self.findings],
            "unknown": [list(sku) for sku in self.unknown],
            "without_forecast": [list(sku) for sku in self.without_forecast],
            "context": self.context,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchResult:
        return cls(
            customer_id=str(data["customer_id"]),
            evaluated=[(Sku(str(s), str(p)), str(k)) for s, p, k in data.get("evaluated", [])],
            findings=[Finding.from_json(item) for item in data.get("findings", [])],
            unknown=[Sku(str(s), str(p)) for s, p in data.get("unknown", [])],
            without_forecast=[Sku(str(s), str(p)) for s, p in data.get("without_forecast", [])],
            context=dict(data.get("context") or {}),
        )


def load_thresholds(session: Session, *, customer_id: str) -> StockoutThresholds:
    """The customer's stockout thresholds, or the defaults."""
    row = session.execute(_READ_THRESHOLDS, {"customer_id": customer_id}).one_or_none()
    if row is None:
        return DEFAULT_THRESHOLDS
    return StockoutThresholds(float(row[0]), float(row[1]), float(row[2]))


def check_batch(
    session: Session,
    *,
    customer_id: str,
    skus: Sequence[Sku],
    today: dt.date,
    context: dict[str, Any] | None = None,
) -> BatchResult:
    """Evaluate the stockout rule for ``skus`` of one customer, reading inputs in bulk.

    SKUs with no inventory row are reported as unknown; SKUs with no forecast from ``today``
    on cannot be judged and are reported, not checked (their alerts are left alone).
    """
    result = BatchResult(customer_id=customer_id, context=dict(context or {}))
    if not skus:
        return result
    thresholds = load_thresholds(session, customer_id=customer_id)
    rows = session.execute(
        _READ_INPUTS,
        {
            "customer_id": customer_id,
            "stores": [sku.store_id for sku in skus],
            "products": [sku.product_id for sku in skus],
            "today": today,
        },
    ).all()
    found = {Sku(row.store_id, row.product_id) for row in rows}
    result.unknown = [sku for sku in skus if sku not in found]
    for row in rows:
        sku = Sku(row.store_id, row.product_id)
        if not row.dates:
            result.without_forecast.append(sku)
            continue
        demand = daily_series(today, row.dates, row.demands)
        result.evaluated.append((sku, STOCKOUT))
        finding = check_stockout(
            store_id=sku.store_id,
            product_id=sku.product_id,
            on_hand=float(row.on_hand),
            on_order=float(row.on_order),
            daily_demand=demand,
            thresholds=thresholds,
        )
        if finding is not None:
            result.findings.append(finding)
    return result
