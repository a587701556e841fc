"""The e-mail deliveries table: claiming a delivery, recording each attempt's outcome.

A delivery is one alert change for one recipient. It is created pending with the change
(see persist.py), routed once (on its own, or into a digest: ``digest_pending``, see
digests.py), claimed before each attempt (``sending``, attempts + 1), and ends ``sent``
with the provider's message id or ``failed`` with the reason. A delivery already sent or
failed is never sent again by a redelivered or retried task.

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
    ATTEMPT_OUTCOMES,
    DELIVERY_STATUSES,
    DIGEST,
    FAILED,
    PENDING,
    RETRYING,
    SENDING,
    SENT,
    sql_word,
)

_DIGEST, _FAILED, _PENDING, _RETRYING, _SENDING, _SENT = (
    sql_word(DIGEST),
    sql_word(FAILED),
    sql_word(PENDING),
    sql_word(RETRYING),
    sql_word(SENDING),
    sql_word(SENT),
)


_CLAIM = text(
    f"""
    UPDATE email_deliveries d
    SET status = {_SENDING}, attempts = d.attempts + 1, updated_at = now()
    WHERE d.id = :id
      AND (d.status IN ({_PENDING}, {_RETRYING})
           OR (d.status = {_SENDING}
               AND d.updated_at < now() - make_interval(secs => :stale_after)))
      AND d.route IS DISTINCT FROM {_DIGEST}
    RETURNING d.id, d.recipient, d.attempts, d.history_id,
              EXTRACT(EPOCH FROM now() - d.queued_at) AS age_s
    """
)

_FINISH = text(
    f"""
    UPDATE email_deliveries
    SET status = :status, updated_at = now(),
        last_error = CASE WHEN :status = {_SENT} THEN last_error ELSE :error END,
        provider_message_id = COALESCE(:message_id, provider_message_id),
        sent_at = CASE WHEN :status = {_SENT} THEN now() ELSE sent_at END
    WHERE id = :id
    """
)

_STALE = text(
    f"""
    SELECT id FROM email_deliveries
    WHERE status IN ({_PENDING}, {_SENDING})
      AND updated_at < now() - make_interval(secs => :older_than)
    ORDER BY id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)

# A stuck ``sending`` row goes back to ``pending``: were it only touched, the task queued for it
# would find it freshly updated, not stale, and skip it.
_TOUCH = text(
    f"""
    UPDATE email_deliveries
    SET updated_at = now(), status = CASE WHEN status = {_SENDING} THEN {_PENDING} ELSE status END
    WHERE id = ANY(CAST(:ids AS bigint[]))
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


def claim_delivery(
    session: Session, *, delivery_id: int, stale_after_s: float
) -> DeliveryJob | None:
    """Mark a delivery as being sent; None when it is final, unknown, or being sent now.

    A delivery left ``sending`` for longer than ``stale_after_s`` belongs to a worker that
    died mid-send and may be claimed again.
    """
    claimed = session.execute(
        _CLAIM, {"id": delivery_id, "stale_after": stale_after_s}
    ).one_or_none()
    if claimed is None:
        return None
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
    """Store an attempt's outcome: ``sent``, ``retrying`` or ``failed``."""
    if status not in ATTEMPT_OUTCOMES:
        raise ValueError(f"unknown delivery outcome {status!r}")
    session.execute(
        _FINISH,
        {
            "id": delivery_id,
            "status": status,
            "error": (error or None) and error[:2000],
            "message_id": provider_message_id,
        },
    )


def claim_stale(session: Session, *, older_than_s: float, limit: int) -> list[int]:
    """Deliveries stuck pending or sending (their task was lost).

    They are touched (``updated_at``) so the next relay run does not take them again at once,
    and those stuck ``sending`` are put back to ``pending`` so the task queued for them claims
    them.
    """
    ids = [
        int(i)
        for i in session.execute(_STALE, {"older_than": older_than_s, "limit": limit}).scalars()
    ]
    if ids:
        session.execute(_TOUCH, {"ids": ids})
    return ids


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
            queued_at = now(), updated_at = now()
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
    statement. Others are refused with the reason; the caller queues the requeued ones
    after commit."""
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
