"""The e-mail deliveries table: loading a claimed delivery, recording how it ended.

A delivery is one alert change for one recipient. It is created pending with the change
(see persist.py), routed once (on its own, or into a digest: ``digest_pending``, see
digests.py), claimed before each attempt (``sending``, attempts + 1; the statements
deliveries share with digests are in outbox.py), and ends ``sent`` with the provider's
message id or ``failed`` with the reason. A delivery already sent or failed is never sent
again by a redelivered or retried task.

Operators list deliveries and put failed ones back (:func:`list_deliveries`,
:func:`requeue_failed`, behind ``shelfops-alerts deliveries``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.publish.changes import load_changes
from shelfops_alerts.vocabulary import (
    DELIVERY_STATUSES,
    FAILED,
    FINAL_STATUSES,
    PENDING,
    SENT,
    sql_word,
)

_FAILED, _PENDING, _SENT = sql_word(FAILED), sql_word(PENDING), sql_word(SENT)

_FINISH = text(
    f"""
    UPDATE email_deliveries
    SET status = :status, updated_at = now(), scheduled_for = NULL,
        last_error = CASE WHEN :status = {_SENT} THEN last_error ELSE :error END,
        provider_message_id = COALESCE(:message_id, provider_message_id),
        sent_at = CASE WHEN :status = {_SENT} THEN now() ELSE sent_at END
    WHERE id = :id
    """
)


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery: who gets it, which attempt this is, and the change to render."""

    delivery_id: int
    recipient: str
    attempt: int
    alert: dict[str, Any]
    #: Seconds since the delivery was queued (SHELFOPS_EMAIL_MAX_AGE_S counts this).
    age_s: float = 0.0


def load_delivery(session: Session, claimed: Any) -> DeliveryJob:
    """The job for a claimed delivery row (see ``outbox.claim``): its change, loaded."""
    (change,) = load_changes(session, history_ids=[int(claimed.history_id)])
    return DeliveryJob(
        delivery_id=int(claimed.id),
        recipient=str(claimed.recipient),
        attempt=int(claimed.attempts),
        alert=change,
        age_s=float(claimed.age_s),
    )


def record_outcome(
    session: Session,
    *,
    delivery_id: int,
    status: str,
    error: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Store how a delivery ended: ``sent`` (with the provider's id) or ``failed`` (why);
    a wait for another attempt is ``outbox.reschedule``'s."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"a delivery ends {' or '.join(FINAL_STATUSES)}, not {status!r}")
    session.execute(
        _FINISH,
        {
            "id": delivery_id,
            "status": status,
            "error": (error or None) and error[:2000],
            "message_id": provider_message_id,
        },
    )


_LIST = text(
    """
    SELECT d.id, d.status, d.attempts, d.recipient, d.alert_id, d.history_id, d.route,
           d.digest_id, d.last_error, d.provider_message_id, d.created_at, d.updated_at,
           d.sent_at, a.customer_id, a.store_id, a.product_id, a.severity
    FROM email_deliveries d JOIN alerts a ON a.id = d.alert_id
    WHERE (CAST(:status AS text) IS NULL OR d.status = :status)
      AND (CAST(:customer AS text) IS NULL OR a.customer_id = :customer)
    ORDER BY d.id DESC
    LIMIT :limit
    """
)

_REQUEUE = text(
    f"""
    WITH wanted AS (
        SELECT d.id, d.status FROM email_deliveries d
        WHERE d.id = ANY(CAST(:ids AS bigint[]))
        FOR UPDATE
    ),
    requeued AS (
        UPDATE email_deliveries d
        SET status = {_PENDING}, attempts = 0, route = NULL, digest_id = NULL,
            queued_at = now(), updated_at = now(), due_at = now(), scheduled_for = now()
        FROM wanted WHERE d.id = wanted.id AND wanted.status = {_FAILED}
        RETURNING d.id
    )
    SELECT wanted.id, wanted.status, requeued.id IS NOT NULL AS requeued
    FROM wanted LEFT JOIN requeued ON requeued.id = wanted.id
    """
)


def list_deliveries(
    session: Session,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Deliveries, newest first, as plain dicts (status, attempts, last error, ...)."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValueError(f"status must be one of {', '.join(DELIVERY_STATUSES)}, got {status!r}")
    rows = session.execute(
        _LIST, {"status": status, "customer": customer_id, "limit": limit}
    ).mappings()
    return [dict(row) for row in rows]


@dataclass(frozen=True)
class Requeued:
    """What :func:`requeue_failed` did: ids put back to pending, and ids refused with why."""

    requeued: list[int]
    refused: dict[int, str]


def requeue_failed(session: Session, *, delivery_ids: list[int]) -> Requeued:
    """Put failed deliveries back to ``pending`` (attempts and age start again), in one
    statement, marked as queued. Others are refused with the reason; the caller queues the
    requeued ones after commit."""
    found = session.execute(_REQUEUE, {"ids": list(delivery_ids)}).all()
    done = sorted(int(r.id) for r in found if r.requeued)
    refused = {
        int(r.id): f"delivery {r.id} is {r.status}; only failed deliveries can be retried"
        for r in found
        if not r.requeued
    }
    for missing in sorted(set(delivery_ids) - {int(r.id) for r in found}):
        refused[missing] = f"no delivery {missing}"
    return Requeued(requeued=done, refused=refused)
