"""Where each kind of import file goes: its table, key, and the statements that move rows.

A :class:`Target` turns a file's spec into SQL: for a first import of the big tables, a
``COPY`` straight into the table; otherwise the temporary staging table COPY fills (with
each row's ordinal, to name a duplicate's lines), a plain ``INSERT`` for rows whose customer
has none in the table yet, an ``INSERT ... ON CONFLICT DO UPDATE`` (the latest import wins
per key) for the rest, and the query that finds the first duplicate key of a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shelfops_alerts.detect.rules.rule_settings import FIELD_NAMES, INTEGER_FIELDS
from shelfops_alerts.intake.csv_rows import FORECASTS, INVENTORY, RECIPIENTS, CsvSpec
from shelfops_alerts.intake.planning_rows import (
    ARRIVALS,
    POLICIES,
    RULE_SETTINGS,
    SALES,
    THRESHOLDS,
)

_ID = "varchar(64)"


@dataclass(frozen=True)
class Target:
    """One kind of file's table: ``columns`` (table column → type) in the spec's column
    order, the first ``key_size`` of them the key; ``stamp`` is set to now() on every write;
    ``also_analyze`` are tables the write changes through triggers. ``direct`` says the
    table's own defaults are the spec's (the stamp's is now(), an optional column's its
    spec default), so a file may be copied straight into it (:meth:`direct_copy`)."""

    spec: CsvSpec
    table: str
    columns: dict[str, str]
    key_size: int
    stamp: str | None
    also_analyze: tuple[str, ...] = field(default=())
    direct: bool = False
    bulk_triggers: tuple[str, ...] = field(default=())
    bulk_statements: tuple[str, ...] = field(default=())

    @property
    def staging(self) -> str:
        return f"shelfops_import_{self.spec.kind.replace('-', '_')}"

    @property
    def key(self) -> str:
        return ", ".join(list(self.columns)[: self.key_size])

    def create_staging(self) -> str:
        # A temp table is private to this connection, so concurrent imports do not meet;
        # ON COMMIT DROP means it never outlives the transaction. ``ord`` numbers the rows
        # in the order COPY receives them (the file's order).
        typed = ", ".join(f"{name} {kind}" for name, kind in self.columns.items())
        return (
            f"CREATE TEMP TABLE {self.staging} (ord bigint GENERATED ALWAYS AS IDENTITY,"
            f" {typed}) ON COMMIT DROP"
        )

    def copy(self, spec_columns: list[str]) -> str:
        """COPY into the staging table, the file's columns (spec names) in the given order."""
        names = dict(zip((c.name for c in self.spec.columns), self.columns, strict=True))
        listed = ", ".join(names[name] for name in spec_columns)
        return f"COPY {self.staging} ({listed}) FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')"

    def direct_copy(self, spec_columns: list[str]) -> str | None:
        """COPY straight into the table, or None when a file's column needs the statement's
        default (an empty cell would reach the table as NULL, not as the default).

        Columns the file leaves out take the table's defaults, which are the spec's for a
        ``direct`` target; a key already stored (or given twice) fails the COPY.
        """
        if not self.direct:
            return None
        names = dict(zip((c.name for c in self.spec.columns), self.columns, strict=True))
        defaulted = {c.name for c in self.spec.columns if not c.required and c.default is not None}
        if defaulted.intersection(spec_columns):
            return None
        listed = ", ".join(names[name] for name in spec_columns)
        return f"COPY {self.table} ({listed}) FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')"

    def _select(self) -> tuple[str, str]:
        """The target's column list and the staging rows as its values (defaults filled)."""
        values = []
        for column, name in zip(self.spec.columns, self.columns, strict=True):
            if column.required or column.default is None:
                values.append(name)
            else:
                # An empty or absent optional cell reaches staging as NULL.
                values.append(f"coalesce({name}, {_literal(column.default)})")
        names = list(self.columns)
        if self.stamp:
            names.append(self.stamp)
            values.append("now()")
        return ", ".join(names), ", ".join(values)

    def insert(self) -> str:
        """Plain INSERT of every staged row (a key already stored fails it)."""
        names, values = self._select()
        return f"INSERT INTO {self.table} ({names}) SELECT {values} FROM {self.staging}"

    def upsert(self) -> str:
        """INSERT ... ON CONFLICT DO UPDATE: each staged row replaces its key's row.

        Rows go in key order, so writers that also lock in key order wait for each other
        rather than deadlock; a key given twice fails it (a cardinality violation).
        """
        names, values = self._select()
        updated = [*list(self.columns)[self.key_size :], *([self.stamp] if self.stamp else [])]
        action = (
            "DO UPDATE SET " + ", ".join(f"{name} = EXCLUDED.{name}" for name in updated)
            if updated
            else "DO NOTHING"
        )
        return (
            f"INSERT INTO {self.table} ({names}) SELECT {values} FROM {self.staging}"
            f" ORDER BY {self.key} ON CONFLICT ({self.key}) {action}"
        )

    def has_rows_of(self) -> str:
        """Whether the table holds any row of the customers in ``:customers`` (text[])."""
        return (
            f"SELECT EXISTS (SELECT 1 FROM {self.table}"
            " WHERE customer_id = ANY(CAST(:customers AS text[])))"
        )

    def first_duplicate(self) -> str:
        """The key given twice whose second row comes first, and the ordinals of its first
        and second rows (no row when every key is given once)."""
        return (
            f"SELECT {self.key}, (array_agg(ord ORDER BY ord))[1:2] AS ords"
            f" FROM {self.staging} GROUP BY {self.key} HAVING count(*) > 1"
            " ORDER BY (array_agg(ord ORDER BY ord))[2] LIMIT 1"
        )


def _all_by_day(table: str, column: str, source: str, day: str, value: str) -> str:
    """Every SKU's row of ``table`` built from all of its rows in ``source``: ``column`` holds
    their ``value`` laid out one per day from the SKU's first ``day`` (NULL on a day without a
    row), as the triggers keep it (migration 0011 for ``forecast_horizons``, 0016 for
    ``sales_windows``)."""
    return f"""
INSERT INTO {table} (customer_id, store_id, product_id, start_date, {column})
SELECT s.customer_id, s.store_id, s.product_id, s.start_date,
       CASE WHEN s.n = s.end_date - s.start_date + 1 THEN s.laid
            ELSE ARRAY(SELECT u.value
                       FROM generate_series(0, s.end_date - s.start_date) g(i)
                       LEFT JOIN unnest(s.days, s.laid) u(day, value)
                         ON u.day = s.start_date + g.i
                       ORDER BY g.i) END
FROM (
    SELECT customer_id, store_id, product_id,
           min({day}) AS start_date, max({day}) AS end_date, count(*) AS n,
           array_agg({day} ORDER BY {day}) AS days,
           array_agg({value} ORDER BY {day}) AS laid
    FROM {source} GROUP BY customer_id, store_id, product_id
) s
ON CONFLICT (customer_id, store_id, product_id) DO UPDATE
SET start_date = EXCLUDED.start_date, {column} = EXCLUDED.{column}
"""


_ALL_HORIZONS = _all_by_day("forecast_horizons", "demands", "forecasts", "forecast_date", "demand")
_ALL_WINDOWS = _all_by_day("sales_windows", "units", "sales", "sale_date", "units")


def _literal(value: object) -> str:
    if isinstance(value, int | float):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


_IDS = {"customer_id": _ID, "store_id": _ID, "product_id": _ID}

TARGETS: dict[str, Target] = {
    target.spec.kind: target
    for target in (
        Target(
            INVENTORY,
            "inventory",
            {**_IDS, "on_hand": "float8", "on_order": "float8"},
            key_size=3,
            stamp="updated_at",
            direct=True,
        ),
        Target(
            FORECASTS,
            "forecasts",
            {**_IDS, "forecast_date": "date", "demand": "float8", "run_id": "varchar(128)"},
            key_size=4,
            stamp="imported_at",
            also_analyze=("forecast_horizons",),
            direct=True,
            bulk_triggers=("forecast_horizons_inserted",),
            bulk_statements=(_ALL_HORIZONS,),
        ),
        Target(
            RECIPIENTS,
            "alert_recipients",
            {"customer_id": _ID, "email": "varchar(254)", "min_severity": "varchar(16)"},
            key_size=2,
            stamp=None,
        ),
        Target(
            POLICIES,
            "policies",
            {**_IDS, **{column.name: "float8" for column in POLICIES.columns[3:]}},
            key_size=3,
            stamp="updated_at",
        ),
        Target(
            SALES,
            "sales",
            {**_IDS, "sale_date": "date", "units": "float8"},
            key_size=4,
            stamp="imported_at",
            also_analyze=("sales_windows",),
            direct=True,
            bulk_triggers=("sales_windows_inserted",),
            bulk_statements=(_ALL_WINDOWS,),
        ),
        Target(
            ARRIVALS,
            "arrivals",
            {**_IDS, "arrival_date": "date", "quantity": "float8"},
            key_size=4,
            stamp="imported_at",
            direct=True,
        ),
        Target(
            RULE_SETTINGS,
            "customer_rule_settings",
            {
                "customer_id": _ID,
                **{name: "int4" if name in INTEGER_FIELDS else "float8" for name in FIELD_NAMES},
            },
            key_size=1,
            stamp="updated_at",
        ),
        Target(
            THRESHOLDS,
            "customer_thresholds",
            {
                "customer_id": _ID,
                "critical_days": "float8",
                "high_days": "float8",
                "medium_days": "float8",
            },
            key_size=1,
            stamp=None,
        ),
    )
}
