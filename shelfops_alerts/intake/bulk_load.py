"""A first import into a table that holds no row at all: COPY first, build its indexes after.

Maintaining a B-tree row by row as COPY writes (the forecasts' primary key costs about
2.4 CPU seconds per million rows, the horizons trigger another second) is what limits a big
first import: PostgreSQL does it all in the one backend that also parses the COPY. When
the table is empty, the import instead

1. locks it (``ACCESS EXCLUSIVE ... NOWAIT``: if anyone is reading or writing it right
   now, the import does not wait and takes the ordinary way),
2. checks it holds no row of any customer (else — a table shared with other customers —
   the ordinary way: nothing is dropped; a table seen to hold rows is not even locked),
3. drops its indexes (the primary key included), disables the triggers the target does
   the work of (:attr:`~shelfops_alerts.intake.import_targets.Target.bulk_triggers`) and
   truncates it (empty already: this gives it a new file in this transaction),
4. lets the COPY write the rows already frozen (``COPY ... FREEZE``, allowed into a table
   truncated in the same transaction: no later ``VACUUM`` has to visit them, and no first
   reader sets their hint bits — at 1M SKUs the autovacuum of the freshly imported forecasts
   and sales otherwise ran during the first sweep, doubling it), then builds each index
   once from the sorted rows and runs the target's set-based statements in place of the
   triggers (``forecast_horizons`` from all the rows in one ``INSERT ... SELECT``).

It all happens in the import's savepoint: a key given twice fails the primary key's build
(``UniqueViolation``), the savepoint is rolled back — the indexes, triggers and the empty
table are back as they were — and the import reads the file again the staged way, which
names the duplicate's lines. Until the transaction ends, the lock makes readers of the
table wait (they never see it without its indexes or half written); a table that holds no
row has nothing for them to read anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg2 import errors as pg_errors

from shelfops_alerts.intake.import_db import ImportDb
from shelfops_alerts.intake.import_targets import Target

#: ``maintenance_work_mem`` for the index builds (for the builds only, then set back): the
#: sort of 15M forecast keys (about 1 GB) merges fewer runs — its primary key took 9.4 CPU s
#: against 9.9 and 10.8 with the default 64MB (load 5); at 3M rows no difference.
BUILD_MEMORY = "256MB"

_HOLDS_ROWS = "SELECT EXISTS (SELECT 1 FROM {table})"
# Once locked: whether the table holds a row (still); the maintenance_work_mem to set back;
# its unique constraints (the primary key) and plain indexes, with what makes them again.
_SURVEY = (
    "SELECT EXISTS (SELECT 1 FROM {table}), current_setting('maintenance_work_mem'),"
    " ARRAY(SELECT ARRAY[conname::text, pg_get_constraintdef(oid)] FROM pg_constraint"
    "       WHERE conrelid = CAST(:table AS regclass) AND contype IN ('p', 'u')"
    "       ORDER BY conname),"
    " ARRAY(SELECT ARRAY[c.relname::text, pg_get_indexdef(i.indexrelid)] FROM pg_index i"
    "       JOIN pg_class c ON c.oid = i.indexrelid"
    "       WHERE i.indrelid = CAST(:table AS regclass)"
    "       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    "       ORDER BY c.relname)"
)


@dataclass(frozen=True)
class Emptied:
    """What :func:`take_empty` dropped, to be built again: constraints (name, definition),
    plain indexes (name, ``CREATE INDEX`` statement), and the ``maintenance_work_mem`` to
    set back after the builds."""

    constraints: list[tuple[str, str]]
    indexes: list[tuple[str, str]]
    work_mem: str


#: Why the table cannot be taken, and the import goes the ordinary way: it is in use right now;
#: the import's role may not alter it (not its owner); another table's foreign key needs its
#: primary key.
_NOT_NOW = (
    pg_errors.LockNotAvailable,
    pg_errors.InsufficientPrivilege,
    pg_errors.DependentObjectsStillExist,
    pg_errors.FeatureNotSupported,  # TRUNCATE of a table another table's foreign key names
)


class _NotEmpty(Exception):
    """The table holds rows: roll the savepoint back (releasing the lock)."""


def take_empty(db: ImportDb, target: Target) -> Emptied | None:
    """Lock ``target``'s table and, if it holds no row, drop its indexes and disable its
    bulk triggers; None (nothing changed, no lock kept) when the table holds rows, is in
    use right now or may not be altered (:data:`_NOT_NOW`). A few statements, whatever the
    table."""
    table = target.table
    if db.value(_HOLDS_ROWS.format(table=table)):  # (a shared table is never locked)
        return None
    try:
        with db.savepoint():
            db.rows(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT")
            survey = db.rows(_SURVEY.format(table=table), {"table": table})
            held, work_mem, constraints, indexes = survey[0]
            if held:
                raise _NotEmpty
            emptied = Emptied(
                constraints=[(name, definition) for name, definition in constraints],
                indexes=[(name, statement) for name, statement in indexes],
                work_mem=work_mem,
            )
            changes = [
                *(f"DROP CONSTRAINT {_quoted(name)}" for name, _ in emptied.constraints),
                *(f"DISABLE TRIGGER {_quoted(trigger)}" for trigger in target.bulk_triggers),
            ]
            statements = [f"ALTER TABLE {table} {', '.join(changes)}"] if changes else []
            if emptied.indexes:
                statements.append("DROP INDEX " + ", ".join(_quoted(n) for n, _ in emptied.indexes))
            statements.append(f"TRUNCATE {table}")
            db.rows("; ".join(statements))
    except (_NotEmpty, *_NOT_NOW):
        return None
    return emptied


def frozen(copy_statement: str) -> str:
    """The same COPY, writing its rows frozen: only into a table :func:`take_empty` took."""
    head, options, tail = copy_statement.partition(" WITH (")
    assert options, copy_statement
    return f"{head}{options}FREEZE, {tail}"


def build_after(db: ImportDb, target: Target, emptied: Emptied) -> None:
    """Build the dropped indexes from the rows now in the table (a key given twice raises
    ``UniqueViolation``) and enable the disabled triggers, then do their work for all rows."""
    table = target.table
    changes = [
        *(
            f"ADD CONSTRAINT {_quoted(name)} {definition}"
            for name, definition in emptied.constraints
        ),
        *(f"ENABLE TRIGGER {_quoted(trigger)}" for trigger in target.bulk_triggers),
    ]
    statements = [
        f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'",
        *([f"ALTER TABLE {table} {', '.join(changes)}"] if changes else []),
        *(statement for _, statement in emptied.indexes),
        "SELECT set_config('maintenance_work_mem', :work_mem, true)",
    ]
    db.rows("; ".join(statements), {"work_mem": emptied.work_mem})
    if target.bulk_statements:
        # Statistics first: the statements read the whole table, grouped by its key, and
        # are planned to read it in the order of the index just built (no sort).
        db.rows(f"ANALYZE {table}")
    for statement in target.bulk_statements:
        db.rows(statement)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
