"""Importing inventory, forecasts and alert recipients from CSV files, in bulk.

Each import reads and checks the whole file first (:mod:`shelfops_alerts.csv_rows`), writing
the clean rows to a buffer; only then does it touch the database, with a constant number of
statements whatever the file's size: a temporary table, ``COPY`` of the buffer into it, one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` into the real table, and dropping the
temporary table. A bad row therefore changes nothing, and since the caller owns the
transaction (``with factory.begin() as session:``), neither does a database error.

Rows are upserted in key order, so two imports of overlapping files running at once lock
rows in the same order and wait for each other rather than deadlock.

The latest import wins per key: a SKU's stock, a SKU's forecast for one day, a recipient's
minimum severity. Forecast days a file does not mention are kept as they were.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.csv_rows import FORECASTS, INVENTORY, RECIPIENTS, CsvImportError, CsvSpec
from shelfops_alerts.csv_rows import read_file as read_csv_file

__all__ = [
    "CsvImportError",
    "ImportSummary",
    "import_forecasts",
    "import_inventory",
    "import_recipients",
]

#: Size up to which the buffer of clean rows stays in memory; a larger file spills to a
#: temporary file on disk, so a million-row import does not hold it all in RAM twice.
BUFFER_IN_MEMORY_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: its kind, how many rows it wrote, and which customers they belong to."""

    kind: str
    rows: int
    customers: list[str]


@dataclass(frozen=True)
class _Target:
    """Where a kind of file goes: the temporary table's columns (in the spec's column order)
    and the statement that moves its rows into the real table."""

    spec: CsvSpec
    staging_columns: str
    upsert: str


_INVENTORY = _Target(
    spec=INVENTORY,
    staging_columns="customer_id varchar(64), store_id varchar(64), product_id varchar(64),"
    " on_hand float8, on_order float8",
    upsert="""
        INSERT INTO inventory (customer_id, store_id, product_id, on_hand, on_order, updated_at)
        SELECT customer_id, store_id, product_id, on_hand, on_order, now() FROM {staging}
        ORDER BY customer_id, store_id, product_id
        ON CONFLICT (customer_id, store_id, product_id) DO UPDATE
        SET on_hand = EXCLUDED.on_hand,
            on_order = EXCLUDED.on_order,
            updated_at = EXCLUDED.updated_at
    """,
)
_FORECASTS = _Target(
    spec=FORECASTS,
    staging_columns="customer_id varchar(64), store_id varchar(64), product_id varchar(64),"
    " forecast_date date, demand float8, run_id varchar(128)",
    upsert="""
        INSERT INTO forecasts
            (customer_id, store_id, product_id, forecast_date, demand, run_id, imported_at)
        SELECT customer_id, store_id, product_id, forecast_date, demand, run_id, now()
        FROM {staging}
        ORDER BY customer_id, store_id, product_id, forecast_date
        ON CONFLICT (customer_id, store_id, product_id, forecast_date) DO UPDATE
        SET demand = EXCLUDED.demand,
            run_id = EXCLUDED.run_id,
            imported_at = EXCLUDED.imported_at
    """,
)
_RECIPIENTS = _Target(
    spec=RECIPIENTS,
    staging_columns="customer_id varchar(64), email varchar(254), min_severity varchar(16)",
    upsert="""
        INSERT INTO alert_recipients (customer_id, email, min_severity)
        SELECT customer_id, email, min_severity FROM {staging}
        ORDER BY customer_id, email
        ON CONFLICT (customer_id, email) DO UPDATE
        SET min_severity = EXCLUDED.min_severity
    """,
)


def import_inventory(session: Session, *, path: Path) -> ImportSummary:
    """Upsert stock levels from ``customer_id,store_id,product_id,on_hand[,on_order]``.

    ``on_order`` defaults to 0. Each SKU's row replaces its stock and sets ``updated_at``.
    Raises :class:`CsvImportError` (and writes nothing) if any row is bad.
    """
    return _import(session, path=Path(path), target=_INVENTORY)


def import_forecasts(session: Session, *, path: Path) -> ImportSummary:
    """Upsert daily forecasts from ``customer_id,store_id,product_id,date,forecasted_demand
    [,run_id]``, one row per SKU and day (``date`` as YYYY-MM-DD).

    For each SKU and day in the file the new demand and run id replace the old; days the file
    does not cover are kept as history. Raises :class:`CsvImportError` (and writes nothing)
    if any row is bad.
    """
    return _import(session, path=Path(path), target=_FORECASTS)


def import_recipients(session: Session, *, path: Path) -> ImportSummary:
    """Upsert alert e-mail recipients from ``customer_id,email[,min_severity]``.

    ``min_severity`` (low, medium, high or critical) defaults to critical. Raises
    :class:`CsvImportError` (and writes nothing) if any row is bad.
    """
    return _import(session, path=Path(path), target=_RECIPIENTS)


def _import(session: Session, *, path: Path, target: _Target) -> ImportSummary:
    with tempfile.SpooledTemporaryFile(max_size=BUFFER_IN_MEMORY_BYTES, mode="w+b") as buffer:
        rows, customers = _write_clean_rows(path, target.spec, buffer)
        if rows:
            buffer.seek(0)
            _load(session, target, buffer)
    return ImportSummary(kind=target.spec.kind, rows=rows, customers=sorted(customers))


def _write_clean_rows(path: Path, spec: CsvSpec, buffer: IO[bytes]) -> tuple[int, set[str]]:
    """Check every row of the file and write it to ``buffer`` as UTF-8 CSV for COPY."""
    rows = 0
    customers: set[str] = set()
    out = io.TextIOWrapper(cast(Any, buffer), encoding="utf-8", newline="")
    writer = csv.writer(out, lineterminator="\n")
    for values in read_csv_file(path, spec=spec):
        writer.writerow(values)  # None is written unquoted, which COPY reads as NULL
        customers.add(values[0])
        rows += 1
    out.flush()
    out.detach()  # leaves the buffer open for COPY
    return rows, customers


def _load(session: Session, target: _Target, buffer: IO[bytes]) -> None:
    """Move the buffered rows into the target table inside the session's transaction."""
    staging = f"shelfops_import_{target.spec.kind}"
    # A temp table is private to this connection, so concurrent imports do not meet. ON COMMIT
    # DROP means it never outlives the transaction; the explicit DROP lets one transaction
    # import the same kind of file twice.
    session.execute(text(f"CREATE TEMP TABLE {staging} ({target.staging_columns}) ON COMMIT DROP"))
    cursor = session.connection().connection.cursor()
    try:
        cast(Any, cursor).copy_expert(
            f"COPY {staging} FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')", buffer
        )
    finally:
        cursor.close()
    session.execute(text(target.upsert.format(staging=staging)))
    session.execute(text(f"DROP TABLE {staging}"))
