"""Which files may be copied straight into their table, and that the table's defaults agree."""

from __future__ import annotations

from sqlalchemy import Table

from shelfops_alerts.intake.import_targets import TARGETS
from shelfops_alerts.models.base import Base


def test_a_file_without_defaulted_columns_is_copied_straight_into_its_table() -> None:
    """Given the forecast target, when its file has no run_id column or has one (its default
    is NULL, what COPY stores for an empty cell), then the COPY goes into forecasts."""
    target = TARGETS["forecasts"]

    plain = target.direct_copy(
        ["customer_id", "store_id", "product_id", "date", "forecasted_demand"]
    )
    with_run = target.direct_copy(
        ["customer_id", "store_id", "product_id", "date", "forecasted_demand", "run_id"]
    )

    assert plain is not None and plain.startswith(
        "COPY forecasts (customer_id, store_id, product_id, forecast_date, demand) FROM STDIN"
    )
    assert with_run is not None and "run_id" in with_run


def test_a_column_whose_empty_cell_needs_a_default_takes_the_staged_way() -> None:
    """Given inventory (on_order defaults to 0) and recipients (not a direct target), when
    the file has on_order, or is recipients, then there is no straight COPY."""
    assert TARGETS["inventory"].direct_copy(["customer_id", "store_id", "product_id", "on_hand"])
    assert (
        TARGETS["inventory"].direct_copy(
            ["customer_id", "store_id", "product_id", "on_hand", "on_order"]
        )
        is None
    )
    assert TARGETS["recipients"].direct_copy(["customer_id", "email"]) is None


def test_direct_targets_tables_default_to_the_specs_defaults() -> None:
    """Given every direct target, then each optional column's table default is its spec's
    default (a column left out of the file takes it) and the stamp defaults to now()."""
    for target in (t for t in TARGETS.values() if t.direct):
        table = Base.metadata.tables[target.table]
        assert isinstance(table, Table)
        for column, name in zip(target.spec.columns, target.columns, strict=True):
            if column.required:
                continue
            default = table.c[name].server_default
            if column.default is None:
                assert default is None, name
            else:
                assert default is not None and float(default.arg) == column.default, name
        assert target.stamp is not None
        stamp = table.c[target.stamp].server_default
        assert stamp is not None and "now" in str(stamp.arg).lower(), target.table
