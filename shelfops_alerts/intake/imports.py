"""Importing inventory, forecasts, recipients and planning data from CSV files, in bulk.

An import streams the file into the database while checking it
(:mod:`shelfops_alerts.intake.csv_stream`): ``COPY`` into a temporary table, then one
statement moves the rows into the real table. Memory stays bounded whatever the file's
size, and the number of statements does not grow with it. It is all or nothing: a bad row
(named by its line) or a key given twice stops it, and since the caller owns the
transaction (``with factory.begin() as session:``, or a psycopg2 connection's own
transaction, as the ``import`` command does: :mod:`~shelfops_alerts.intake.import_db`)
nothing of the file is kept.

* A first import into the big tables (inventory, forecasts, sales, arrivals: the file's
  first customer has no row there yet) is tried as one ``COPY`` straight into the table,
  in a savepoint: the rows are written once, not staged and then copied. If a key is
  already stored or given twice, the savepoint is rolled back and the file is read again
  the staged way below, which upserts or names the duplicate's lines.
* Rows of customers the table has no row of yet (a first import) go in with a plain
  ``INSERT``, far cheaper than an upsert; everything else goes through ``INSERT ... ON
  CONFLICT DO UPDATE`` in key order. Either way a key given twice in the file is found by
  the database, not by keeping every key in memory, and reported with both its lines.
* Imports of one kind run one after the other (a transaction-level advisory lock), so two
  imports of overlapping files never deadlock.
* Afterwards the table's planner statistics are refreshed (``ANALYZE``, inside the same
  transaction) when the import changed a good part of it, so the very next sweep is
  planned for the data it will read — no manual ``VACUUM``/``ANALYZE`` needed. Such an
  import also names those tables in :attr:`ImportSummary.settle`: once the caller has
  committed, :func:`settle` vacuums them (the ``import`` command does), so autovacuum does
  not come to visit millions of fresh rows during the first sweep after the import.

The latest import wins per key: a SKU's stock, a SKU's forecast, sales or arrival for one day,
a recipient's minimum severity, a SKU's policy, a customer's rule settings. Days a file does
not mention are kept as they were: past forecasts stay as the history that accuracy and
anomaly checks compare with actual sales.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg2 import errors as pg_errors

from shelfops_alerts.intake import bulk_load
from shelfops_alerts.intake.csv_rows import CsvImportError, duplicate_reason
from shelfops_alerts.intake.csv_stream import CopySource
from shelfops_alerts.intake.import_db import ImportDb, import_db
from shelfops_alerts.intake.import_targets import TARGETS, Target

if TYPE_CHECKING:
    from psycopg2.extensions import connection as PgConnection
    from sqlalchemy.orm import Session

__all__ = [
    "CsvImportError",
    "ImportSummary",
    "Progress",
    "import_arrivals",
    "import_forecasts",
    "import_inventory",
    "import_policies",
    "import_recipients",
    "import_rule_settings",
    "import_thresholds",
    "import_sales",
    "settle",
]

#: ``progress(stage, bytes_read, total_bytes, rows)``: stage ``reading`` while the file is
#: read into the database, then ``storing`` once when it is read (while the staged rows are
#: written to their table, or — copied straight in — while statistics are refreshed).
Progress = Callable[[str, int, int, int], None]

#: Statistics are refreshed when an import writes at least this share of the table's rows
#: (PostgreSQL's own autovacuum waits for 10 % and then up to a minute).
ANALYZE_SHARE = 0.1

_LOCK = "SELECT pg_advisory_xact_lock(hashtext('shelfops_import'), hashtext(:kind))"
_ESTIMATED_ROWS = "SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: its kind, how many rows it wrote, which customers they belong to,
    and the tables it wrote a good share of (:data:`ANALYZE_SHARE`), for :func:`settle`."""

    kind: str
    rows: int
    customers: list[str]
    settle: tuple[str, ...] = ()


def settle(connection: PgConnection, summary: ImportSummary) -> None:
    """``VACUUM (ANALYZE)`` the tables ``summary`` names, on ``connection`` once the import's
    transaction is committed (VACUUM runs outside a transaction: this switches the
    connection to autocommit).

    Without it autovacuum would come by itself soon after a big import (the rows inserted
    since the last vacuum pass its threshold, and the statistics taken inside the import's
    transaction count for nothing once it commits) and visit every fresh page on the same
    cores as the first sweep: at 1M SKUs that doubled the sweep. Here the pages are marked
    all-visible once, while the import command still runs: the rows of a bulk first import
    are already frozen, so it is mostly a read of the pages written last.
    """
    if not summary.settle:
        return
    connection.autocommit = True
    with connection.cursor() as cursor:
        if connection.server_version >= 150000:
            # The import's counts of inserted rows reach the shared statistics when the
            # backend is next idle — at most once a second: flushed now, before the VACUUM
            # resets them (else they would land after it and call autovacuum anyway).
            cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(summary.settle)}")


def import_inventory(
    session: Session | PgConnection, *, path: Path, progress: Progress | None = None
) -> ImportSummary:
    """Upsert stock levels from ``customer_id,store_id,product_id,on_hand[,on_order]``.

    ``on_order`` defaults to 0. Each SKU's row replaces its stock and sets ``updated_at``.
    Raises :class:`CsvImportError` (and writes nothing) if any row is bad.
    """
    return _import(
        import_db(session), path=Path(path), target=TARGETS["inventory"], progress=progress
    )


def import_forecasts(
    session: Session | PgConnection, *, path: Path, progress: Progress | None = None
) -> ImportSummary:
    """Upsert daily forecasts from ``customer_id,store_id,product_id,date,forecasted_demand
    [,run_id]``, one row per SKU and day (``date`` as YYYY-MM-DD).

    For each SKU and day in the file the new demand and run id replace the old; days the file
    does not cover are kept as history. Raises :class:`CsvImportError` (and writes nothing)
    if any row is bad.
    """
    return _import(
        import_db(session), path=Path(path), target=TARGETS["forecasts"], progress=progress
    )


def import_recipients(
    session: Session | PgConnection, *, path: Path, progress: Progress | None = None
) -> ImportSummary:
    """Upsert alert e-mail recipients from ``customer_id,email[,min_severity]``.

    ``min_severity`` (low, medium, high or critical) defaults to critical. Raises
    :class:`CsvImportError` (and writes nothing) if any row is bad.
    """
    return _import(
        import_db(session), path=Path(path), target=TARGETS["recipients"], progress=progress
    )


def import_policies(
    session: Session | PgConnection, *, path: Path, progress: Progress | None = None
) -> ImportSummary:
    """Upsert replenishment policies from ``customer_id,store_id,product_id,lead_time_days
    [,reorder_point,order_up_to,case_pack,min_order_qty,service_level]``.

    A SKU's row replaces its whole policy: an empty optional cell means "derive it" (reorder
    point, order-up-to level), "none" (case pack, minimum order) or "the customer's default"
    (service level). Raises :class:`CsvImportError` (and writes nothing) if any row is bad.
    """
    return _import(
        import_db(session), path=Path(path), target=TARGETS["policies"], progress=progress
    )


def import_sales(
    session: Session | PgConnection, *, path: Path, progress: Progress | None = None
) -> ImportSummary:
    """Upsert actual daily sales from ``customer_id,store_id,product_id,date,units``.

    The latest import wins per SKU and day. Raises :class:`CsvImportError` (and writes
    nothing) if any row is bad.
    """
    return _import(import_db(session), path=Path(path), target=TARGETS["sales"], progress=progress)


def import_arrivals(
    session: Session | PgConnection, *, path: Path, progress: Progress | None = None
) -> ImportSummary:
    """Upsert confirmed arrivals from ``customer_id,store_id,product_id,date,quantity``.

    One row per SKU and day (add up several orders due the same day); the latest import wins,
    and a quantity of 0 cancels an arrival. Raises :class:`CsvImportError` (and writes
    nothing) if any row is bad.
    """
    return _import(
        import_db(session), path=Path(path), target=TARGETS["arrivals"], progress=progress
    )


def import_rule_settings(
    session: Session | PgConnection, *, path: Path, progress: Progress | None = None
) -> ImportSummary:
    """Upsert per-customer rule thresholds from ``customer_id[,service_level,history_days,...]``
    (any of :data:`~shelfops_alerts.detect.rules.rule_settings.FIELD_NAMES`).

    A customer's row replaces all its overrides: a column left out or empty goes back to the
    default. Raises :class:`CsvImportError` (and writes nothing) if any row is bad.
    """
    return _import(
        import_db(session), path=Path(path), target=TARGETS["rule-settings"], progress=progress
    )


def import_thresholds(
    session: Session | PgConnection, *, path: Path, progress: Progress | None = None
) -> ImportSummary:
    """Upsert per-customer stockout thresholds from ``customer_id,critical_days,high_days,
    medium_days`` (days until stockout at or below which each severity applies).

    Raises :class:`CsvImportError` (and writes nothing) if any row is bad, including
    thresholds out of order (0 <= critical <= high <= medium).
    """
    return _import(
        import_db(session), path=Path(path), target=TARGETS["thresholds"], progress=progress
    )


def _import(
    db: ImportDb, *, path: Path, target: Target, progress: Progress | None
) -> ImportSummary:
    def reading(done: int, total: int, rows: int) -> None:
        if progress is not None:
            progress("reading", done, total, rows)

    with CopySource(path, target.spec, on_progress=reading) as source:
        if not source.has_rows():  # an empty file (or a header alone) changes nothing
            return ImportSummary(kind=target.spec.kind, rows=0, customers=[])
        db.rows(_LOCK, {"kind": target.spec.kind})
        statement = target.direct_copy(source.columns)
        # (the customers of the rows read ahead so far: a first import of a customer)
        if statement is None or not _fresh(db, target, source.customers):
            return _staged(db, target, source, progress)
        if _copy_directly(db, target, statement, source):
            _stored(progress, source)
            return _summary(target, source, _refresh_statistics(db, target, source.rows))
    # A key already stored or given twice: read the file again, the staged way.
    with CopySource(path, target.spec, on_progress=reading) as again:
        again.has_rows()
        return _staged(db, target, again, progress)


def _staged(
    db: ImportDb, target: Target, source: CopySource, progress: Progress | None
) -> ImportSummary:
    """COPY into the staging table, then upsert (or insert) into the table."""
    db.rows(target.create_staging())
    _copy(db, target.copy(source.columns), source)
    _stored(progress, source)
    _store(db, target, source)
    analyzed = _refresh_statistics(db, target, source.rows)
    db.rows(f"DROP TABLE {target.staging}")
    return _summary(target, source, analyzed)


def _stored(progress: Progress | None, source: CopySource) -> None:
    if progress is not None:
        size = source.path.stat().st_size
        progress("storing", size, size, source.rows)


def _summary(target: Target, source: CopySource, analyzed: tuple[str, ...]) -> ImportSummary:
    return ImportSummary(
        kind=target.spec.kind,
        rows=source.rows,
        customers=sorted(source.customers),
        settle=analyzed,
    )


def _fresh(db: ImportDb, target: Target, customers: set[str]) -> bool:
    """Whether the table holds no row of any of ``customers``."""
    return not db.value(target.has_rows_of(), {"customers": _text_array(sorted(customers))})


def _text_array(values: list[str]) -> str:
    """A PostgreSQL array literal of ``values`` (read at once by ``array_in``)."""
    quoted = (value.replace("\\", "\\\\").replace('"', '\\"') for value in values)
    return "{" + ",".join(f'"{value}"' for value in quoted) + "}"


def _copy_directly(db: ImportDb, target: Target, statement: str, source: CopySource) -> bool:
    """COPY the file straight into the table (into an empty one without its indexes, built
    afterwards); False (and nothing written) when a key is already stored or given twice."""
    try:
        with db.savepoint():
            emptied = bulk_load.take_empty(db, target)
            _copy(db, statement if emptied is None else bulk_load.frozen(statement), source)
            if emptied is not None:
                bulk_load.build_after(db, target, emptied)
    except pg_errors.UniqueViolation:  # from the COPY, or from building the primary key
        return False
    return True


def _copy(db: ImportDb, statement: str, source: CopySource) -> None:
    """Stream the file's rows with a COPY ... FROM STDIN statement."""
    cursor = db.cursor()
    try:
        cursor.copy_expert(statement, source, size=1 << 20)
    except Exception:
        # The driver reports a bad row as a failed COPY: raise the row's own error.
        if source.error is not None:
            raise source.error from None
        raise
    finally:
        cursor.close()


def _store(db: ImportDb, target: Target, source: CopySource) -> None:
    """Move the staged rows into the table: a plain INSERT when none of the file's customers
    has a row there yet, else the upsert; a key given twice is reported with its lines."""
    fresh = _fresh(db, target, source.customers)
    try:
        with db.savepoint():
            db.rows(target.insert() if fresh else target.upsert())
        return
    except (pg_errors.UniqueViolation, pg_errors.CardinalityViolation):
        # A plain INSERT meets a key that is stored (a concurrent writer) or given twice;
        # an upsert fails only on a key given twice ("cannot affect row a second time").
        pass
    duplicates = db.rows(target.first_duplicate())
    if duplicates:
        *key, (first, second) = duplicates[0]
        raise CsvImportError(
            source.path,
            source.line_of(second),
            duplicate_reason(target.spec, tuple(key), source.line_of(first)),
        )
    db.rows(target.upsert())  # a concurrent writer got there first


def _refresh_statistics(db: ImportDb, target: Target, rows: int) -> tuple[str, ...]:
    """ANALYZE the table (and what its triggers keep) if this import wrote a good share of
    it; the tables analyzed."""
    estimated = db.value(_ESTIMATED_ROWS, {"table": target.table})
    if not (estimated < 0 or rows >= ANALYZE_SHARE * estimated):  # -1: never analyzed
        return ()
    tables = (target.table, *target.also_analyze)
    for table in tables:
        db.rows(f"ANALYZE {table}")
    return tables
