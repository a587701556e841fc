"""Importing inventory, forecasts, recipients and planning data from CSV files, in bulk.

Each import reads and checks the whole file first (:mod:`shelfops_alerts.intake.csv_rows`), writing
the clean rows to a buffer; only then does it touch the database, with a constant number of
statements whatever the file's size: a temporary table, ``COPY`` of the buffer into it, one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` into the real table, and dropping the
temporary table. A bad row therefore changes nothing, and since the caller owns the
transaction (``with factory.begin() as session:``), neither does a database error.

Rows are upserted in key order, so two imports of overlapping files running at once lock
rows in the same order and wait for each other rather than deadlock.

The latest import wins per key: a SKU's stock, a SKU's forecast, sales or arrival for one day,
a recipient's minimum severity, a SKU's policy, a customer's rule settings. Days a file does
not mention are kept as they were: past forecasts stay as the history that accuracy and
anomaly checks compare with actual sales.
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

from shelfops_alerts.detect.rules.rule_settings import FIELD_NAMES, INTEGER_FIELDS
from shelfops_alerts.intake.csv_rows import (
    FORECASTS,
    INVENTORY,
    RECIPIENTS,
    CsvImportError,
    CsvSpec,
)
from shelfops_alerts.intake.csv_rows import read_file as read_csv_file
from shelfops_alerts.intake.planning_rows import (
    ARRIVALS,
    POLICIES,
    RULE_SETTINGS,
    SALES,
    THRESHOLDS,
)

__all__ = [
    "CsvImportError",
    "ImportSummary",
    "import_arrivals",
    "import_forecasts",
    "import_inventory",
    "import_policies",
    "import_recipients",
    "import_rule_settings",
    "import_thresholds",
    "import_sales",
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


_ID_COLUMNS = {"customer_id": "varchar(64)", "store_id": "varchar(64)", "product_id": "varchar(64)"}


def _plain_target(
    spec: CsvSpec, table: str, columns: dict[str, str], *, key_size: int, stamp: str | None
) -> _Target:
    """A target whose staging columns are the table's, the latest row per key winning.

    ``stamp`` names a timestamp column set to now() on every write (None: the table has none).
    """
    names = ", ".join(columns)
    key = ", ".join(list(columns)[:key_size])
    stamped = [*columns, stamp] if stamp else list(columns)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in stamped[key_size:])
    return _Target(
        spec=spec,
        staging_columns=", ".join(f"{name} {kind}" for name, kind in columns.items()),
        upsert=f"""
            INSERT INTO {table} ({", ".join(stamped)})
            SELECT {names}{", now()" if stamp else ""} FROM {{staging}}
            ORDER BY {key}
            ON CONFLICT ({key}) DO UPDATE SET {updates}
        """,
    )


_POLICIES = _plain_target(
    POLICIES,
    "policies",
    {**_ID_COLUMNS, **{column.name: "float8" for column in POLICIES.columns[3:]}},
    key_size=3,
    stamp="updated_at",
)
_SALES = _plain_target(
    SALES,
    "sales",
    {**_ID_COLUMNS, "sale_date": "date", "units": "float8"},
    key_size=4,
    stamp="imported_at",
)
_ARRIVALS = _plain_target(
    ARRIVALS,
    "arrivals",
    {**_ID_COLUMNS, "arrival_date": "date", "quantity": "float8"},
    key_size=4,
    stamp="imported_at",
)
_RULE_SETTINGS = _plain_target(
    RULE_SETTINGS,
    "customer_rule_settings",
    {
        "customer_id": "varchar(64)",
        **{name: "int4" if name in INTEGER_FIELDS else "float8" for name in FIELD_NAMES},
    },
    key_size=1,
    stamp="updated_at",
)
_THRESHOLDS = _plain_target(
    THRESHOLDS,
    "customer_thresholds",
    {
        "customer_id": "varchar(64)",
        "critical_days": "float8",
        "high_days": "float8",
        "medium_days": "float8",
    },
    key_size=1,
    stamp=None,
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


def import_policies(session: Session, *, path: Path) -> ImportSummary:
    """Upsert replenishment policies from ``customer_id,store_id,product_id,lead_time_days
    [,reorder_point,order_up_to,case_pack,min_order_qty,service_level]``.

    A SKU's row replaces its whole policy: an empty optional cell means "derive it" (reorder
    point, order-up-to level), "none" (case pack, minimum order) or "the customer's default"
    (service level). Raises :class:`CsvImportError` (and writes nothing) if any row is bad.
    """
    return _import(session, path=Path(path), target=_POLICIES)


def import_sales(session: Session, *, path: Path) -> ImportSummary:
    """Upsert actual daily sales from ``customer_id,store_id,product_id,date,units``.

    The latest import wins per SKU and day. Raises :class:`CsvImportError` (and writes
    nothing) if any row is bad.
    """
    return _import(session, path=Path(path), target=_SALES)


def import_arrivals(session: Session, *, path: Path) -> ImportSummary:
    """Upsert confirmed arrivals from ``customer_id,store_id,product_id,date,quantity``.

    One row per SKU and day (add up several orders due the same day); the latest import wins,
    and a quantity of 0 cancels an arrival. Raises :class:`CsvImportError` (and writes
    nothing) if any row is bad.
    """
    return _import(session, path=Path(path), target=_ARRIVALS)


def import_rule_settings(session: Session, *, path: Path) -> ImportSummary:
    """Upsert per-customer rule thresholds from ``customer_id[,service_level,history_days,...]``
    (any of :data:`~shelfops_alerts.detect.rules.rule_settings.FIELD_NAMES`).

    A customer's row replaces all its overrides: a column left out or empty goes back to the
    default. Raises :class:`CsvImportError` (and writes nothing) if any row is bad.
    """
    return _import(session, path=Path(path), target=_RULE_SETTINGS)


def import_thresholds(session: Session, *, path: Path) -> ImportSummary:
    """Upsert per-customer stockout thresholds from ``customer_id,critical_days,high_days,
    medium_days`` (days until stockout at or below which each severity applies).

    Raises :class:`CsvImportError` (and writes nothing) if any row is bad, including
    thresholds out of order (0 <= critical <= high <= medium).
    """
    return _import(session, path=Path(path), target=_THRESHOLDS)


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
    staging = f"shelfops_import_{target.spec.kind.replace('-', '_')}"
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
