"""Reading import CSVs: headers, values and duplicates checked, with the bad line named."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from shelfops_alerts.intake.csv_rows import (
    FORECASTS,
    INVENTORY,
    RECIPIENTS,
    CsvImportError,
    CsvSpec,
    read_file,
    read_rows,
)
from shelfops_alerts.intake.planning_rows import ARRIVALS, POLICIES, RULE_SETTINGS, SALES


def parse(spec: CsvSpec, content: str, name: str = "data.csv") -> list[tuple[Any, ...]]:
    return list(read_rows(io.StringIO(content, newline=""), spec=spec, path=Path(name)))


def error_of(spec: CsvSpec, content: str) -> CsvImportError:
    with pytest.raises(CsvImportError) as caught:
        parse(spec, content)
    return caught.value


# --- files that read cleanly ---------------------------------------------------------------


def test_inventory_rows_come_out_typed_in_column_order() -> None:
    """Given a header in another order, padded values and a mixed-case header,
    when the file is read,
    then each row is (customer, store, product, on_hand, on_order) with numbers as floats."""
    content = "Store_ID, customer_id ,product_id,on_order,on_hand\n s1 ,c1,p1,2,10.5\ns1,c1,p2,,0\n"

    assert parse(INVENTORY, content) == [
        ("c1", "s1", "p1", 10.5, 2.0),
        ("c1", "s1", "p2", 0.0, 0.0),
    ]


def test_on_order_column_is_optional_and_defaults_to_zero() -> None:
    """Given an inventory file without on_order, when read, then on_order is 0."""
    assert parse(INVENTORY, "customer_id,store_id,product_id,on_hand\nc1,s1,p1,3\n") == [
        ("c1", "s1", "p1", 3.0, 0.0)
    ]


def test_negative_zero_is_zero() -> None:
    """Given on_hand written '-0', when read, then it is plain 0.0 (not -0.0)."""
    [row] = parse(INVENTORY, "customer_id,store_id,product_id,on_hand\nc1,s1,p1,-0\n")
    assert str(row[3]) == "0.0"


def test_forecast_rows_carry_a_date_and_an_optional_run_id() -> None:
    """Given forecasts with and without a run id, when read,
    then dates are dates and a missing run id is None."""
    content = (
        "customer_id,store_id,product_id,date,forecasted_demand,run_id\n"
        "c1,s1,p1,2026-03-01,4.5,run-7\n"
        "c1,s1,p1,2026-03-02,5,\n"
    )

    assert parse(FORECASTS, content) == [
        ("c1", "s1", "p1", dt.date(2026, 3, 1), 4.5, "run-7"),
        ("c1", "s1", "p1", dt.date(2026, 3, 2), 5.0, None),
    ]


def test_recipients_default_to_critical_and_severity_is_case_insensitive() -> None:
    """Given recipients with no, empty and upper-case min_severity, when read,
    then the missing ones are critical and HIGH is high."""
    assert parse(RECIPIENTS, "customer_id,email\nc1,a@x.example\n") == [
        ("c1", "a@x.example", "critical")
    ]
    content = "customer_id,email,min_severity\nc1,a@x.example,\nc1,b@x.example,HIGH\n"
    assert parse(RECIPIENTS, content) == [
        ("c1", "a@x.example", "critical"),
        ("c1", "b@x.example", "high"),
    ]


@pytest.mark.parametrize("content", ["", "\n\n", "customer_id,store_id,product_id,on_hand\n"])
def test_empty_file_or_header_only_reads_no_rows(content: str) -> None:
    """Given an empty file, blank lines or a header alone, when read, then there are no rows."""
    assert parse(INVENTORY, content) == []


def test_blank_rows_are_skipped_and_line_numbers_still_count_them() -> None:
    """Given blank lines and a spreadsheet's ',,,' row before a bad row,
    when read, then the blank ones are skipped and the bad row's real line is named."""
    content = "customer_id,store_id,product_id,on_hand\nc1,s1,p1,1\n\n,,,\n , , , \nc1,s1,p2,x\n"

    error = error_of(INVENTORY, content)

    assert (error.line, error.reason) == (6, "on_hand must be a number >= 0, got 'x'")


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """Given a UTF-8 file saved with a byte order mark (as Excel does), when read from disk,
    then the header is recognised."""
    path = tmp_path / "inventory.csv"
    path.write_bytes(
        "customer_id,store_id,product_id,on_hand\r\nc1,s1,p1,1\r\n".encode("utf-8-sig")
    )

    assert list(read_file(path, spec=INVENTORY)) == [("c1", "s1", "p1", 1.0, 0.0)]


def test_quoted_value_may_hold_a_comma() -> None:
    """Given a quoted product id holding a comma, when read, then the comma is part of it."""
    [row] = parse(INVENTORY, 'customer_id,store_id,product_id,on_hand\nc1,s1,"p,1",1\n')
    assert row[2] == "p,1"


def test_value_spanning_lines_is_refused_on_the_line_it_starts() -> None:
    """Given a quoted product id that runs from line 3 onto line 4, when read,
    then the error names line 3, where the row starts."""
    content = 'customer_id,store_id,product_id,on_hand\nc1,s1,p1,1\nc1,s1,"p\n2",1\nc1,s1,p3,1\n'

    error = error_of(INVENTORY, content)

    assert (error.line, error.reason) == (
        3,
        "product_id must not contain control characters, got 'p\\n2'",
    )


# --- the error itself ----------------------------------------------------------------------


def test_error_names_file_line_and_reason() -> None:
    """Given a negative on_hand on line 7, when read, then the error reads like a sentence
    and carries its parts."""
    content = (
        "customer_id,store_id,product_id,on_hand\n"
        + "".join(f"c1,s1,p{n},1\n" for n in range(5))
        + "c1,s1,p9,-3\n"
    )

    with pytest.raises(CsvImportError) as caught:
        parse(INVENTORY, content, name="inventory.csv")

    error = caught.value
    assert str(error) == "inventory.csv line 7: on_hand must be a number >= 0, got '-3'"
    assert (error.path, error.line) == (Path("inventory.csv"), 7)
    assert error.reason == "on_hand must be a number >= 0, got '-3'"
    assert isinstance(error, ValueError)


# --- header problems -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (
            "c1,s1,p1,5",
            "missing header row: expected customer_id,store_id,product_id,on_hand[,on_order]",
        ),
        (
            "customer_id,store_id,on_hand",
            "missing required column(s): product_id"
            " (expected customer_id,store_id,product_id,on_hand[,on_order])",
        ),
        (
            "customer_id,store_id,product_id,on_hand,warehouse",
            "unknown column(s): 'warehouse'"
            " (expected customer_id,store_id,product_id,on_hand[,on_order])",
        ),
        (
            "customer_id,store_id,product_id,on_hand,on_hand",
            "column(s) named more than once: on_hand"
            " (expected customer_id,store_id,product_id,on_hand[,on_order])",
        ),
    ],
    ids=["no-header", "missing-column", "unknown-column", "duplicate-column"],
)
def test_header_problems_are_line_1_and_name_the_columns(header: str, reason: str) -> None:
    """Given a bad header, when read, then the error is on line 1 and names the columns."""
    error = error_of(INVENTORY, header + "\nc1,s1,p1,5\n")

    assert (error.line, error.reason) == (1, reason)


# --- row problems --------------------------------------------------------------------------

INVENTORY_HEADER = "customer_id,store_id,product_id,on_hand\nc1,s1,p0,1\n"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("c1,s1,p1", "expected 4 fields as in the header, got 3"),
        ("c1,s1,p1,1,2", "expected 4 fields as in the header, got 5"),
        (" ,s1,p1,1", "customer_id must not be empty"),
        ("c1,,p1,1", "store_id must not be empty"),
        ("c1,s1," + "p" * 65 + ",1", "product_id must be at most 64 characters, got 65"),
        ("c1,s1,p\t1,1", "product_id must not contain control characters, got 'p\\t1'"),
        ("c1,s\x001,p1,1", "store_id must not contain control characters, got 's\\x001'"),
        ("c\x1b1,s1,p1,1", "customer_id must not contain control characters, got 'c\\x1b1'"),
        ("c1,s1,p1,many", "on_hand must be a number >= 0, got 'many'"),
        ("c1,s1,p1,-0.5", "on_hand must be a number >= 0, got '-0.5'"),
        ("c1,s1,p1,nan", "on_hand must be a number >= 0, got 'nan'"),
        ("c1,s1,p1,inf", "on_hand must be a number >= 0, got 'inf'"),
        ("c1,s1,p1,1e999", "on_hand must be a number >= 0, got '1e999'"),
        ('c1,s1,"p"1,1', "malformed CSV: ',' expected after '\"'"),
        (
            "c1,s1,p0,2",
            "duplicate customer_id,store_id,product_id 'c1,s1,p0', first given on line 2",
        ),
    ],
)
def test_bad_inventory_row_is_named_by_line(row: str, reason: str) -> None:
    """Given a good row on line 2 and a bad one on line 3, when read,
    then the error names line 3 and why."""
    error = error_of(INVENTORY, INVENTORY_HEADER + row + "\nc1,s1,p9,1\n")

    assert (error.line, error.reason) == (3, reason)


def test_id_of_exactly_64_characters_is_fine() -> None:
    """Given a product id at the column's width, when read, then it is kept whole."""
    [row] = parse(INVENTORY, "customer_id,store_id,product_id,on_hand\nc1,s1," + "p" * 64 + ",1\n")
    assert row[2] == "p" * 64


FORECAST_HEADER = "customer_id,store_id,product_id,date,forecasted_demand,run_id\n"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("c1,s1,p1,2026-13-01,1,r", "date must be a date written YYYY-MM-DD, got '2026-13-01'"),
        ("c1,s1,p1,2026-02-30,1,r", "date must be a date written YYYY-MM-DD, got '2026-02-30'"),
        ("c1,s1,p1,20260301,1,r", "date must be a date written YYYY-MM-DD, got '20260301'"),
        ("c1,s1,p1,2026-3-1,1,r", "date must be a date written YYYY-MM-DD, got '2026-3-1'"),
        ("c1,s1,p1,,1,r", "date must be a date written YYYY-MM-DD, got ''"),
        ("c1,s1,p1,2026-03-02,-1,r", "forecasted_demand must be a number >= 0, got '-1'"),
        ("c1,s1,p1,2026-03-02,1," + "r" * 129, "run_id must be at most 128 characters, got 129"),
        (
            "c1,s1,p1,2026-03-01,9,r",
            "duplicate customer_id,store_id,product_id,date 'c1,s1,p1,2026-03-01',"
            " first given on line 2",
        ),
    ],
)
def test_bad_forecast_row_is_named_by_line(row: str, reason: str) -> None:
    """Given a good forecast on line 2 and a bad one on line 3, when read,
    then the error names line 3 and why."""
    error = error_of(FORECASTS, FORECAST_HEADER + "c1,s1,p1,2026-03-01,1,r\n" + row + "\n")

    assert (error.line, error.reason) == (3, reason)


def test_same_sku_on_different_days_is_not_a_duplicate() -> None:
    """Given one SKU forecast for three days, when read, then all three rows come out."""
    content = FORECAST_HEADER + "".join(f"c1,s1,p1,2026-03-0{d},1,r\n" for d in (1, 2, 3))
    assert len(parse(FORECASTS, content)) == 3


EMAIL_REASON = "email must be an e-mail address (one @, no whitespace, at most 254 characters)"
LONG_EMAIL = "a" * 245 + "@c.example"  # 255 characters


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("c1,nobody.example,", f"{EMAIL_REASON}, got 'nobody.example'"),
        ("c1,a@b@c.example,", f"{EMAIL_REASON}, got 'a@b@c.example'"),
        ("c1,a b@c.example,", f"{EMAIL_REASON}, got 'a b@c.example'"),
        (
            'c1,"a@c.example\nBcc: x@y.example",',
            f"{EMAIL_REASON}, got 'a@c.example\\nBcc: x@y.example'",
        ),
        ("c1,@c.example,", f"{EMAIL_REASON}, got '@c.example'"),
        (f"c1,{LONG_EMAIL},", f"{EMAIL_REASON}, got '{LONG_EMAIL}'"),
        (
            "c1,b@c.example,urgent",
            "min_severity must be one of low, medium, high, critical, got 'urgent'",
        ),
        (
            "c1,A@C.example,low",
            "duplicate customer_id,email 'c1,A@C.example', first given on line 2",
        ),
    ],
)
def test_bad_recipient_row_is_named_by_line(row: str, reason: str) -> None:
    """Given a good recipient on line 2 and a bad one on line 3, when read,
    then the error names line 3 and why."""
    content = "customer_id,email,min_severity\nc1,A@C.example,high\n" + row + "\n"

    error = error_of(RECIPIENTS, content)

    assert (error.line, error.reason) == (3, reason)


def test_email_of_254_characters_is_fine() -> None:
    """Given an address at the column's width, when read, then it is accepted."""
    email = LONG_EMAIL[1:]
    assert parse(RECIPIENTS, f"customer_id,email\nc1,{email}\n") == [("c1", email, "critical")]


def test_same_email_for_two_customers_is_not_a_duplicate() -> None:
    """Given one address subscribed by two customers, when read, then both rows come out."""
    assert len(parse(RECIPIENTS, "customer_id,email\nc1,a@x.example\nc2,a@x.example\n")) == 2


def test_bytes_that_are_not_utf8_are_named_by_line(tmp_path: Path) -> None:
    """Given a Latin-1 'é' in a product id on line 3, when the file is read from disk,
    then the error names line 3 (not wherever the decoder happened to be)."""
    path = tmp_path / "inventory.csv"
    path.write_bytes(b"customer_id,store_id,product_id,on_hand\nc1,s1,p1,1\nc1,s1,caf\xe9,1\n")

    with pytest.raises(CsvImportError) as caught:
        list(read_file(path, spec=INVENTORY))

    assert caught.value.line == 3
    assert caught.value.reason.startswith("product_id is not valid UTF-8 text")


# --- planning files: policies, sales, arrivals, rule settings ------------------------------


def test_policy_rows_leave_unset_columns_as_none() -> None:
    """Given one policy with every column and one with the lead time only, when read,
    then the case pack is a whole number and the missing columns are None."""

    content = (
        "customer_id,store_id,product_id,lead_time_days,reorder_point,order_up_to,"
        "case_pack,min_order_qty,service_level\n"
        "c1,s1,p1,3.5,40,120,12,24,0.98\n"
        "c1,s1,p2,2,,,,,\n"
    )
    assert parse(POLICIES, content) == [
        ("c1", "s1", "p1", 3.5, 40.0, 120.0, 12, 24.0, 0.98),
        ("c1", "s1", "p2", 2.0, None, None, None, None, None),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("c1,s1,p1,0,,,,,", "lead_time_days must be a number > 0, got '0'"),
        ("c1,s1,p1,2,,,1.5,,", "case_pack must be a whole number >= 1, got '1.5'"),
        ("c1,s1,p1,2,,,,,1", "service_level must be a fraction >= 0.5 and < 1 (0.95 is 95 %)"),
        ("c1,s1,p1,2,50,40,,,", "order_up_to (40) must not be below reorder_point (50)"),
        ("c1,s1,p1,2,,,,-1,", "min_order_qty must be a number >= 0, got '-1'"),
    ],
)
def test_bad_policy_rows_are_named(row: str, reason: str) -> None:
    """Given a policy file whose second data row is bad, when read,
    then the error names line 3 and the reason."""

    header = "customer_id,store_id,product_id,lead_time_days,reorder_point,order_up_to,"
    header += "case_pack,min_order_qty,service_level\n"
    error = error_of(POLICIES, header + "c1,s1,p0,2,,,,,\n" + row + "\n")
    assert error.line == 3
    assert reason in error.reason


def test_sales_and_arrivals_are_dated_quantities() -> None:
    """Given sales and arrival rows, when read, then dates are dates and a repeated day is
    refused, naming the first line."""

    assert parse(SALES, "customer_id,store_id,product_id,date,units\nc1,s1,p1,2026-03-01,0\n") == [
        ("c1", "s1", "p1", dt.date(2026, 3, 1), 0.0)
    ]
    content = "customer_id,store_id,product_id,date,quantity\n" + (
        "c1,s1,p1,2026-03-02,48\nc1,s1,p1,2026-03-02,12\n"
    )
    error = error_of(ARRIVALS, content)
    assert (error.line, error.reason) == (
        3,
        "duplicate customer_id,store_id,product_id,date 'c1,s1,p1,2026-03-02',"
        " first given on line 2",
    )


def test_rule_settings_rows_are_checked_with_the_defaults_filled_in() -> None:
    """Given a customer who sets only some thresholds, when read, then the rest are None;
    given min_history_days above the default 28-day window, then the row is refused."""

    [row] = parse(RULE_SETTINGS, "customer_id,accuracy_wape,history_days\nc1,0.3,56\n")
    assert row[0] == "c1"
    assert dict(zip([c.name for c in RULE_SETTINGS.columns], row, strict=True)) == {
        "customer_id": "c1",
        "service_level": None,
        "history_days": 56,
        "min_history_days": None,
        "anomaly_z": None,
        "anomaly_min_units": None,
        "phantom_days": None,
        "phantom_min_expected": None,
        "accuracy_wape": 0.3,
        "accuracy_min_units": None,
    }
    error = error_of(RULE_SETTINGS, "customer_id,min_history_days\nc1,7\nc2,30\n")
    assert error.line == 3
    assert error.reason == "min_history_days (30) must not exceed history_days (28)"
