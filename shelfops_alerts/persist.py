"""Dedup and persist: findings become alerts, with one history row per change.

The partial unique index ``uq_alerts_one_active`` allows one active alert per SKU and type,
and every write goes through it (``INSERT … ON CONFLICT … DO UPDATE``), so two workers
racing on one SKU still make one alert. A batch costs three statements whatever its size:

1. upsert the findings and write their history (created / updated / escalated);
2. resolve the active alerts of evaluated (SKU, type) pairs whose condition is gone;
3. create one e-mail delivery per new change and recipient that needs mail.

A finding identical to its active alert changes nothing, so a redelivered batch writes
nothing twice. The caller owns the transaction and queues follow-up work after commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.checks import BatchResult
from shelfops_alerts.rules import Finding

RANK = "array_position(ARRAY['low','medium','high','critical']::text[], {})"
#: History events that e-mail recipients whose minimum severity the alert meets.
MAILED_EVENTS = ("created", "escalated", "reopened")

_UPSERT = text(
    f"""
    WITH input AS (
        SELECT * FROM unnest(
            CAST(:stores AS text[]), CAST(:products AS text[]), CAST(:types AS text[]),
            CAST(:severities AS text[]), CAST(:messages AS text[]), CAST(:metas AS jsonb[])
        ) AS t(store_id, product_id, alert_type, severity, message, metadata)
    ),
    prev AS (
        SELECT a.id, a.severity
        FROM alerts a JOIN input USING (store_id, product_id, alert_type)
        WHERE a.customer_id = :customer_id AND a.status IN ('open', 'acknowledged')
    ),
    up AS (
        INSERT INTO alerts AS a
            (customer_id, store_id, product_id, alert_type, severity, status, message, metadata)
        SELECT :customer_id, store_id, product_id, alert_type, severity, 'open', message, metadata
        FROM input
        ON CONFLICT (customer_id, store_id, product_id, alert_type)
            WHERE status IN ('open', 'acknowledged')
        DO UPDATE SET
            severity = EXCLUDED.severity,
            message = EXCLUDED.message,
            metadata = EXCLUDED.metadata,
            updated_at = now(),
            status = CASE WHEN {RANK.format("EXCLUDED.severity")} > {RANK.format("a.severity")}
                          THEN 'open' ELSE a.status END
        WHERE (a.severity, a.message, a.metadata)
              IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.message, EXCLUDED.metadata)
        RETURNING a.id, a.severity, a.status, (a.xmax = 0) AS inserted
    )
    INSERT INTO alert_history (alert_id, event, severity, status)
    SELECT up.id,
           CASE WHEN up.inserted THEN 'created'
                WHEN prev.severity IS NOT NULL
                     AND {RANK.format("up.severity")} > {RANK.format("prev.severity")}
                THEN 'escalated'
                ELSE 'updated' END,
           up.severity, up.status
    FROM up LEFT JOIN prev ON prev.id = up.id
    RETURNING id, alert_id, event
    """
)

_RESOLVE = text(
    """
    WITH evaluated AS (
        SELECT * FROM unnest(
            CAST(:stores AS text[]), CAST(:products AS text[]), CAST(:types AS text[])
        ) AS e(store_id, product_id, alert_type)
    ),
    still AS (
        SELECT * FROM unnest(
            CAST(:f_stores AS text[]), CAST(:f_products AS text[]), CAST(:f_types AS text[])
        ) AS s(store_id, product_id, alert_type)
    ),
    res AS (
        UPDATE alerts a
        SET status = 'resolved', resolved_at = now(), resolved_by = 'system', updated_at = now()
        FROM evaluated e
        WHERE a.customer_id = :customer_id
          AND a.store_id = e.store_id AND a.product_id = e.product_id
          AND a.alert_type = e.alert_type
          AND a.status IN ('open', 'acknowledged')
          AND NOT EXISTS (
              SELECT 1 FROM still s
              WHERE s.store_id = a.store_id AND s.product_id = a.product_id
                AND s.alert_type = a.alert_type)
        RETURNING a.id, a.severity
    )
    INSERT INTO alert_history (alert_id, event, severity, status, note)
    SELECT id, 'resolved', severity, 'resolved', 'condition no longer met' FROM res
    RETURNING id, alert_id, event
    """
)

_DELIVERIES = text(
    f"""
    INSERT INTO email_deliveries (alert_id, history_id, recipient)
    SELECT h.alert_id, h.id, r.email
    FROM alert_history h
    JOIN alerts a ON a.id = h.alert_id
    JOIN alert_recipients r
      ON r.customer_id = a.customer_id
     AND {RANK.format("h.severity")} >= {RANK.format("r.min_severity")}
    WHERE h.id = ANY(CAST(:history_ids AS bigint[]))
      AND h.event = ANY(CAST(:events AS text[]))
    ON CONFLICT ON CONSTRAINT uq_email_deliveries_change_recipient DO NOTHING
    RETURNING id
    """
)


@dataclass
class PersistResult:
    """The changes one batch made: history rows to publish, deliveries to send."""

    customer_id: str
    history_ids: list[int] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    skus_checked: int = 0
    context: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "history_ids": self.history_ids,
            "delivery_ids": self.delivery_ids,
            "events": self.events,
            "skus_checked": self.skus_checked,
            "context": self.context,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PersistResult:
        return cls(
            customer_id=str(data["customer_id"]),
            history_ids=[int(i) for i in data.get("history_ids", [])],
            delivery_ids=[int(i) for i in data.get("delivery_ids", [])],
            events={str(k): int(v) for k, v in data.get("events", {}).items()},
            skus_checked=int(data.get("skus_checked", 0)),
            context=dict(data.get("context") or {}),
        )


def _one_per_key(findings: list[Finding]) -> list[Finding]:
    """Keep the last finding per SKU and type: ON CONFLICT may touch a row only once."""
    by_key = {(f.store_id, f.product_id, f.alert_type): f for f in findings}
    return list(by_key.values())


def persist_batch(session: Session, *, batch: BatchResult) -> PersistResult:
    """Write a checked batch: upsert findings, resolve cleared alerts, queue deliveries."""
    result = PersistResult(
        customer_id=batch.customer_id,
        skus_checked=len(batch.checked),
        context=batch.context,
    )
    findings = _one_per_key(batch.findings)
    rows: list[Any] = []
    if findings:
        rows += session.execute(
            _UPSERT,
            {
                "customer_id": batch.customer_id,
                "stores": [f.store_id for f in findings],
                "products": [f.product_id for f in findings],
                "types": [f.alert_type for f in findings],
                "severities": [f.severity for f in findings],
                "messages": [f.message for f in findings],
                "metas": [json.dumps(f.metadata, sort_keys=True) for f in findings],
            },
        ).all()
    if batch.evaluated:
        rows += session.execute(
            _RESOLVE,
            {
                "customer_id": batch.customer_id,
                "stores": [sku.store_id for sku, _ in batch.evaluated],
                "products": [sku.product_id for sku, _ in batch.evaluated],
                "types": [kind for _, kind in batch.evaluated],
                "f_stores": [f.store_id for f in findings],
                "f_products": [f.product_id for f in findings],
                "f_types": [f.alert_type for f in findings],
            },
        ).all()
    for row in rows:
        result.history_ids.append(int(row.id))
        result.events[row.event] = result.events.get(row.event, 0) + 1
    result.history_ids.sort()
    if result.history_ids:
        result.delivery_ids = create_deliveries(session, history_ids=result.history_ids)
    return result


def create_deliveries(session: Session, *, history_ids: list[int]) -> list[int]:
    """One pending delivery per mailed change and matching recipient (never two)."""
    delivered = session.execute(
        _DELIVERIES, {"history_ids": history_ids, "events": list(MAILED_EVENTS)}
    ).scalars()
    return sorted(int(i) for i in delivered)
