"""The CSV files of planning data: replenishment policies, sales, arrivals and rule settings.

Read like the other import files (:mod:`shelfops_alerts.intake.csv_rows`): header checked, every
value checked, the first bad row named by its line. Optional columns left empty are stored
as NULL, which the rules read as "not given" (policies) or "use the default" (settings).
"""

from __future__ import annotations

import math
from typing import Any

from shelfops_alerts.detect.rules.rule_settings import FIELD_NAMES, INTEGER_FIELDS, RuleSettings
from shelfops_alerts.detect.rules.stockout import StockoutThresholds
from shelfops_alerts.intake.csv_rows import (
    Column,
    CsvSpec,
    InvalidValue,
    parse_date,
    parse_id,
    parse_quantity,
)

_IDS = (
    Column("customer_id", parse_id),
    Column("store_id", parse_id),
    Column("product_id", parse_id),
)


def _number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return math.nan


def parse_positive(name: str, raw: str) -> float:
    """A finite number greater than zero (a lead time, a threshold)."""
    value = _number(raw)
    if not (math.isfinite(value) and value > 0):
        raise InvalidValue(f"{name} must be a number > 0, got {raw!r}")
    return value


def parse_whole(name: str, raw: str) -> int:
    """A whole number of at least 1 (a case pack, a count of days)."""
    value = _number(raw)
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        raise InvalidValue(f"{name} must be a whole number >= 1, got {raw!r}")
    return int(value)


def parse_fraction(name: str, raw: str) -> float:
    """A service level: a fraction from 0.5 up to, not including, 1 (0.95 is 95 %)."""
    value = _number(raw)
    if not 0.5 <= value < 1:
        raise InvalidValue(f"{name} must be a fraction >= 0.5 and < 1 (0.95 is 95 %), got {raw!r}")
    return value


def _check_policy(values: tuple[Any, ...]) -> None:
    reorder_point, order_up_to = values[4], values[5]
    if reorder_point is not None and order_up_to is not None and order_up_to < reorder_point:
        raise InvalidValue(
            f"order_up_to ({order_up_to:g}) must not be below reorder_point ({reorder_point:g})"
        )


POLICIES = CsvSpec(
    kind="policies",
    columns=(
        *_IDS,
        Column("lead_time_days", parse_positive),
        Column("reorder_point", parse_quantity, None),
        Column("order_up_to", parse_quantity, None),
        Column("case_pack", parse_whole, None),
        Column("min_order_qty", parse_quantity, None),
        Column("service_level", parse_fraction, None),
    ),
    key_size=3,
    check_row=_check_policy,
)
SALES = CsvSpec(
    kind="sales",
    columns=(*_IDS, Column("date", parse_date), Column("units", parse_quantity)),
    key_size=4,
)
ARRIVALS = CsvSpec(
    kind="arrivals",
    columns=(*_IDS, Column("date", parse_date), Column("quantity", parse_quantity)),
    key_size=4,
)


def _rule_settings_columns() -> tuple[Column, ...]:
    parsers: dict[str, Any] = {name: parse_positive for name in FIELD_NAMES}
    parsers.update({name: parse_whole for name in INTEGER_FIELDS})
    parsers.update(service_level=parse_fraction, anomaly_min_units=parse_quantity)
    return (
        Column("customer_id", parse_id),
        *(Column(name, parsers[name], None) for name in FIELD_NAMES),
    )


def _check_rule_settings(values: tuple[Any, ...]) -> None:
    # The cross-field rules (min_history_days <= history_days, ...) hold with the defaults
    # filled in, exactly as the rules will see them.
    try:
        RuleSettings.from_overrides(dict(zip(FIELD_NAMES, values[1:], strict=True)))
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None


RULE_SETTINGS = CsvSpec(
    kind="rule-settings",
    columns=_rule_settings_columns(),
    key_size=1,
    check_row=_check_rule_settings,
)


def _check_thresholds(values: tuple[Any, ...]) -> None:
    try:
        StockoutThresholds(*values[1:])
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None


#: Per-customer days-until-stockout thresholds (critical <= high <= medium).
THRESHOLDS = CsvSpec(
    kind="thresholds",
    columns=(
        Column("customer_id", parse_id),
        Column("critical_days", parse_quantity),
        Column("high_days", parse_quantity),
        Column("medium_days", parse_quantity),
    ),
    key_size=1,
    check_row=_check_thresholds,
)
