"""Digests: group the mail of a busy period into one e-mail per recipient.

Alertmanager's group_wait / group_interval, in the database, per (customer, recipient):

* the first mail-worthy change of a quiet period goes out at once and opens a *window* of
  ``SHELFOPS_DIGEST_WINDOW_S`` seconds (``email_windows``);
* changes that arrive while the window is open join the recipient's one ``open`` digest
  (``email_digests``; their deliveries become ``digest_pending``), due when the window closes;
* sending a digest opens the next window, so a steady stream yields one digest per window,
  and the first change after a quiet window again goes out at once.

Everything lives in PostgreSQL, so a worker's death loses no membership: a digest that is due
(or stuck ``sending``) is picked up again by the periodic relay (``shelfops.relay_outbox``).
A digest is claimed, retried and released like a delivery (outbox.py). Each function here
is one or two statements, whatever the digest's size; callers own the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.config import Settings
from shelfops_alerts.publish.changes import load_changes
from shelfops_alerts.vocabulary import (
    DIGEST,
    DIGEST_PENDING,
    FINAL_STATUSES,
    OPEN,
    PENDING,
    SENT,
    SINGLE,
    sql_list,
    sql_word,
)

_DIGEST, _DIGEST_PENDING, _OPEN, _PENDING, _SENT, _SINGLE = (
    sql_word(DIGEST),
    sql_word(DIGEST_PENDING),
    sql_word(OPEN),
    sql_word(PENDING),
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

# A window ends when it expired *and* the recipient has no digest in flight (open, being
# sent, or waiting for a retry): until that digest is sent the period is not quiet, and a
# change that arrives late (a backlog routed slower than the window) is digested instead of
# going out alone. A late change while the window is held moves its end one window on, so
# the digest it opens (the one in flight may be past joining) is due a window from now, not
# at once. Sending a digest opens the next window (``_FINISH``). SET expressions read the
# row as it was, so ``opened_by`` changes only when the window ends.
_HELD = f"""EXISTS (
        SELECT 1 FROM email_digests g WHERE g.customer_id = w.customer_id
           AND g.recipient = w.recipient AND g.status NOT IN ({sql_list(FINAL_STATUSES)}))"""
_OPEN_WINDOW = text(
    f"""
    INSERT INTO email_windows AS w (customer_id, recipient, open_until, opened_by)
    VALUES (:customer_id, :recipient, now() + make_interval(secs => :window), :id)
    ON CONFLICT (customer_id, recipient) DO UPDATE
    SET open_until = CASE WHEN w.open_until <= now() THEN EXCLUDED.open_until
                          ELSE w.open_until END,
        opened_by = CASE WHEN w.open_until <= now() AND NOT {_HELD} THEN EXCLUDED.opened_by
                         ELSE w.opened_by END
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
        RETURNING g.id, g.due_at, (g.xmax = 0) AS created,
                  EXTRACT(EPOCH FROM g.due_at - now()) AS due_in_s
    ),
    member AS (
        UPDATE email_deliveries d
        SET route = {_DIGEST}, status = {_DIGEST_PENDING}, digest_id = digest.id,
            updated_at = now()
        FROM digest WHERE d.id = :id
    )
    SELECT id, due_at, created, due_in_s FROM digest
    """
)

_MEMBERS = text(
    "SELECT id, history_id FROM email_deliveries"
    f" WHERE digest_id = :id AND status = {_DIGEST_PENDING} ORDER BY history_id"
)

_FINISH = text(
    f"""
    WITH digest AS (
        UPDATE email_digests
        SET status = :status, last_error = :error, updated_at = now(), scheduled_for = NULL,
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


@dataclass(frozen=True)
class Routing:
    """How a delivery goes out: ``single`` (now, on its own) or ``digest`` (``digest_id``,
    due in ``due_in_s`` by the database's clock; ``created`` when this delivery opened it)."""

    route: str
    digest_id: int | None = None
    due_in_s: float | None = None
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
                due_in_s=float(digest.due_in_s),
                created=bool(digest.created),
            )
    session.execute(_SET_SINGLE, {"id": delivery_id})
    return Routing(route=SINGLE)


def load_digest(session: Session, claimed: Any) -> DigestJob:
    """The job for a claimed digest row (see ``outbox.claim``): the changes it lists."""
    members = session.execute(_MEMBERS, {"id": int(claimed.id)}).all()
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


def finish_digest(
    session: Session,
    *,
    digest_id: int,
    status: str,
    window_s: float,
    error: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Record how a digest ended: ``sent`` or ``failed``, its deliveries with it; a sent
    digest opens the recipient's next window. (A wait for another attempt is
    ``outbox.reschedule``'s.)"""
    if status not in FINAL_STATUSES:
        raise ValueError(f"a digest ends {' or '.join(FINAL_STATUSES)}, not {status!r}")
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
