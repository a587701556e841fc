"""The web service's reads beyond the core's: the latest change of each alert on a page,
and the counts the dashboard shows. One query each; the caller owns the session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.vocabulary import ACTIVE_STATUSES, SEVERITIES

_LATEST = text(
    """
    SELECT DISTINCT ON (alert_id) alert_id, id AS history_id, event, changed_at
    FROM alert_history WHERE alert_id = ANY(CAST(:ids AS bigint[]))
    ORDER BY alert_id, id DESC
    """
)

_COUNTS = text(
    """
    SELECT status, severity, count(*) AS n FROM alerts
    WHERE customer_id = :customer_id AND status = ANY(CAST(:statuses AS text[]))
      AND (CAST(:alert_type AS text) IS NULL OR alert_type = :alert_type)
      AND (CAST(:store_id AS text) IS NULL OR store_id = :store_id)
      AND (CAST(:product_id AS text) IS NULL OR product_id = :product_id)
    GROUP BY status, severity
    """
)


def latest_changes(session: Session, *, alert_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """alert id → the ``history_id``, ``event`` and ``changed_at`` of its newest change."""
    if not alert_ids:
        return {}
    rows = session.execute(_LATEST, {"ids": list(alert_ids)}).all()
    return {
        int(r.alert_id): {
            "history_id": int(r.history_id),
            "event": r.event,
            "changed_at": r.changed_at.isoformat(),
        }
        for r in rows
    }


def active_counts(
    session: Session,
    *,
    customer_id: str,
    alert_type: str | None = None,
    store_id: str | None = None,
    product_id: str | None = None,
) -> dict[str, dict[str, int]]:
    """Active alerts per status and severity: ``{"open": {"critical": 2, ...}, ...}``."""
    counts = {status: dict.fromkeys(SEVERITIES, 0) for status in ACTIVE_STATUSES}
    params = {
        "customer_id": customer_id,
        "statuses": list(ACTIVE_STATUSES),
        "alert_type": alert_type,
        "store_id": store_id,
        "product_id": product_id,
    }
    for row in session.execute(_COUNTS, params):
        counts[row.status][row.severity] = int(row.n)
    return counts
