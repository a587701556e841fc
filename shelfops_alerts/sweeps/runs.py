"""Sweeps as rows: started, queued, finished, and what they found.

A sweep is *finished* when the last of its queued batches has completed (published, or
failed). Each batch records itself once (``sweep_batches`` has one row per batch number,
so a redelivered batch is not counted twice) and adds its counts to the sweep's row; the
batch that brings ``batches_done`` up to ``batches_queued`` marks the sweep finished. The
sweep task sets ``batches_queued`` only after queueing every batch, so fast batches cannot
finish a sweep that is still being queued. The caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.skus import Sku
from shelfops_alerts.vocabulary import (
    ABANDONED,
    CREATED,
    ESCALATED,
    FINISHED,
    RESOLVED,
    RUNNING,
    UPDATED,
    sql_word,
)

#: History events a sweep counts, each into its ``alerts_<event>`` column.
COUNTED_EVENTS = (CREATED, UPDATED, ESCALATED, RESOLVED)
_RUNNING, _FINISHED = sql_word(RUNNING), sql_word(FINISHED)

_START = text(
    """
    INSERT INTO sweeps (task_id, customer_id, batch_size, skus_total)
    SELECT :task_id, :customer_id, :batch_size,
           (SELECT count(*) FROM inventory
            WHERE CAST(:customer_id AS text) IS NULL OR customer_id = :customer_id)
    RETURNING id, skus_total
    """
)

# Only the lock holder starts a sweep, so a sweep still "running" then has lost its lock.
# FOR UPDATE waits for the old sweep's batches that are persisting (they hold the row FOR KEY
# SHARE, see fencing.py): each of them counted while its sweep was current, and every later
# one finds it abandoned.
_ABANDON = text(
    f"""
    WITH old AS (SELECT id FROM sweeps WHERE status = {_RUNNING} FOR UPDATE)
    UPDATE sweeps s SET status = {sql_word(ABANDONED)} FROM old WHERE s.id = old.id
    """
)

_OWN = text(
    """
    SELECT id, status, skus_total, batch_size, queued_at, cursor_batches,
           cursor_customer_id, cursor_store_id, cursor_product_id
    FROM sweeps WHERE task_id = :task_id
    FOR UPDATE
    """
)

_PROGRESS = text(
    """
    UPDATE sweeps SET cursor_batches = :batches, cursor_customer_id = :customer_id,
        cursor_store_id = :store_id, cursor_product_id = :product_id
    WHERE id = :sweep_id
    """
)

_QUEUED = text(
    f"""
    UPDATE sweeps SET batches_queued = :batches, queued_at = now(),
        status = CASE WHEN batches_done >= :batches THEN {_FINISHED} ELSE status END,
        finished_at = CASE WHEN batches_done >= :batches THEN now() END
    WHERE id = :sweep_id
    RETURNING status
    """
)

_RECORD = text(
    """
    WITH mark AS (
        INSERT INTO sweep_batches (sweep_id, batch_no, failed)
        VALUES (:sweep_id, :batch_no, :failed)
        ON CONFLICT DO NOTHING
        RETURNING sweep_id
    )
    UPDATE sweeps s SET
        batches_done = s.batches_done + 1,
        batches_failed = s.batches_failed + CAST(:failed AS int),
        skus_checked = s.skus_checked + :skus_checked,
        alerts_created = s.alerts_created + :created,
        alerts_updated = s.alerts_updated + :updated,
        alerts_escalated = s.alerts_escalated + :escalated,
        alerts_resolved = s.alerts_resolved + :resolved
    FROM mark WHERE s.id = mark.sweep_id
    """
)

# A separate statement, so it sees the row after this batch's increment: under READ
# COMMITTED the increment holds the row lock until commit, so exactly one batch sees the
# count reach batches_queued.
_FINISH = text(
    f"""
    UPDATE sweeps SET status = {_FINISHED}, finished_at = now()
    WHERE id = :sweep_id AND status = {_RUNNING} AND queued_at IS NOT NULL
      AND batches_done >= batches_queued
    RETURNING id
    """
)

_COLUMNS = (
    "id, task_id, customer_id, status, started_at, queued_at, finished_at, batch_size,"
    " skus_total, skus_checked, batches_queued, batches_done, batches_failed,"
    " alerts_created, alerts_updated, alerts_escalated, alerts_resolved"
)
_BY_TASK = text(f"SELECT {_COLUMNS} FROM sweeps WHERE task_id = :task_id")
_BY_ID = text(f"SELECT {_COLUMNS} FROM sweeps WHERE id = :sweep_id")
_LAST = text(f"SELECT {_COLUMNS} FROM sweeps ORDER BY id DESC LIMIT 1")


@dataclass(frozen=True)
class Cursor:
    """How far a sweep's walk got: batches queued, and the last SKU key queued (if any)."""

    batches: int = 0
    customer_id: str | None = None
    sku: Sku | None = None


@dataclass(frozen=True)
class Started:
    """A sweep's id, how many SKUs it checks, and where its walk stands.

    A new sweep starts at an empty cursor; one opened again by the same task (retried, or
    redelivered after its worker died) continues from its cursor, or has nothing left to
    queue (``queued``) or to do at all (``status`` no longer running).
    """

    sweep_id: int
    skus_total: int
    batch_size: int = 0
    cursor: Cursor = field(default_factory=Cursor)
    status: str = RUNNING
    queued: bool = False
    resumed: bool = False


def start_sweep(
    session: Session, *, task_id: str, customer_id: str | None, batch_size: int
) -> Started:
    """Record a new sweep (the caller holds the lock); earlier unfinished ones are abandoned."""
    session.execute(_ABANDON)
    row = session.execute(
        _START, {"task_id": task_id, "customer_id": customer_id, "batch_size": batch_size}
    ).one()
    return Started(sweep_id=int(row.id), skus_total=int(row.skus_total), batch_size=batch_size)


def open_sweep(
    session: Session, *, task_id: str, customer_id: str | None, batch_size: int
) -> Started:
    """The sweep of this task: the one it already started (it runs again after a retry or a
    redelivery: same task id), with its cursor, or a new one (:func:`start_sweep`)."""
    row = session.execute(_OWN, {"task_id": task_id}).one_or_none()
    if row is None:
        return start_sweep(session, task_id=task_id, customer_id=customer_id, batch_size=batch_size)
    last = (
        Sku(row.cursor_store_id, row.cursor_product_id) if row.cursor_store_id is not None else None
    )
    return Started(
        sweep_id=int(row.id),
        skus_total=int(row.skus_total),
        batch_size=int(row.batch_size),
        cursor=Cursor(int(row.cursor_batches), row.cursor_customer_id, last),
        status=str(row.status),
        queued=row.queued_at is not None,
        resumed=True,
    )


def record_progress(session: Session, *, sweep_id: int, cursor: Cursor) -> None:
    """Remember how far the walk got (after each queued batch)."""
    session.execute(
        _PROGRESS,
        {
            "sweep_id": sweep_id,
            "batches": cursor.batches,
            "customer_id": cursor.customer_id,
            "store_id": cursor.sku.store_id if cursor.sku else None,
            "product_id": cursor.sku.product_id if cursor.sku else None,
        },
    )


def mark_queued(session: Session, *, sweep_id: int, batches: int) -> bool:
    """Every batch is queued; True when the sweep is already finished (all done, or none)."""
    status = session.execute(_QUEUED, {"sweep_id": sweep_id, "batches": batches}).scalar_one()
    return bool(status == FINISHED)


def record_batch(
    session: Session,
    *,
    sweep_id: int,
    batch_no: int,
    skus_checked: int = 0,
    events: dict[str, int] | None = None,
    failed: bool = False,
) -> bool:
    """Count one completed batch (once, even if redelivered); True if it finished the sweep."""
    events = events or {}
    session.execute(
        _RECORD,
        {
            "sweep_id": sweep_id,
            "batch_no": batch_no,
            "failed": failed,
            "skus_checked": skus_checked,
            **{event: int(events.get(event, 0)) for event in COUNTED_EVENTS},
        },
    )
    return session.execute(_FINISH, {"sweep_id": sweep_id}).first() is not None


def _as_dict(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    sweep = dict(row._mapping)
    for key in ("started_at", "queued_at", "finished_at"):
        sweep[key] = sweep[key].isoformat() if sweep[key] is not None else None
    ended = row.finished_at
    sweep["duration_s"] = (
        round((ended - row.started_at).total_seconds(), 3) if ended is not None else None
    )
    return sweep


def sweep_by_task(session: Session, *, task_id: str) -> dict[str, Any] | None:
    """The sweep started by this task id (JSON-able), or None."""
    return _as_dict(session.execute(_BY_TASK, {"task_id": task_id}).one_or_none())


def sweep_by_id(session: Session, *, sweep_id: int) -> dict[str, Any] | None:
    """The sweep with this id (JSON-able), or None."""
    return _as_dict(session.execute(_BY_ID, {"sweep_id": sweep_id}).one_or_none())


def last_sweep(session: Session) -> dict[str, Any] | None:
    """The most recently started sweep (JSON-able), or None when there was none."""
    return _as_dict(session.execute(_LAST).one_or_none())


def format_sweep(sweep: dict[str, Any]) -> str:
    """One sweep as a line or two a person reads."""
    scope = sweep["customer_id"] or "all customers"
    head = (
        f"sweep #{sweep['id']} ({scope}) {sweep['status']}: "
        f"{sweep['skus_checked']:,} of {sweep['skus_total']:,} SKUs checked, "
        f"{sweep['batches_done']:,}/{sweep['batches_queued'] or '?'} batches"
        f" ({sweep['batches_failed']} failed)"
    )
    if sweep["duration_s"] is not None:
        head += f" in {sweep['duration_s']:.1f} s"
    alerts = ", ".join(f"{sweep[f'alerts_{event}']:,} {event}" for event in COUNTED_EVENTS)
    return f"{head}\n  started {sweep['started_at']}; alerts: {alerts}"
