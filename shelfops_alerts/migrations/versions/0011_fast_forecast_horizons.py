"""Issue 12 - speed: horizons of new SKUs built from the inserted rows; precise alert probes.

**Forecast horizons.**
The INSERT trigger of migration 0006 rebuilt every touched SKU's horizon from ``forecasts``,
joining the statement's rows back to the table and aggregating them a second time. A SKU
that has no horizon yet had no forecast before the statement (horizons mirror forecasts),
so all its rows are in the statement's transition table: its horizon is now aggregated from
those rows directly, and only SKUs that had forecasts already are rebuilt from the table.
A first import of a catalogue's forecasts costs about a third of what it did. The function
sorts with a larger ``work_mem`` (its own setting, for the call only), so aggregating a big
import stays in memory.

**Alert probes.** Persisting a batch looks up each SKU's active alerts. While the alerts
table is young (no statistics yet, as in the first sweep after an import), the planner
could pick ``ix_alerts_customer_status`` (customer, status) for that lookup and read every
active alert of the customer once per SKU. The index now also holds store, product and
type, so the lookup is exact whichever index the planner takes (and lists by customer and
status read it as before).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: Memory for the trigger's sorts while it runs (the session's own setting is untouched).
TRIGGER_WORK_MEM = "64MB"

_SKU_MATCH = (
    "{a}.customer_id = {b}.customer_id AND {a}.store_id = {b}.store_id"
    " AND {a}.product_id = {b}.product_id"
)

# One horizon per SKU from (start_date, end_date, n, dates, demands): the demands as they
# are when every day from start to end has a forecast, else laid out one value per day with
# NULL on the days without one (as migration 0006 does).
_LAID_OUT = """
    CASE WHEN s.n = s.end_date - s.start_date + 1 THEN s.demands
         ELSE ARRAY(SELECT u.demand
                    FROM generate_series(0, s.end_date - s.start_date) g(i)
                    LEFT JOIN unnest(s.dates, s.demands) u(day, demand)
                      ON u.day = s.start_date + g.i
                    ORDER BY g.i) END
"""

_INSERTED = f"""
CREATE OR REPLACE FUNCTION forecast_horizons_inserted() RETURNS trigger
LANGUAGE plpgsql SET work_mem = '{TRIGGER_WORK_MEM}' AS $$
BEGIN
    -- Same per-customer lock as migration 0006: a concurrent writer of the customer waits,
    -- then sees this transaction's horizons (and rebuilds from the table).
    PERFORM pg_advisory_xact_lock(hashtext('forecast_horizons'), hashtext(c.customer_id))
    FROM (SELECT DISTINCT customer_id FROM new_rows) c ORDER BY c.customer_id;
    WITH added AS (
        SELECT n.customer_id, n.store_id, n.product_id,
               min(n.forecast_date) AS start_date, max(n.forecast_date) AS end_date,
               count(*) AS n,
               array_agg(n.forecast_date ORDER BY n.forecast_date) AS dates,
               array_agg(n.demand ORDER BY n.forecast_date) AS demands
        FROM new_rows n
        GROUP BY n.customer_id, n.store_id, n.product_id
    ),
    known AS (
        SELECT a.customer_id, a.store_id, a.product_id FROM added a
        WHERE EXISTS (SELECT 1 FROM forecast_horizons h WHERE {_SKU_MATCH.format(a="h", b="a")})
    ),
    built AS (
        SELECT a.* FROM added a
        WHERE NOT EXISTS (SELECT 1 FROM known k WHERE {_SKU_MATCH.format(a="k", b="a")})
        UNION ALL
        SELECT f.customer_id, f.store_id, f.product_id,
               min(f.forecast_date), max(f.forecast_date), count(*),
               array_agg(f.forecast_date ORDER BY f.forecast_date),
               array_agg(f.demand ORDER BY f.forecast_date)
        FROM known k JOIN forecasts f ON {_SKU_MATCH.format(a="f", b="k")}
        GROUP BY f.customer_id, f.store_id, f.product_id
    )
    INSERT INTO forecast_horizons (customer_id, store_id, product_id, start_date, demands)
    SELECT s.customer_id, s.store_id, s.product_id, s.start_date, {_LAID_OUT}
    FROM built s
    ON CONFLICT (customer_id, store_id, product_id) DO UPDATE
    SET start_date = EXCLUDED.start_date, demands = EXCLUDED.demands;
    RETURN NULL;
END $$
"""


_CUSTOMER_STATUS = "ix_alerts_customer_status"


def upgrade() -> None:
    op.execute(_INSERTED)
    op.drop_index(_CUSTOMER_STATUS, table_name="alerts")
    op.create_index(
        _CUSTOMER_STATUS,
        "alerts",
        ["customer_id", "status", "store_id", "product_id", "alert_type"],
    )


def downgrade() -> None:
    op.drop_index(_CUSTOMER_STATUS, table_name="alerts")
    op.create_index(_CUSTOMER_STATUS, "alerts", ["customer_id", "status"])
    path = Path(__file__).with_name("0006_forecast_horizons.py")
    spec = importlib.util.spec_from_file_location("forecast_horizons_0006", path)
    assert spec is not None and spec.loader is not None
    before = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(before)
    keys = before._TRIGGERS["INSERT"][2]
    op.execute(
        "CREATE OR REPLACE FUNCTION forecast_horizons_inserted() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN" + before._REBUILD.format(keys=keys) + " RETURN NULL; END $$"
    )
    op.execute("ALTER FUNCTION forecast_horizons_inserted() RESET ALL")
