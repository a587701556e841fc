"""Digests: group the mail of a busy period into one e-mail per recipient.

Alertmanager's group_wait / group_interval, in the database, per (customer, recipient):

* the first mail-worthy change of a quiet period goes out at once and opens a *window* of
  ``SHELFOPS_DIGEST_WINDOW_S`` seconds (``email_windows``);
* changes that arrive while the window is open join the recipient's one ``open`` digest
  (``email_digests``; their deliveries become ``digest_pending``), due when the window closes;
* sending a digest opens the next window, so a steady stream yields one digest per window,
  and the first change after a quiet window again goes out at once.

Everything lives in PostgreSQL, so a worker's death loses no membership: a digest that is due
(or stuck ``sending``) is picked up again by the periodic ``shelfops.flush_digests``. Each
function here is one or two statements, whatever the digest's size; callers own the
transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.config import Settings
from shelfops_alerts.publish.changes import load_changes
from shelfops_alerts.vocabulary import (
    ATTEMPT_OUTCOMES,
    DIGEST,
    DIGEST_PENDING,
    FAILED,
    OPEN,
    PENDING,
    RETRYING,
    SENDING,
    SENT,
    SINGLE,
    sql_word,
)

_DIGEST, _DIGEST_PENDING, _FAILED, _OPEN, _PENDING, _RETRYING, _SENDING, _SENT, _SINGLE = (
    sql_word(DIGEST),
    sql_word(DIGEST_PENDING),
    sql_word(FAILED),
    sql_word(OPEN),
    sql_word(PENDING),
    sql_word(RETRYING),
    sql_word(SENDING),
    sql_word(SENT),
    sql_word(SINGLE),
)

_UNROUTED = text(
    f"""
    SELECT d.id, d.recipient, d.route, d.digest_id, a.customer_id
    FROM email_deliveries d JOIN alerts a ON a.id = d.alert_id
    WHERE d.id = :id AND d.status = {_PENDING}
    FOR UPDATE OF d
    """
)

_SET_SINGLE = text(f"UPDATE email_deliveries SET route = {_SINGLE} WHERE id = :id")

# A window ends when it expired *and* its digest is gone (sent or being sent): while the
# recipient's digest is still open the period is not quiet, and a change that arrives late
# (a backlog routed slower than the window) joins it instead of going out alone. SET
# expressions read the row as it was, so both columns change only when the window ends.
_QUIET = f"""w.open_until <= now() AND NOT EXISTS (
        SELECT 1 FROM email_digests g WHERE g.customer_id = w.customer_id
           AND g.recipient = w.recipient AND g.status = {_OPEN})"""
_OPEN_WINDOW = text(
    f"""
    INSERT INTO email_windows AS w (customer_id, recipient, open_until, opened_by)
    VALUES (:customer_id, :recipient, now() + make_interval(secs => :window), :id)
    ON CONFLICT (customer_id, recipient) DO UPDATE
    SET open_until = CASE WHEN {_QUIET} THEN EXCLUDED.open_until ELSE w.open_until END,
        opened_by = CASE WHEN {_QUIET} THEN EXCLUDED.opened_by ELSE w.opened_by END
    RETURNING w.opened_by = :id AS opened, w.open_until
    """
)

# The recipient's open digest that still takes changes, or a new one; the change that fills
# it marks it full, which takes it out of the unique index, so the next one opens another.
_JOIN_DIGEST = text(
    f"""
    WITH digest AS (
        INSERT INTO email_digests AS g (customer_id, recipient, due_at, changes, is_full)
        VALUES (:customer_id, :recipient, :due_at, 1, 1 >= :max_changes)
        ON CONFLICT (customer_id, recipient) WHERE status = {_OPEN} AND NOT is_full
        DO UPDATE SET updated_at = now(), changes = g.changes + 1,
                      is_full = g.changes + 1 >= :max_changes
        RETURNING g.id, g.due_at, (g.xmax = 0) AS created
    ),
    member AS (
        UPDATE email_deliveries d
        SET route = {_DIGEST}, status = {_DIGEST_PENDING}, digest_id = digest.id,
            updated_at = now()
        FROM digest WHERE d.id = :id
    )
    SELECT id, due_at, created FROM digest
    """
)

_CLAIM = text(
    f"""
    UPDATE email_digests
    SET status = {_SENDING}, attempts = attempts + 1, updated_at = now()
    WHERE id = :id
      AND ((status IN ({_OPEN}, {_RETRYING}) AND due_at <= now())
           OR (status = {_SENDING}
               AND updated_at < now() - make_interval(secs => :stale_after)))
    RETURNING id, customer_id, recipient, attempts,
              EXTRACT(EPOCH FROM now() - created_at) AS age_s
    """
)

_MEMBERS = text(
    "SELECT id, history_id FROM email_deliveries"
    f" WHERE digest_id = :id AND status = {_DIGEST_PENDING} ORDER BY history_id"
)

_WAIT = text(
    "SELECT EXTRACT(EPOCH FROM due_at - now()) FROM email_digests"
    f" WHERE id = :id AND status = {_OPEN}"
)

_FINISH = text(
    f"""
    WITH digest AS (
        UPDATE email_digests
        SET status = :status, last_error = :error, updated_at = now(),
            provider_message_id = COALESCE(:message_id, provider_message_id),
            sent_at = CASE WHEN :status = {_SENT} THEN now() ELSE sent_at END
        WHERE id = :id
        RETURNING id, customer_id, recipient
    ),
    members AS (
        UPDATE email_deliveries d
        SET status = :status, last_error = :error, updated_at = now(),
            provider_message_id = COALESCE(:message_id, d.provider_message_id),
            sent_at = CASE WHEN :status = {_SENT} THEN now() ELSE d.sent_at END
        FROM digest
        WHERE d.digest_id = digest.id AND d.status = {_DIGEST_PENDING}
          AND :status IN ({_SENT}, {_FAILED})
    ),
    next_window AS (
        UPDATE email_windows w
        SET open_until = GREATEST(w.open_until, now() + make_interval(secs => :window))
        FROM digest
        WHERE w.customer_id = digest.customer_id AND w.recipient = digest.recipient
          AND :status = {_SENT}
    )
    SELECT 1
    """
)

_DUE = text(
    f"""
    SELECT id FROM email_digests
    WHERE (status = {_OPEN} AND due_at <= now())
       OR (status = {_SENDING} AND updated_at < now() - make_interval(secs => :stale_after))
    ORDER BY due_at
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class Routing:
    """How a delivery goes out: ``single`` (now, on its own) or ``digest`` (``digest_id``,
    due at ``due_at``; ``created`` when this delivery opened that digest)."""

    route: str
    digest_id: int | None = None
    due_at: dt.datetime | None = None
    created: bool = False


@dataclass(frozen=True)
class DigestJob:
    """A claimed digest: who gets it, which attempt, how old, and the changes it lists."""

    digest_id: int
    customer_id: str
    recipient: str
    attempt: int
    age_s: float
    delivery_ids: list[int]
    alerts: list[dict[str, Any]]


def route_delivery(
    session: Session,
    *,
    delivery_id: int,
    window_s: float,
    max_changes: int = Settings.digest_max_changes,
) -> Routing | None:
    """Decide, once, whether a pending delivery goes out on its own or joins a digest.

    Returns None when the delivery is not pending (sent, failed, claimed, or unknown), and the
    earlier decision when it was already made. With ``window_s`` 0 every delivery is single.
    A digest lists at most ``max_changes`` changes; the next one opens another digest, due
    when the same window closes.
    """
    row = session.execute(_UNROUTED, {"id": delivery_id}).one_or_none()
    if row is None:
        return None
    if row.route is not None:
        return Routing(route=str(row.route), digest_id=row.digest_id)
    if window_s > 0:
        params = {
            "id": delivery_id,
            "customer_id": row.customer_id,
            "recipient": row.recipient,
            "window": window_s,
        }
        window = session.execute(_OPEN_WINDOW, params).one()
        if not window.opened:
            digest = session.execute(
                _JOIN_DIGEST,
                {**params, "due_at": window.open_until, "max_changes": max_changes},
            ).one()
            return Routing(
                route=DIGEST,
                digest_id=int(digest.id),
                due_at=digest.due_at,
                created=bool(digest.created),
            )
    session.execute(_SET_SINGLE, {"id": delivery_id})
    return Routing(route=SINGLE)


def claim_digest(session: Session, *, digest_id: int, stale_after_s: float) -> DigestJob | None:
    """Mark a due digest as being sent and load what it lists; None when it is not due yet,
    final, unknown, or being sent now (``stale_after_s``: see ``claim_delivery``)."""
    claimed = session.execute(_CLAIM, {"id": digest_id, "stale_after": stale_after_s}).one_or_none()
    if claimed is None:
        return None
    members = session.execute(_MEMBERS, {"id": digest_id}).all()
    alerts = load_changes(session, history_ids=[int(m.history_id) for m in members])
    return DigestJob(
        digest_id=int(claimed.id),
        customer_id=str(claimed.customer_id),
        recipient=str(claimed.recipient),
        attempt=int(claimed.attempts),
        age_s=float(claimed.age_s),
        delivery_ids=[int(m.id) for m in members],
        alerts=alerts,
    )


def seconds_until_due(session: Session, *, digest_id: int) -> float | None:
    """How long an ``open`` digest still collects (0 or less: due); None if it is not open."""
    value = session.execute(_WAIT, {"id": digest_id}).scalar_one_or_none()
    return None if value is None else float(value)


def finish_digest(
    session: Session,
    *,
    digest_id: int,
    status: str,
    window_s: float,
    error: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Record a digest attempt's outcome: ``sent`` or ``failed`` (its deliveries with it; a
    sent digest opens the recipient's next window), or ``retrying``."""
    if status not in ATTEMPT_OUTCOMES:
        raise ValueError(f"unknown digest outcome {status!r}")
    session.execute(
        _FINISH,
        {
            "id": digest_id,
            "status": status,
            "error": (error or None) and error[:2000],
            "message_id": provider_message_id,
            "window": window_s,
        },
    )


def due_digests(session: Session, *, stale_after_s: float, limit: int) -> list[int]:
    """Digests whose window closed, and digests stuck ``sending`` (their worker died)."""
    rows = session.execute(_DUE, {"stale_after": stale_after_s, "limit": limit})
    return [int(i) for i in rows.scalars()]
