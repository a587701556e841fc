"""The figures PostgreSQL holds: active alerts, deliveries, the outbox, the last sweeps.

Every read is bounded by something small, never by the size of the history:

* alert and delivery counts are sums over ``alert_counts`` / ``delivery_counts``, the count
  changes triggers append (migration 0007); each read first folds those rows into one per
  group (under a try-lock: a concurrent scrape skips folding and only reads), so a read sums
  a few dozen rows plus what changed since the previous scrape;
* the outbox: the partial index of unpublished changes (empty when the relay keeps up);
* the oldest waiting delivery: the first entry of a partial index;
* sweeps: the newest rows, by primary key.

Three statements in one short transaction, under a statement timeout, so a stuck database
fails the scrape's database part instead of hanging it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.vocabulary import ACTIVE_STATUSES

#: Longest a metrics statement may run (milliseconds).
STATEMENT_TIMEOUT_MS = 2000
#: pg_try_advisory_xact_lock key of the fold (any constant; one fold at a time).
_FOLD_LOCK_KEY = 0x5E1F_C0DE

#: Count-change rows one fold statement takes; a scrape folds until fewer are left or its
#: budget is spent, so even a backlog of millions (months without a scrape) is worked off
#: over a few scrapes instead of timing every one of them out.
FOLD_CHUNK = 100_000
#: Seconds of folding one scrape may spend before reading the sums.
FOLD_BUDGET_S = 0.5

_FOLD = (
    text(
        """
        WITH gone AS (
            DELETE FROM alert_counts
            WHERE ctid = ANY(ARRAY(SELECT ctid FROM alert_counts LIMIT :chunk))
            RETURNING alert_type, severity, status, n
        ),
        folded AS (
            INSERT INTO alert_counts (alert_type, severity, status, n)
            SELECT alert_type, severity, status, sum(n) FROM gone
            GROUP BY alert_type, severity, status HAVING sum(n) <> 0
        )
        SELECT count(*) FROM gone
        """
    ),
    text(
        """
        WITH gone AS (
            DELETE FROM delivery_counts
            WHERE ctid = ANY(ARRAY(SELECT ctid FROM delivery_counts LIMIT :chunk))
            RETURNING status, n
        ),
        folded AS (
            INSERT INTO delivery_counts (status, n)
            SELECT status, sum(n) FROM gone GROUP BY status HAVING sum(n) <> 0
        )
        SELECT count(*) FROM gone
        """
    ),
)

_COUNTS = text(
    """
    SELECT 'alert' AS kind, alert_type, severity, sum(n) AS n FROM alert_counts
    WHERE status = ANY(CAST(:active AS text[])) GROUP BY alert_type, severity
    UNION ALL
    SELECT 'delivery', status, NULL, sum(n) FROM delivery_counts GROUP BY status
    """
)

_FIGURES = text(
    """
    SELECT
        (SELECT count(*) FROM alert_history WHERE published_at IS NULL) AS unpublished,
        (SELECT EXTRACT(EPOCH FROM now() - min(changed_at)) FROM alert_history
         WHERE published_at IS NULL) AS oldest_unpublished_s,
        (SELECT EXTRACT(EPOCH FROM now() - min(queued_at)) FROM email_deliveries
         WHERE status IN ('pending', 'sending')) AS oldest_waiting_s,
        (SELECT EXTRACT(EPOCH FROM started_at) FROM sweeps ORDER BY id DESC LIMIT 1)
            AS last_started,
        f.finished, f.duration_s, f.skus_checked, f.batches_failed
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (
        SELECT EXTRACT(EPOCH FROM finished_at) AS finished,
               EXTRACT(EPOCH FROM finished_at - started_at) AS duration_s,
               skus_checked, batches_failed
        FROM sweeps WHERE status = 'finished' ORDER BY id DESC LIMIT 1
    ) f ON true
    """
)


@dataclass
class DatabaseFigures:
    """What one read of PostgreSQL found (None: nothing to report, e.g. no sweep yet)."""

    #: (alert_type, severity) -> active alerts
    active_alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    #: status -> deliveries
    deliveries: dict[str, int] = field(default_factory=dict)
    unpublished_changes: int = 0
    oldest_unpublished_s: float | None = None
    oldest_waiting_delivery_s: float | None = None
    sweep_last_started: float | None = None
    sweep_last_finished: float | None = None
    sweep_last_duration_s: float | None = None
    sweep_last_skus_checked: int | None = None
    sweep_last_batches_failed: int | None = None


def fold_counts(session: Session, *, chunk: int = FOLD_CHUNK) -> bool:
    """Fold the count changes into one row per group (``chunk`` rows per statement, for at
    most FOLD_BUDGET_S), unless another session is folding; True when this one did."""
    if not session.execute(
        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _FOLD_LOCK_KEY}
    ).scalar():
        return False
    deadline = time.monotonic() + FOLD_BUDGET_S
    for statement in _FOLD:
        while session.execute(statement, {"chunk": chunk}).scalar_one() >= chunk:
            if time.monotonic() > deadline:
                break
    return True


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def read_figures(session: Session) -> DatabaseFigures:
    """Fold the counts and read every database figure; the caller commits (the fold)."""
    session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    fold_counts(session)
    found = DatabaseFigures()
    for row in session.execute(_COUNTS, {"active": list(ACTIVE_STATUSES)}):
        if row.kind == "alert":
            found.active_alerts[(row.alert_type, row.severity)] = int(row.n)
        else:
            found.deliveries[row.alert_type] = int(row.n)
    row = session.execute(_FIGURES).one()
    found.unpublished_changes = int(row.unpublished)
    found.oldest_unpublished_s = _float(row.oldest_unpublished_s)
    found.oldest_waiting_delivery_s = _float(row.oldest_waiting_s)
    found.sweep_last_started = _float(row.last_started)
    found.sweep_last_finished = _float(row.finished)
    found.sweep_last_duration_s = _float(row.duration_s)
    found.sweep_last_skus_checked = None if row.skus_checked is None else int(row.skus_checked)
    found.sweep_last_batches_failed = (
        None if row.batches_failed is None else int(row.batches_failed)
    )
    return found
