"""The e-mail deliveries table: claiming a delivery, recording each attempt's outcome.

A delivery is one alert change for one recipient. It is created pending with the change
(see persist.py), claimed before each attempt (``sending``, attempts + 1), and ends ``sent``
with the provider's message id or ``failed`` with the reason. A delivery already sent or
failed is never sent again by a redelivered or retried task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.publish import load_changes

FINAL_STATUSES = ("sent", "failed")

_CLAIM = text(
    """
    UPDATE email_deliveries d
    SET status = 'sending', attempts = d.attempts + 1, updated_at = now()
    WHERE d.id = :id
      AND (d.status IN ('pending', 'retrying')
           OR (d.status = 'sending'
               AND d.updated_at < now() - make_interval(secs => :stale_after)))
    RETURNING d.id, d.recipient, d.attempts, d.history_id
    """
)

_FINISH = text(
    """
    UPDATE email_deliveries
    SET status = :status, last_error = :error, updated_at = now(),
        provider_message_id = COALESCE(:message_id, provider_message_id),
        sent_at = CASE WHEN :status = 'sent' THEN now() ELSE sent_at END
    WHERE id = :id
    """
)

_STALE = text(
    """
    SELECT id FROM email_deliveries
    WHERE status IN ('pending', 'sending')
      AND updated_at < now() - make_interval(secs => :older_than)
    ORDER BY id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)

_TOUCH = text(
    "UPDATE email_deliveries SET updated_at = now() WHERE id = ANY(CAST(:ids AS bigint[]))"
)


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery: who gets it, which attempt this is, and the change to render."""

    delivery_id: int
    recipient: str
    attempt: int
    alert: dict[str, Any]


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
    if status not in ("sent", "retrying", "failed"):
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

    They are touched (``updated_at``) so the next relay run does not take them again at once.
    """
    ids = [
        int(i)
        for i in session.execute(_STALE, {"older_than": older_than_s, "limit": limit}).scalars()
    ]
    if ids:
        session.execute(_TOUCH, {"ids": ids})
    return ids
