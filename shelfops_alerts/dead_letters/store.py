"""The ``dead_letters`` table: park a message, list and show them, replay or discard one.

One row per task id: a parked message that is delivered again (a duplicate, or its parking
was not acknowledged) updates its row. Replaying queues the message again under a fresh
task id through a ``send`` callable the caller passes (the core does not import Celery);
the row records when, by whom, and under which id. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.vocabulary import DEAD_LETTER_STATUSES, DISCARDED, PARKED, REPLAYED, sql_word

_PARKED, _REPLAYED, _DISCARDED = sql_word(PARKED), sql_word(REPLAYED), sql_word(DISCARDED)


class DeadLetterError(ValueError):
    """A dead letter cannot be replayed or discarded (unknown, or no longer parked); nothing
    was changed. ``field`` names the input at fault."""

    def __init__(self, message: str, field: str = "id") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Message:
    """A task message as it was queued: enough to queue it again.

    ``options`` are what follows the task, kept as the message carried them: ``chain`` (the
    tasks after it), ``link`` and ``link_error`` (callbacks). ``queue`` is the queue it came
    from.
    """

    task_name: str
    task_id: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


#: Queues a message under a new task id: ``send(message, task_id)``.
Send = Callable[[Message, str], None]

_PARK = text(
    f"""
    INSERT INTO dead_letters (task_name, task_id, queue, args, kwargs, options, reason,
                              deliveries, first_seen_at, last_seen_at)
    VALUES (:task_name, :task_id, :queue, CAST(:args AS jsonb), CAST(:kwargs AS jsonb),
            CAST(:options AS jsonb), :reason, :deliveries, to_timestamp(:first_seen), now())
    ON CONFLICT (task_id) DO UPDATE
    SET deliveries = GREATEST(dead_letters.deliveries, EXCLUDED.deliveries),
        last_seen_at = now(),
        reason = CASE WHEN dead_letters.status = {_PARKED} THEN EXCLUDED.reason
                      ELSE dead_letters.reason END
    RETURNING id
    """
)

_COLUMNS = (
    "id, task_name, task_id, queue, args, kwargs, options, reason, deliveries, status,"
    " first_seen_at, last_seen_at, replayed_at, replayed_by, replay_task_id,"
    " discarded_at, discarded_by, discard_reason"
)
_LIST = text(
    f"""
    SELECT {_COLUMNS} FROM dead_letters
    WHERE CAST(:status AS text) IS NULL OR status = :status
    ORDER BY id DESC LIMIT :limit
    """
)
_ONE = text(f"SELECT {_COLUMNS} FROM dead_letters WHERE id = :id")
_LOCK_ONE = text(f"SELECT {_COLUMNS} FROM dead_letters WHERE id = :id FOR UPDATE")
_COUNT_PARKED = text(f"SELECT count(*) FROM dead_letters WHERE status = {_PARKED}")

_MARK_REPLAYED = text(
    f"""
    UPDATE dead_letters SET status = {_REPLAYED}, replayed_at = now(), replayed_by = :by,
        replay_task_id = :new_task_id
    WHERE id = :id
    """
)
_MARK_DISCARDED = text(
    f"""
    UPDATE dead_letters SET status = {_DISCARDED}, discarded_at = now(), discarded_by = :by,
        discard_reason = :reason
    WHERE id = :id
    """
)


def park(
    session: Session, *, message: Message, reason: str, deliveries: int, first_seen: float
) -> int:
    """Store ``message`` as a dead letter (or update its row); returns the dead letter's id.

    ``deliveries`` counts the times it reached a worker, this one included; ``first_seen`` is
    the Unix time of its first start.
    """
    return int(
        session.execute(
            _PARK,
            {
                "task_name": message.task_name,
                "task_id": message.task_id,
                "queue": message.queue,
                "args": json.dumps(list(message.args)),
                "kwargs": json.dumps(dict(message.kwargs)),
                "options": json.dumps(message.options),
                "reason": reason,
                "deliveries": deliveries,
                "first_seen": first_seen,
            },
        ).scalar_one()
    )


def count_parked(session: Session) -> int:
    """Dead letters waiting for an operator (neither replayed nor discarded)."""
    return int(session.execute(_COUNT_PARKED).scalar_one())


def list_dead_letters(
    session: Session, *, status: str | None = PARKED, limit: int = 100
) -> list[dict[str, Any]]:
    """Dead letters, newest first, as JSON-able dicts: those with ``status`` (None: all)."""
    if status is not None and status not in DEAD_LETTER_STATUSES:
        raise DeadLetterError(
            f"status must be one of {', '.join(DEAD_LETTER_STATUSES)}, got {status!r}", "status"
        )
    rows = session.execute(_LIST, {"status": status, "limit": limit}).all()
    return [_as_dict(row) for row in rows]


def get_dead_letter(session: Session, *, dead_letter_id: int) -> dict[str, Any] | None:
    """One dead letter as a JSON-able dict, or None."""
    row = session.execute(_ONE, {"id": dead_letter_id}).one_or_none()
    return None if row is None else _as_dict(row)


def replay(
    session: Session,
    *,
    dead_letter_id: int,
    by: str,
    send: Send,
    new_task_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> str:
    """Queue a parked message again under a fresh task id and mark it replayed; returns the
    new task id. DeadLetterError when it is unknown or no longer parked.

    The message is sent before the caller commits: if the commit then fails, the message
    is queued but still shows as parked, and replaying it again runs it twice, which the
    idempotent tasks absorb. The other order could lose it.
    """
    row = _parked(session, dead_letter_id, by)
    task_id = new_task_id()
    send(_message(row), task_id)
    session.execute(_MARK_REPLAYED, {"id": dead_letter_id, "by": by, "new_task_id": task_id})
    return task_id


def discard(session: Session, *, dead_letter_id: int, by: str, reason: str) -> None:
    """Put a parked message aside for good (it stays in the table, with who and why, until
    ``shelfops.prune`` takes it after SHELFOPS_RETAIN_HISTORY_DAYS)."""
    if not reason.strip():
        raise DeadLetterError("reason must say why the message is discarded", "reason")
    _parked(session, dead_letter_id, by)
    session.execute(_MARK_DISCARDED, {"id": dead_letter_id, "by": by, "reason": reason})


def _parked(session: Session, dead_letter_id: int, by: str) -> Any:
    if not by.strip():
        raise DeadLetterError("actor must name who acts", "actor")
    row = session.execute(_LOCK_ONE, {"id": dead_letter_id}).one_or_none()
    if row is None:
        raise DeadLetterError(f"no dead letter {dead_letter_id}")
    if row.status == REPLAYED:
        raise DeadLetterError(
            f"dead letter {dead_letter_id} was already replayed at {_iso(row.replayed_at)}"
            f" by {row.replayed_by} (as task {row.replay_task_id})"
        )
    if row.status == DISCARDED:
        raise DeadLetterError(
            f"dead letter {dead_letter_id} was discarded at {_iso(row.discarded_at)}"
            f" by {row.discarded_by}: {row.discard_reason}"
        )
    return row


def _message(row: Any) -> Message:
    return Message(
        task_name=row.task_name,
        task_id=row.task_id,
        args=list(row.args),
        kwargs=dict(row.kwargs),
        queue=row.queue,
        options=dict(row.options),
    )


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _as_dict(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    for key in ("first_seen_at", "last_seen_at", "replayed_at", "discarded_at"):
        found[key] = _iso(found[key])
    return found
