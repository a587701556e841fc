"""Issue 11 - counts kept for the metrics, and an index for the oldest waiting delivery.

A scrape must cost the same with 100 or 100,000 alerts and millions of sent e-mails, so the
counts it reports are not counted at scrape time:

* ``alert_counts`` (alert_type, severity, status, n) and ``delivery_counts`` (status, n)
  hold *changes* to the counts: statement-level triggers on ``alerts`` and
  ``email_deliveries`` append one row per group a statement changed (+ for rows that
  entered it, - for rows that left; an update that moves no row between groups adds
  nothing). Appending never waits on a lock, so concurrent workers do not serialise on a
  counter row. The count of a group is the sum of its rows; a scrape folds the rows into
  one per group (``shelfops_alerts.metrics.database``), so the sums stay short.
* TRUNCATE of either table empties its counts.
* ``ix_email_deliveries_waiting``: the oldest delivery waiting to be sent is the first
  entry of a small partial index.

The counts start from the rows present when the migration runs (the triggers are created in
the same transaction, which blocks writers until it commits).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: counted table -> (counts table, the columns that make a group)
COUNTED = {
    "alerts": ("alert_counts", "alert_type, severity, status"),
    "email_deliveries": ("delivery_counts", "status"),
}
#: Statuses of a delivery that is waiting for an attempt (not retrying on purpose, not final).
WAITING = "('pending', 'sending')"


def _trigger_sql(table: str, counts: str, group: str) -> list[str]:
    changed = {
        "inserted": ("INSERT", "NEW TABLE AS new_rows", f"SELECT {group}, 1 AS n FROM new_rows"),
        "updated": (
            "UPDATE",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            f"SELECT {group}, -1 AS n FROM old_rows UNION ALL SELECT {group}, 1 FROM new_rows",
        ),
        "deleted": ("DELETE", "OLD TABLE AS old_rows", f"SELECT {group}, -1 AS n FROM old_rows"),
    }
    statements = []
    for suffix, (event, referencing, rows) in changed.items():
        name = f"{counts}_{suffix}"
        statements += [
            f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {counts} ({group}, n)
                SELECT {group}, sum(n) FROM ({rows}) changed
                GROUP BY {group} HAVING sum(n) <> 0;
                RETURN NULL;
            END $$
            """,
            f"""
            CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing}
            FOR EACH STATEMENT EXECUTE FUNCTION {name}()
            """,
        ]
    statements += [
        f"""
        CREATE FUNCTION {counts}_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM {counts}; RETURN NULL; END $$
        """,
        f"""
        CREATE TRIGGER {counts}_truncated AFTER TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {counts}_truncated()
        """,
    ]
    return statements


def upgrade() -> None:
    op.create_table(
        "alert_counts",
        sa.Column("alert_type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "delivery_counts",
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    for table, (counts, group) in COUNTED.items():
        for statement in _trigger_sql(table, counts, group):
            op.execute(statement)
        op.execute(
            f"INSERT INTO {counts} ({group}, n) SELECT {group}, count(*) FROM {table}"
            f" GROUP BY {group}"
        )
    op.create_index(
        "ix_email_deliveries_waiting",
        "email_deliveries",
        ["queued_at"],
        postgresql_where=sa.text(f"status IN {WAITING}"),
    )


def downgrade() -> None:
    op.drop_index("ix_email_deliveries_waiting", table_name="email_deliveries")
    for table, (counts, _) in COUNTED.items():
        for suffix in ("inserted", "updated", "deleted", "truncated"):
            op.execute(f"DROP TRIGGER IF EXISTS {counts}_{suffix} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {counts}_{suffix}()")
        op.drop_table(counts)
