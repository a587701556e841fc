"""Issue 12 - sales windows: each SKU's retained sales as one row, kept by triggers.

``sales_windows`` holds, per SKU, its first day with sales and the units of every day from
it to its last day with sales (NULL on a day without a sales row: unknown, not zero). The
history read takes one row per SKU (a slice of the array) instead of ~28 rows of ``sales``.
``sales`` stays the history of record; statement-level triggers on it (with transition
tables, so one call per statement) keep the windows equal to it, whoever writes: CSV
imports, the bulk first import (which disables the INSERT trigger and fills the windows in
one statement instead), tests, the retention prune.

Unlike ``forecast_horizons`` (rebuilt from ``forecasts`` for every SKU a statement touched),
a window is changed in place from the statement's rows alone, so a daily import of one day
per SKU does not re-read the SKU's 90 retained days:

* rows written (INSERT, and the new rows of an UPDATE): the SKU's rows are laid out one value
  per day and merged into its window in ``INSERT ... ON CONFLICT DO UPDATE`` (a written day
  takes the written value, the others keep theirs; the window grows to cover both);
* rows removed (DELETE, and the old rows of an UPDATE whose key is not written again): their
  days become NULL, the window is trimmed to its first and last day still sold, and a window
  left without any day is deleted.

Both change the window row under its row lock from its latest committed version (``ON
CONFLICT DO UPDATE`` and ``UPDATE`` re-read a row a concurrent writer changed), and sales
rows are themselves locked by key, so concurrent writers of one SKU's days end as the table
does, in key order (no deadlock between writers that also write in key order).

Revision ID: 0016_sales_windows
Revises: 0015_history_speed
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016_sales_windows"
down_revision = "0015_history_speed"
branch_labels = None
depends_on = None

#: Memory for the INSERT trigger's sort while it runs (as migration 0011 gives the horizons').
TRIGGER_WORK_MEM = "64MB"
#: Percent of each page of ``sales_windows`` filled by inserts (see ``upgrade``).
FILLFACTOR = 50

_SKU = "customer_id, store_id, product_id"
_SKU_MATCH = (
    "{a}.customer_id = {b}.customer_id AND {a}.store_id = {b}.store_id"
    " AND {a}.product_id = {b}.product_id"
)

# Window ``old_units`` (from ``old_start``) with window ``new_units`` (from ``new_start``)
# written over it: a day the new one holds takes its value, any other keeps the old one.
# PL/pgSQL (its plain expressions are evaluated without an executor per call): the daily
# case — new days after the old ones — is a concatenation (NULLs for the days between);
# new days without a gap (a day imported again, days before the first) are laid over the
# old ones; only new days with gaps take the day-by-day merge.
_MERGED = """
CREATE FUNCTION sales_window_merged(
    old_start date, old_units float8[], new_start date, new_units float8[]
) RETURNS float8[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    first date := least(old_start, new_start);
    merged float8[];
BEGIN
    IF new_start >= old_start + cardinality(old_units) THEN
        RETURN old_units
            || array_fill(NULL::float8, ARRAY[new_start - old_start - cardinality(old_units)])
            || new_units;
    END IF;
    IF array_position(new_units, NULL) IS NULL THEN
        merged := array_fill(
            NULL::float8,
            ARRAY[greatest(old_start + cardinality(old_units), new_start + cardinality(new_units))
                  - first]);
        merged[old_start - first + 1 : old_start - first + cardinality(old_units)] := old_units;
        merged[new_start - first + 1 : new_start - first + cardinality(new_units)] := new_units;
        RETURN merged;
    END IF;
    RETURN ARRAY(
        SELECT coalesce(new_units[first + g.i - new_start + 1],
                        old_units[first + g.i - old_start + 1])
        FROM generate_series(
            0,
            greatest(old_start + cardinality(old_units), new_start + cardinality(new_units))
                - first - 1) g(i)
        ORDER BY g.i);
END $$
"""

# Window ``window_units`` (from ``window_start``) without the days ``dates``: those become
# NULL, and the window is trimmed to its first and last day still sold (an empty array: no
# day left). PL/pgSQL: the array is changed in place, element by element.
_CUT = """
CREATE FUNCTION sales_window_cut(
    window_start date, window_units float8[], dates date[],
    OUT start_date date, OUT units float8[]
) LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    gone date;
    lo int := 1;
    hi int := cardinality(window_units);
BEGIN
    units := window_units;
    FOREACH gone IN ARRAY dates LOOP
        IF gone >= window_start AND gone < window_start + hi THEN
            units[gone - window_start + 1] := NULL;
        END IF;
    END LOOP;
    WHILE lo <= hi AND units[lo] IS NULL LOOP
        lo := lo + 1;
    END LOOP;
    WHILE hi >= lo AND units[hi] IS NULL LOOP
        hi := hi - 1;
    END LOOP;
    start_date := window_start + lo - 1;
    units := units[lo:hi];
END $$
"""

# Each SKU of the sales rows ``{rows}`` as a window (one value per day from its first to
# its last, NULL on a day without a row): what is merged into the table, or (the bulk first
# import and this migration, from all of ``sales``) the whole window.
_WINDOWS_OF = """
    SELECT s.customer_id, s.store_id, s.product_id, s.start_date,
           CASE WHEN s.n = s.end_date - s.start_date + 1 THEN s.units
                ELSE ARRAY(SELECT u.units
                           FROM generate_series(0, s.end_date - s.start_date) g(i)
                           LEFT JOIN unnest(s.dates, s.units) u(day, units)
                             ON u.day = s.start_date + g.i
                           ORDER BY g.i) END
    FROM (
        SELECT r.customer_id, r.store_id, r.product_id,
               min(r.sale_date) AS start_date, max(r.sale_date) AS end_date, count(*) AS n,
               array_agg(r.sale_date ORDER BY r.sale_date) AS dates,
               array_agg(r.units ORDER BY r.sale_date) AS units
        FROM {rows} r
        GROUP BY r.customer_id, r.store_id, r.product_id
    ) s
    ORDER BY s.customer_id, s.store_id, s.product_id
"""

#: Every SKU's window from all of ``sales``, replacing any stored one (the bulk first import
#: runs it in place of the INSERT trigger; this migration, for the sales already stored).
ALL_WINDOWS = f"""
INSERT INTO sales_windows ({_SKU}, start_date, units)
{_WINDOWS_OF.format(rows="sales")}
ON CONFLICT ({_SKU}) DO UPDATE
SET start_date = EXCLUDED.start_date, units = EXCLUDED.units
"""

# The rows ``{rows}`` written into their SKUs' windows (in key order).
_WRITE = f"""
    INSERT INTO sales_windows AS w ({_SKU}, start_date, units)
    {_WINDOWS_OF}
    ON CONFLICT ({_SKU}) DO UPDATE
    SET start_date = least(w.start_date, EXCLUDED.start_date),
        units = sales_window_merged(w.start_date, w.units, EXCLUDED.start_date, EXCLUDED.units);
"""

# The rows ``{rows}`` cut out of their SKUs' windows; windows left empty go. The windows are
# locked first, in key order (as the writes take them): the UPDATE's join may visit them in
# any order, and two writers locking in different orders could deadlock.
_REMOVE = f"""
    PERFORM 1 FROM sales_windows w
    JOIN (SELECT DISTINCT {_SKU} FROM {{rows}} r) g ON {_SKU_MATCH.format(a="w", b="g")}
    ORDER BY w.customer_id, w.store_id, w.product_id
    FOR UPDATE OF w;
    UPDATE sales_windows w
    SET (start_date, units) = (
        SELECT c.start_date, c.units FROM sales_window_cut(w.start_date, w.units, g.dates) c)
    FROM (SELECT r.customer_id, r.store_id, r.product_id, array_agg(r.sale_date) AS dates
          FROM {{rows}} r
          GROUP BY r.customer_id, r.store_id, r.product_id) g
    WHERE {_SKU_MATCH.format(a="w", b="g")};
    DELETE FROM sales_windows w
    USING (SELECT DISTINCT {_SKU} FROM {{rows}} r) g
    WHERE {_SKU_MATCH.format(a="w", b="g")} AND cardinality(w.units) = 0;
"""

# The old rows of an UPDATE whose key (SKU and day) the statement did not write again.
_MOVED = f"""
    (SELECT o.* FROM old_rows o
     WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                       WHERE {_SKU_MATCH.format(a="n", b="o")} AND n.sale_date = o.sale_date))
"""

_TRIGGERS = {
    # event: (function suffix, REFERENCING clause, body)
    "INSERT": ("inserted", "NEW TABLE AS new_rows", _WRITE.format(rows="new_rows")),
    "UPDATE": (
        "updated",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        _REMOVE.format(rows=_MOVED) + _WRITE.format(rows="new_rows"),
    ),
    "DELETE": ("deleted", "OLD TABLE AS old_rows", _REMOVE.format(rows="old_rows")),
}


def upgrade() -> None:
    op.create_table(
        "sales_windows",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("units", postgresql.ARRAY(sa.Float), nullable=False),
    )
    # Half of each page left free: a window rewritten by a write (the daily import rewrites
    # every SKU's) fits on its own page as a HOT update, with no new entry in the key's index
    # (20,000 one-day appends: the triggers' cost about a third less). A table whose every
    # row is rewritten daily holds about twice its rows' size in any case.
    op.execute(f"ALTER TABLE sales_windows SET (fillfactor = {FILLFACTOR})")
    op.execute(_MERGED)
    op.execute(_CUT)
    for event, (suffix, referencing, body) in _TRIGGERS.items():
        op.execute(
            f"""
            CREATE FUNCTION sales_windows_{suffix}() RETURNS trigger
            LANGUAGE plpgsql SET work_mem = '{TRIGGER_WORK_MEM}' AS $$
            BEGIN
            {body}
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"""
            CREATE TRIGGER sales_windows_{suffix} AFTER {event} ON sales
            REFERENCING {referencing}
            FOR EACH STATEMENT EXECUTE FUNCTION sales_windows_{suffix}()
            """
        )
    # TRUNCATE has no transition table: empty sales, empty windows. Only when windows are
    # left: a statement that truncates both (``TRUNCATE sales, sales_windows``) may not
    # truncate the windows a second time, and the bulk first import's TRUNCATE of its empty
    # table then takes no lock on the windows (a sweep reading them goes on).
    op.execute(
        """
        CREATE FUNCTION sales_windows_truncated() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM sales_windows) THEN
                TRUNCATE sales_windows;
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER sales_windows_truncated AFTER TRUNCATE ON sales"
        " FOR EACH STATEMENT EXECUTE FUNCTION sales_windows_truncated()"
    )
    # The sales already stored (the same windows the bulk first import builds).
    op.execute(ALL_WINDOWS)


def downgrade() -> None:
    for suffix in ("inserted", "updated", "deleted", "truncated"):
        op.execute(f"DROP TRIGGER IF EXISTS sales_windows_{suffix} ON sales")
        op.execute(f"DROP FUNCTION IF EXISTS sales_windows_{suffix}()")
    op.execute("DROP FUNCTION IF EXISTS sales_window_merged(date, float8[], date, float8[])")
    op.execute("DROP FUNCTION IF EXISTS sales_window_cut(date, float8[], date[])")
    op.drop_table("sales_windows")
