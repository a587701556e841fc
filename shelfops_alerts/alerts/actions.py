"""What operators do with alerts: list and show them, acknowledge them, resolve them.

Every change is written to the history in the same transaction; the caller publishes the
returned history id after commit (see publish.py). An acknowledgement records who, when,
an optional note and an outcome (what was done about it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from shelfops_alerts.alerts.lifecycle import LifecycleError, check_named, check_outcome
from shelfops_alerts.models import Alert, AlertHistory
from shelfops_alerts.vocabulary import (
    ACKNOWLEDGED,
    ACTIVE_STATUSES,
    ALERT_STATUSES,
    ALERT_TYPES,
    OPEN,
    RESOLVED,
    SEVERITIES,
    sql_word,
)

#: The ``status`` filter that means "open or acknowledged" (any of ACTIVE_STATUSES).
ACTIVE = "active"


class AlertActionError(LifecycleError):
    """The alert does not exist, cannot make this transition, or the request is malformed
    (``field`` names the input at fault); nothing was changed."""


class AlertNotFound(AlertActionError):
    """No such alert (or, for a caller scoped to a customer, none of that customer's)."""


@dataclass(frozen=True)
class Transition:
    alert_id: int
    history_id: int
    status: str


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert as the JSON that `alerts list --json` prints."""

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "alert_id": alert.id,
        "customer_id": alert.customer_id,
        "store_id": alert.store_id,
        "product_id": alert.product_id,
        "alert_type": alert.alert_type,
        "severity": alert.severity,
        "status": alert.status,
        "message": alert.message,
        "metadata": alert.details,
        "created_at": iso(alert.created_at),
        "updated_at": iso(alert.updated_at),
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": iso(alert.acknowledged_at),
        "resolved_by": alert.resolved_by,
        "resolved_at": iso(alert.resolved_at),
        "acknowledged_note": alert.acknowledged_note,
        "acknowledged_outcome": alert.acknowledged_outcome,
        "silenced": alert.silence_id is not None,
        "silence_id": alert.silence_id,
        "clear_checks": alert.clear_checks,
    }


def history_json(change: AlertHistory) -> dict[str, Any]:
    """One history row as the JSON that `alerts show --json` prints."""
    return {
        "history_id": change.id,
        "event": change.event,
        "severity": change.severity,
        "status": change.status,
        "actor": change.actor,
        "note": change.note,
        "outcome": change.outcome,
        "silenced": change.silenced,
        "changed_at": change.changed_at.isoformat(),
        "published_at": change.published_at.isoformat() if change.published_at else None,
    }


def get_alert(session: Session, *, alert_id: int, customer_id: str | None = None) -> Alert:
    """The alert; :class:`AlertNotFound` when it does not exist or (with ``customer_id``)
    belongs to another customer: the two are told apart by nobody."""
    alert = session.get(Alert, alert_id)
    if alert is None or (customer_id is not None and alert.customer_id != customer_id):
        raise AlertNotFound(f"alert {alert_id} does not exist")
    return alert


def show_alert(
    session: Session, *, alert_id: int, customer_id: str | None = None
) -> dict[str, Any]:
    """The alert as JSON with ``history``: its changes, oldest first (two queries)."""
    alert = get_alert(session, alert_id=alert_id, customer_id=customer_id)
    changes = session.scalars(
        select(AlertHistory).where(AlertHistory.alert_id == alert_id).order_by(AlertHistory.id)
    )
    return {**alert_json(alert), "history": [history_json(c) for c in changes]}


def list_alerts(
    session: Session,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    alert_type: str | None = None,
    severity: str | None = None,
    store_id: str | None = None,
    product_id: str | None = None,
    silenced: bool | None = None,
    limit: int = 1000,
    before: tuple[dt.datetime, int] | None = None,
) -> list[Alert]:
    """Alerts, newest change first, filtered as asked (None = any).

    ``status`` may also be ``active`` (open or acknowledged). ``before`` is a keyset
    cursor: only alerts whose (``updated_at``, ``id``) sort after it, newest first.
    """
    """Alerts, newest change first, filtered as asked (None = any)."""
    for field, value, allowed in (
        ("status", status, (*ALERT_STATUSES, ACTIVE)),
        ("alert_type", alert_type, ALERT_TYPES),
        ("severity", severity, SEVERITIES),
    ):
        if value is not None and value not in allowed:
            raise AlertActionError(
                f"{field} must be one of {', '.join(allowed)}, got {value!r}", field=field
            )
    query = select(Alert).order_by(Alert.updated_at.desc(), Alert.id.desc()).limit(limit)
    if customer_id is not None:
        query = query.where(Alert.customer_id == customer_id)
    if status == ACTIVE:
        query = query.where(Alert.status.in_(ACTIVE_STATUSES))
    elif status is not None:
        query = query.where(Alert.status == status)
    if before is not None:
        query = query.where(tuple_(Alert.updated_at, Alert.id) < tuple_(*before))
    if alert_type is not None:
        query = query.where(Alert.alert_type == alert_type)
    if severity is not None:
        query = query.where(Alert.severity == severity)
    if store_id is not None:
        query = query.where(Alert.store_id == store_id)
    if product_id is not None:
        query = query.where(Alert.product_id == product_id)
    if silenced is not None:
        column = Alert.silence_id
        query = query.where(column.is_not(None) if silenced else column.is_(None))
    return list(session.scalars(query))


_ACKED, _RESOLVED = sql_word(ACKNOWLEDGED), sql_word(RESOLVED)
_TRANSITION = text(
    f"""
    WITH changed AS (
        UPDATE alerts SET status = :status, updated_at = now(),
            acknowledged_at = CASE WHEN :status = {_ACKED}
                                   THEN now() ELSE acknowledged_at END,
            acknowledged_by = CASE WHEN :status = {_ACKED}
                                   THEN :actor ELSE acknowledged_by END,
            acknowledged_note = CASE WHEN :status = {_ACKED}
                                     THEN :note ELSE acknowledged_note END,
            acknowledged_outcome = CASE WHEN :status = {_ACKED}
                                        THEN :outcome ELSE acknowledged_outcome END,
            resolved_at = CASE WHEN :status = {_RESOLVED} THEN now() ELSE resolved_at END,
            resolved_by = CASE WHEN :status = {_RESOLVED} THEN :actor ELSE resolved_by END
        WHERE id = :alert_id AND status = ANY(CAST(:from_statuses AS text[]))
        RETURNING id, severity, status
    )
    INSERT INTO alert_history (alert_id, event, severity, status, actor, note, outcome)
    SELECT id, :event, severity, status, :actor, :note, :outcome FROM changed
    RETURNING id
    """
)


def _transition(
    session: Session,
    *,
    alert_id: int,
    to: str,
    event: str,
    allowed_from: tuple[str, ...],
    actor: str,
    note: str | None,
    outcome: str | None = None,
) -> Transition:
    try:
        actor = check_named(actor, field="actor", what="must name who is acting")
        check_outcome(outcome)
    except LifecycleError as exc:
        raise AlertActionError(str(exc), field=exc.field) from None
    history_id = session.execute(
        _TRANSITION,
        {
            "alert_id": alert_id,
            "status": to,
            "event": event,
            "actor": actor,
            "note": note,
            "outcome": outcome,
            "from_statuses": list(allowed_from),
        },
    ).scalar_one_or_none()
    if history_id is None:
        current = session.get(Alert, alert_id)
        if current is None:
            raise AlertNotFound(f"alert {alert_id} does not exist")
        raise AlertActionError(f"alert {alert_id} is {current.status}; it cannot be {to}")
    return Transition(alert_id=alert_id, history_id=int(history_id), status=to)


def acknowledge(
    session: Session,
    *,
    alert_id: int,
    actor: str,
    note: str | None = None,
    outcome: str | None = None,
) -> Transition:
    """Mark an open alert as acknowledged by ``actor``, with what they did (``outcome``,
    one of ACK_OUTCOMES). It is not e-mailed again unless it escalates, which re-opens it."""
    return _transition(
        session,
        alert_id=alert_id,
        to=ACKNOWLEDGED,
        event=ACKNOWLEDGED,
        allowed_from=(OPEN,),
        actor=actor,
        note=note,
        outcome=outcome,
    )


def resolve(session: Session, *, alert_id: int, actor: str, note: str | None = None) -> Transition:
    """Resolve an open or acknowledged alert by hand."""
    return _transition(
        session,
        alert_id=alert_id,
        to=RESOLVED,
        event=RESOLVED,
        allowed_from=(OPEN, ACKNOWLEDGED),
        actor=actor,
        note=note,
    )
