"""One prune run: every table's old rows, a bounded batch per short transaction.

Each batch is its own transaction under a lock timeout: it deletes at most ``batch`` rows
(or the old forecasts of ``forecast_skus`` SKUs), commits, and lets whatever waited go
first. A table whose batch cannot get its locks in time is left for the next run; the run
stops after ``budget_s`` and the next run goes on where it stopped (nothing is remembered
between runs: each starts from what the indexes find). Only one run works at a time (a
PostgreSQL advisory lock held for the run); a second one returns at once. A run whose
connection is lost stops there (its lock went with the connection) and raises.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shelfops_alerts.metrics.database import fold_counts
from shelfops_alerts.retention import statements
from shelfops_alerts.retention.policy import Retention

logger = logging.getLogger(__name__)

#: Rows one DELETE takes: a few milliseconds of work, so no lock is held for long.
BATCH_ROWS = 5000
#: SKUs whose old forecasts (or sales) one DELETE takes (each SKU's horizon is rebuilt, its
#: sales window cut, once per batch).
FORECAST_SKUS = 500
#: Seconds one run may spend; what is left waits for the next run.
BUDGET_S = 120.0
#: How long a batch waits for a lock another transaction holds before giving up (the table
#: is retried next run), and the longest a batch may run.
LOCK_TIMEOUT = "2s"
STATEMENT_TIMEOUT = "60s"
#: pg_try_advisory_lock key of the prune (any constant): one run at a time.
_PRUNE_LOCK_KEY = 0x5E1F_DE1E


@dataclass
class PruneReport:
    """What a run deleted, by table; ``unfinished``: tables left with work (out of budget,
    or a batch that could not get its locks); ``skipped``: another run was working."""

    deleted: dict[str, int] = field(default_factory=dict)
    #: Seconds spent on each table.
    took_s: dict[str, float] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False
    forecast_cutoff: dt.date | None = None
    sales_cutoff: dt.date | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "deleted": dict(self.deleted),
            "took_s": {table: round(s, 3) for table, s in self.took_s.items()},
            "unfinished": list(self.unfinished),
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "forecast_cutoff": self.forecast_cutoff and self.forecast_cutoff.isoformat(),
            "sales_cutoff": self.sales_cutoff and self.sales_cutoff.isoformat(),
        }


class _OutOfBudget(Exception):
    pass


def prune(
    engine: Engine,
    retention: Retention,
    *,
    today: dt.date,
    batch: int = BATCH_ROWS,
    forecast_skus: int = FORECAST_SKUS,
    budget_s: float = BUDGET_S,
    clock: Callable[[], float] = time.monotonic,
) -> PruneReport:
    """Delete what ``retention`` no longer keeps, as of ``today`` (UTC) and the database's
    clock; returns what was deleted. Never deletes an active alert, a change not yet
    published, an e-mail not sent or failed, a running sweep, or an input day the rules read.
    """
    started = clock()
    report = PruneReport()
    with engine.connect() as conn:
        with conn.begin():
            locked = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PRUNE_LOCK_KEY})
            if not locked.scalar():
                report.skipped = True
                return report
        try:
            _run(conn, retention, today, report, batch, forecast_skus, started + budget_s, clock)
        except _OutOfBudget:
            pass
        finally:
            _unlock(conn)
    report.seconds = clock() - started
    logger.info(
        "prune: %d rows in %.1f s %s%s",
        sum(report.deleted.values()),
        report.seconds,
        {table: n for table, n in report.deleted.items() if n},
        f"; unfinished: {', '.join(report.unfinished)}" if report.unfinished else "",
    )
    return report


def _unlock(conn: Connection) -> None:
    try:
        with conn.begin():
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PRUNE_LOCK_KEY})
    except DBAPIError:
        # Closing the connection releases the lock: a pooled connection must never keep it.
        conn.invalidate()


def _run(
    conn: Connection,
    retention: Retention,
    today: dt.date,
    report: PruneReport,
    batch: int,
    forecast_skus: int,
    deadline: float,
    clock: Callable[[], float],
) -> None:
    def batches(table: str, one_batch: Callable[[], tuple[int, int]], full: int) -> None:
        """Run ``one_batch`` (→ how much it took, rows it deleted) until it takes less than
        ``full``."""
        report.deleted.setdefault(table, 0)
        began = clock()
        try:
            while True:
                if clock() > deadline:
                    report.unfinished.append(table)
                    raise _OutOfBudget
                try:
                    with conn.begin():
                        conn.execute(_TIMEOUTS)
                        took, deleted = one_batch()
                except OperationalError as exc:  # a lock not granted in time, or a timeout
                    if exc.connection_invalidated:
                        # The connection (and the run's lock with it) is gone: a run that
                        # went on, reconnected, could overlap the next one. Stop here.
                        raise
                    logger.warning("prune: %s left for the next run: %s", table, exc.orig)
                    report.unfinished.append(table)
                    return
                report.deleted[table] += deleted
                if took < full:
                    return
        finally:
            report.took_s[table] = clock() - began

    def rows(statement: TextClause, params: dict[str, Any]) -> Callable[[], tuple[int, int]]:
        def one_batch() -> tuple[int, int]:
            deleted = conn.execute(statement, params).rowcount
            return deleted, deleted

        return one_batch

    for step in statements.STEPS:
        age_s = getattr(retention, step.age) if step.age else 0.0
        batches(step.table, rows(step.statement, {"batch": batch, "age_s": age_s}), batch)

    with conn.begin():
        longest = conn.execute(statements.LONGEST_HISTORY).scalar() or 0
    report.forecast_cutoff = retention.forecast_cutoff(today, longest_history_days=longest)
    report.sales_cutoff = retention.sales_cutoff(today, longest_history_days=longest)

    cutoffs = {"forecasts": report.forecast_cutoff, "sales": report.sales_cutoff}

    def by_sku(kind: statements.ByDay) -> Callable[[], tuple[int, int]]:
        after = ["", "", ""]

        def one_batch() -> tuple[int, int]:
            keys = conn.execute(
                kind.old_skus,
                {
                    "cutoff": cutoffs[kind.table],
                    "step": kind.step_days,
                    "customer_id": after[0],
                    "store_id": after[1],
                    "product_id": after[2],
                    "skus": forecast_skus,
                },
            ).all()
            if not keys:
                return 0, 0
            deleted = conn.execute(
                kind.delete,
                {
                    "cutoff": cutoffs[kind.table],
                    "customers": [k[0] for k in keys],
                    "stores": [k[1] for k in keys],
                    "products": [k[2] for k in keys],
                },
            ).rowcount
            after[:] = keys[-1]
            return len(keys), deleted

        return one_batch

    # Each SKU's old forecast (sales) rows at once; the triggers trim its horizon (window)
    # in the same step.
    for kind in statements.BY_SKU:
        batches(kind.table, by_sku(kind), forecast_skus)
    for table, statement in statements.DAILY.items():
        batches(table, rows(statement, {"batch": batch, "cutoff": report.sales_cutoff}), batch)

    # The metrics' count changes, folded even when nothing scrapes them (they grow otherwise).
    with conn.begin(), Session(bind=conn) as session:
        fold_counts(session)


_TIMEOUTS = text(
    f"SELECT set_config('lock_timeout', '{LOCK_TIMEOUT}', true),"
    f" set_config('statement_timeout', '{STATEMENT_TIMEOUT}', true)"
)
