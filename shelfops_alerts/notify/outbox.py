"""The claim and outcome bookkeeping deliveries and digests share: one set of statements,
built for either table.

A row (a delivery, or a digest) waits for an attempt (``pending``/``open`` or ``retrying``)
until ``due_at``; an attempt claims it (``sending``, attempts + 1, committed before the
request); the attempt ends it (``sent``/``failed``, each kind's own statement) or puts it
back to wait (:func:`reschedule`: after a failed attempt, or released because no rate
slot was free, which does not count as an attempt). ``scheduled_for`` says a task message
is out for the row and when it should run at the latest (its countdown, or the queue ahead
of it drained at the e-mail rate), so the relay leaves the row alone while it waits its turn
(:func:`overdue`) and re-queues it only if it is due and its message is presumed lost.
The caller owns the transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from shelfops_alerts.vocabulary import (
    DIGEST,
    OPEN,
    PENDING,
    RETRYING,
    SENDING,
    sql_list,
    sql_word,
)

#: An attempt may claim its row this long before ``due_at`` (clocks of machines differ).
DUE_SLACK_S = 1.0
#: ``last_error`` of a row whose attempt never finished (its worker died mid-send).
LOST_ATTEMPT = "the attempt never finished (its worker stopped); queued again"


@dataclass(frozen=True)
class Outbox:
    """One table of outgoing mail: which statuses wait, where its age counts from, which
    rows are sent on their own, and what a released claim goes back to."""

    table: str
    waiting: tuple[str, ...]
    born: str
    released: str
    only: str = "TRUE"


DELIVERIES = Outbox(
    table="email_deliveries",
    waiting=(PENDING, RETRYING),
    born="queued_at",
    # Before its first attempt a delivery is pending again; after one, retrying.
    released=f"CASE WHEN attempts > 1 THEN {sql_word(RETRYING)} ELSE {sql_word(PENDING)} END",
    # A delivery grouped into a digest is sent with it, never on its own.
    only=f"route IS DISTINCT FROM {sql_word(DIGEST)}",
)
DIGESTS = Outbox(
    table="email_digests",
    waiting=(OPEN, RETRYING),
    born="created_at",
    # Never ``open`` again: a newer open digest may exist for the recipient by now.
    released=sql_word(RETRYING),
)


@dataclass(frozen=True)
class NotDue:
    """The row waits, but its attempt is due only in ``wait_s``; ``scheduled`` when a task
    message is already out for it."""

    wait_s: float
    scheduled: bool


@functools.cache
def _statements(box: Outbox) -> dict[str, TextClause]:
    waiting, sending, retrying = sql_list(box.waiting), sql_word(SENDING), sql_word(RETRYING)
    age = f"EXTRACT(EPOCH FROM now() - {box.born}) AS age_s"
    return {
        "claim": text(
            f"""
            UPDATE {box.table}
            SET status = {sending}, attempts = attempts + 1, updated_at = now(),
                scheduled_for = NULL
            WHERE id = :id AND {box.only}
              AND ((status IN ({waiting})
                    AND due_at <= now() + make_interval(secs => {DUE_SLACK_S}))
                   OR (status = {sending} AND attempts < :max_attempts
                       AND updated_at < now() - make_interval(secs => :stale_after)))
            RETURNING *, {age}
            """
        ),
        "waiting": text(
            f"""
            SELECT EXTRACT(EPOCH FROM due_at - now()) AS wait_s,
                   scheduled_for IS NOT NULL AS scheduled
            FROM {box.table} WHERE id = :id AND {box.only} AND status IN ({waiting})
            """
        ),
        "reschedule": text(
            f"""
            UPDATE {box.table}
            SET status = CASE WHEN :release THEN {box.released} ELSE {retrying} END,
                attempts = CASE WHEN :release THEN attempts - 1 ELSE attempts END,
                last_error = COALESCE(CAST(:error AS text), last_error),
                updated_at = now(), due_at = now() + make_interval(secs => :delay),
                scheduled_for = CASE WHEN :handed_over
                                     THEN now() + make_interval(secs => :delay) END
            WHERE id = :id AND status = {sending}
            """
        ),
        "scheduled": text(
            f"UPDATE {box.table} SET scheduled_for = now() + make_interval(secs => :expected_in)"
            f" WHERE id = ANY(CAST(:ids AS bigint[])) AND status IN ({waiting})"
        ),
        "unscheduled": text(
            f"UPDATE {box.table} SET scheduled_for = NULL WHERE id = :id AND status IN ({waiting})"
        ),
        "overdue": text(
            f"""
            SELECT id, status, attempts, {age} FROM {box.table}
            WHERE {box.only}
              AND ((status IN ({waiting}) AND due_at <= now()
                    AND updated_at < now() - make_interval(secs => :grace)
                    AND (scheduled_for IS NULL
                         OR scheduled_for < now() - make_interval(secs => :lost_after)))
                   OR (status = {sending}
                       AND updated_at < now() - make_interval(secs => :stale_after)))
            ORDER BY due_at, id
            LIMIT :limit
            FOR UPDATE SKIP LOCKED
            """
        ),
        "requeued": text(
            f"""
            UPDATE {box.table}
            SET scheduled_for = now() + make_interval(secs => :expected_in), updated_at = now(),
                due_at = CASE WHEN status = {sending} THEN now() ELSE due_at END,
                last_error = CASE WHEN status = {sending} THEN :lost ELSE last_error END,
                status = CASE WHEN status = {sending} THEN {retrying} ELSE status END
            WHERE id = ANY(CAST(:ids AS bigint[]))
            """
        ),
    }


def claim(
    session: Session, box: Outbox, item_id: int, *, stale_after_s: float, max_attempts: int
) -> Any | NotDue | None:
    """Mark the row as being sent: its row (with ``age_s``) when claimed, :class:`NotDue`
    when it waits for later, None when it is final, unknown, or being sent now.

    A row left ``sending`` for longer than ``stale_after_s`` belongs to a worker that died
    mid-send and may be claimed again, unless it has had its ``max_attempts``.
    """
    params = {"id": item_id, "stale_after": stale_after_s, "max_attempts": max_attempts}
    claimed = session.execute(_statements(box)["claim"], params).one_or_none()
    if claimed is not None:
        return claimed
    later = session.execute(_statements(box)["waiting"], {"id": item_id}).one_or_none()
    if later is None:
        return None
    return NotDue(wait_s=float(later.wait_s), scheduled=bool(later.scheduled))


def reschedule(
    session: Session,
    box: Outbox,
    item_id: int,
    *,
    delay_s: float,
    handed_over: bool,
    error: str | None = None,
    release: bool = False,
) -> None:
    """Put a claimed row back to wait ``delay_s``: ``retrying`` after a failed attempt, or
    (``release``) as it was before the claim, the attempt not counted. ``handed_over``: a
    task message is out for it (else the relay brings it back when it is due)."""
    session.execute(
        _statements(box)["reschedule"],
        {
            "id": item_id,
            "delay": max(0.0, delay_s),
            "handed_over": handed_over,
            "error": (error or None) and error[:2000],
            "release": release,
        },
    )


def mark_scheduled(
    session: Session, box: Outbox, ids: Sequence[int], *, expected_in_s: float = 0.0
) -> None:
    """A task message was handed to the broker for each of these waiting rows; it should
    run within ``expected_in_s`` (its countdown, or the time the queue ahead takes)."""
    if ids:
        session.execute(
            _statements(box)["scheduled"], {"ids": list(ids), "expected_in": expected_in_s}
        )


def mark_unscheduled(session: Session, box: Outbox, item_id: int) -> None:
    """No task message is out for this waiting row: the relay brings it back when due."""
    session.execute(_statements(box)["unscheduled"], {"id": item_id})


@dataclass(frozen=True)
class Overdue:
    """Rows to queue again, and rows to fail (id, reason) instead: no attempt left."""

    requeue: list[int] = field(default_factory=list)
    exhausted: list[tuple[int, str]] = field(default_factory=list)


def overdue(
    session: Session,
    box: Outbox,
    *,
    grace_s: float,
    lost_after_s: float,
    stale_after_s: float,
    max_attempts: int,
    max_age_s: float,
    limit: int,
    queue_ahead: int = 0,
    rate: float = 1.0,
) -> Overdue:
    """Rows the relay must act on, marked as queued (``scheduled_for``) in this transaction:

    * due rows without a task message out (left for the relay, or lost between commit and
      queueing) once untouched for ``grace_s``, and due rows whose message should have run
      more than ``lost_after_s`` ago (the broker lost it);
    * rows stuck ``sending`` for ``stale_after_s`` (their worker died): back to
      ``retrying``, unless that was their last attempt.

    Rows that used up their attempts, or were tried and are older than ``max_age_s``, are
    returned in ``exhausted`` for the caller to fail; nothing is re-queued forever. The
    re-queued rows' messages join ``queue_ahead`` others drained at ``rate`` per second.
    """
    rows = session.execute(
        _statements(box)["overdue"],
        {
            "grace": grace_s,
            "lost_after": lost_after_s,
            "stale_after": stale_after_s,
            "limit": limit,
        },
    ).all()
    found = Overdue()
    for row in rows:
        if row.attempts >= max_attempts:
            why = "the last never finished" if row.status == SENDING else "none left"
            found.exhausted.append((int(row.id), f"gave up after {row.attempts} attempts: {why}"))
        elif row.attempts > 0 and row.age_s > max_age_s:
            found.exhausted.append(
                (int(row.id), f"gave up after {row.attempts} attempts: older than {max_age_s:g} s")
            )
        else:
            found.requeue.append(int(row.id))
    if found.requeue:
        expected_in = (queue_ahead + len(found.requeue)) / rate
        session.execute(
            _statements(box)["requeued"],
            {"ids": found.requeue, "lost": LOST_ATTEMPT, "expected_in": expected_in},
        )
    return found
