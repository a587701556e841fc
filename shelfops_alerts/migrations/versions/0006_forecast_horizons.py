"""Issue 5 - forecast horizons: each SKU's forecasts as one row, kept by triggers.

``forecast_horizons`` holds, per SKU, the first forecast date and one demand per day from
it to the last forecast date (NULL on a day without a forecast). The batch read takes one
row per SKU (a slice of the array) instead of aggregating a row per day. Statement-level
triggers on ``forecasts`` (with transition tables, so one per event) rebuild the horizons
of the SKUs a statement touched, so every writer (CSV import, tests, bulk COPY) keeps them
consistent without knowing they exist. ``forecasts`` stays the history of record.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SKU = "customer_id, store_id, product_id"

# Rebuild the horizons of the SKUs in {keys} from ``forecasts``. The advisory lock (per
# customer, taken after this statement's rows are written) makes a concurrent writer of the
# same customer wait for this transaction; its rebuild then starts with a fresh snapshot and
# sees these rows, so the last writer's horizon includes both.
_REBUILD = """
    PERFORM pg_advisory_xact_lock(hashtext('forecast_horizons'), hashtext(c.customer_id))
    FROM (SELECT DISTINCT customer_id FROM {keys}) c ORDER BY c.customer_id;
    WITH keys AS (SELECT DISTINCT customer_id, store_id, product_id FROM {keys}),
    gone AS (
        DELETE FROM forecast_horizons h USING keys k
        WHERE h.customer_id = k.customer_id AND h.store_id = k.store_id
          AND h.product_id = k.product_id
          AND NOT EXISTS (SELECT 1 FROM forecasts f
                          WHERE f.customer_id = k.customer_id AND f.store_id = k.store_id
                            AND f.product_id = k.product_id)
    )
    INSERT INTO forecast_horizons (customer_id, store_id, product_id, start_date, demands)
    SELECT s.customer_id, s.store_id, s.product_id, s.start_date,
           CASE WHEN s.n = s.end_date - s.start_date + 1 THEN s.demands
                ELSE ARRAY(SELECT u.demand
                           FROM generate_series(0, s.end_date - s.start_date) g(i)
                           LEFT JOIN unnest(s.dates, s.demands) u(day, demand)
                             ON u.day = s.start_date + g.i
                           ORDER BY g.i) END
    FROM (
        SELECT f.customer_id, f.store_id, f.product_id,
               min(f.forecast_date) AS start_date, max(f.forecast_date) AS end_date,
               count(*) AS n,
               array_agg(f.forecast_date ORDER BY f.forecast_date) AS dates,
               array_agg(f.demand ORDER BY f.forecast_date) AS demands
        FROM keys k
        JOIN forecasts f ON f.customer_id = k.customer_id AND f.store_id = k.store_id
         AND f.product_id = k.product_id
        GROUP BY f.customer_id, f.store_id, f.product_id
    ) s
    ON CONFLICT (customer_id, store_id, product_id) DO UPDATE
    SET start_date = EXCLUDED.start_date, demands = EXCLUDED.demands;
"""

_TRIGGERS = {
    # event: (function suffix, REFERENCING clause, the keys the statement touched)
    "INSERT": ("inserted", "NEW TABLE AS new_rows", "new_rows"),
    "UPDATE": (
        "updated",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        f"(SELECT {_SKU} FROM old_rows UNION ALL SELECT {_SKU} FROM new_rows) touched",
    ),
    "DELETE": ("deleted", "OLD TABLE AS old_rows", "old_rows"),
}


def upgrade() -> None:
    op.create_table(
        "forecast_horizons",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("demands", postgresql.ARRAY(sa.Float), nullable=False),
    )
    for event, (suffix, referencing, keys) in _TRIGGERS.items():
        op.execute(
            f"""
            CREATE FUNCTION forecast_horizons_{suffix}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
            {_REBUILD.format(keys=keys)}
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"""
            CREATE TRIGGER forecast_horizons_{suffix} AFTER {event} ON forecasts
            REFERENCING {referencing}
            FOR EACH STATEMENT EXECUTE FUNCTION forecast_horizons_{suffix}()
            """
        )
    # TRUNCATE has no transition table: empty forecasts, empty horizons.
    op.execute(
        """
        CREATE FUNCTION forecast_horizons_truncated() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN TRUNCATE forecast_horizons; RETURN NULL; END $$
        """
    )
    op.execute(
        "CREATE TRIGGER forecast_horizons_truncated AFTER TRUNCATE ON forecasts"
        " FOR EACH STATEMENT EXECUTE FUNCTION forecast_horizons_truncated()"
    )
    # Existing forecasts: build every SKU's horizon once (same statement as the triggers).
    op.execute(
        "DO $$ BEGIN"
        + _REBUILD.format(keys=f"(SELECT DISTINCT {_SKU} FROM forecasts) everything")
        + " END $$"
    )


def downgrade() -> None:
    for suffix in ("inserted", "updated", "deleted", "truncated"):
        op.execute(f"DROP TRIGGER IF EXISTS forecast_horizons_{suffix} ON forecasts")
        op.execute(f"DROP FUNCTION IF EXISTS forecast_horizons_{suffix}()")
    op.drop_table("forecast_horizons")
