"""CSV imports on a real PostgreSQL: rows land, the latest import wins, bad files change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.intake.imports import (
    CsvImportError,
    ImportSummary,
    import_arrivals,
    import_forecasts,
    import_inventory,
    import_policies,
    import_recipients,
    import_rule_settings,
    import_sales,
    import_thresholds,
)
from tests.support.statements import counting_statements

INVENTORY_HEADER = "customer_id,store_id,product_id,on_hand,on_order\n"
FORECAST_HEADER = "customer_id,store_id,product_id,date,forecasted_demand,run_id\n"


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def table(db: sessionmaker[Session], sql: str) -> list[tuple[Any, ...]]:
    with db() as session:
        return [tuple(row) for row in session.execute(text(sql))]


def inventory(db: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    return table(
        db,
        "SELECT customer_id, store_id, product_id, on_hand, on_order"
        " FROM inventory ORDER BY 1, 2, 3",
    )


def forecasts(db: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    return table(
        db,
        "SELECT product_id, forecast_date::text, demand, run_id FROM forecasts ORDER BY 1, 2",
    )


def test_inventory_rows_land(db: sessionmaker[Session], tmp_path: Path) -> None:
    """Given an inventory file for two customers, when imported,
    then every SKU is stored, on_order defaults to 0, and the summary says what happened."""
    path = write(
        tmp_path,
        "inventory.csv",
        "customer_id,store_id,product_id,on_hand\nc2,s1,p1,5\nc1,s1,p1,10.5\nc1,s2,p1,0\n",
    )

    with db.begin() as session:
        summary = import_inventory(session, path=path)

    assert summary == ImportSummary(
        kind="inventory", rows=3, customers=["c1", "c2"], settle=("inventory",)
    )
    assert inventory(db) == [
        ("c1", "s1", "p1", 10.5, 0.0),
        ("c1", "s2", "p1", 0.0, 0.0),
        ("c2", "s1", "p1", 5.0, 0.0),
    ]


def test_inventory_reimport_updates_and_keeps_other_skus(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given two SKUs imported, when a later file restocks one of them,
    then that SKU has the new levels and a newer updated_at, and the other is untouched."""
    first = write(tmp_path, "a.csv", INVENTORY_HEADER + "c1,s1,p1,10,0\nc1,s1,p2,7,1\n")
    with db.begin() as session:
        import_inventory(session, path=first)
    before = dict(table(db, "SELECT product_id, updated_at FROM inventory"))

    second = write(tmp_path, "b.csv", INVENTORY_HEADER + "c1,s1,p1,3,20\n")
    with db.begin() as session:
        import_inventory(session, path=second)

    assert inventory(db) == [("c1", "s1", "p1", 3.0, 20.0), ("c1", "s1", "p2", 7.0, 1.0)]
    after = dict(table(db, "SELECT product_id, updated_at FROM inventory"))
    assert after["p1"] > before["p1"]
    assert after["p2"] == before["p2"]


def test_a_new_customers_file_that_also_restocks_a_known_one_upserts(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given c1's stock imported, when a file starting with a new customer (so the import
    tries a straight COPY) also restocks c1's SKU, then both land: c1's SKU updated, the new
    customer's SKU added, nothing twice."""
    first = write(tmp_path, "a.csv", "customer_id,store_id,product_id,on_hand\nc1,s1,p1,10\n")
    with db.begin() as session:
        import_inventory(session, path=first)

    second = write(
        tmp_path, "b.csv", "customer_id,store_id,product_id,on_hand\nc2,s1,p1,4\nc1,s1,p1,3\n"
    )
    with db.begin() as session:
        summary = import_inventory(session, path=second)

    assert summary == ImportSummary(
        kind="inventory", rows=2, customers=["c1", "c2"], settle=("inventory",)
    )
    assert inventory(db) == [("c1", "s1", "p1", 3.0, 0.0), ("c2", "s1", "p1", 4.0, 0.0)]


def test_forecast_reimport_updates_covered_days_and_keeps_the_rest(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given run-a forecasting days 1 to 3, when run-b forecasts days 2 to 4,
    then days 2 and 3 are run-b's, day 4 is added, and day 1 stays run-a's as history."""
    run_a = write(
        tmp_path,
        "a.csv",
        FORECAST_HEADER + "".join(f"c1,s1,p1,2026-03-0{d},{d},run-a\n" for d in (1, 2, 3)),
    )
    run_b = write(
        tmp_path,
        "b.csv",
        FORECAST_HEADER + "".join(f"c1,s1,p1,2026-03-0{d},{d * 10},run-b\n" for d in (2, 3, 4)),
    )

    with db.begin() as session:
        import_forecasts(session, path=run_a)
    with db.begin() as session:
        summary = import_forecasts(session, path=run_b)

    assert summary == ImportSummary(
        kind="forecasts", rows=3, customers=["c1"], settle=("forecasts", "forecast_horizons")
    )
    assert forecasts(db) == [
        ("p1", "2026-03-01", 1.0, "run-a"),
        ("p1", "2026-03-02", 20.0, "run-b"),
        ("p1", "2026-03-03", 30.0, "run-b"),
        ("p1", "2026-03-04", 40.0, "run-b"),
    ]


def test_forecast_without_run_id_column_stores_null(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given a forecast file with no run_id column, when imported, then run_id is NULL."""
    path = write(
        tmp_path,
        "f.csv",
        "customer_id,store_id,product_id,date,forecasted_demand\nc1,s1,p1,2026-03-01,2.5\n",
    )

    with db.begin() as session:
        import_forecasts(session, path=path)

    assert forecasts(db) == [("p1", "2026-03-01", 2.5, None)]


def test_bad_row_in_the_middle_changes_nothing(db: sessionmaker[Session], tmp_path: Path) -> None:
    """Given stored inventory, when a file that updates it and adds SKUs has a bad row
    on line 4, then the import fails naming line 4 and the table is exactly as before."""
    with db.begin() as session:
        import_inventory(
            session, path=write(tmp_path, "a.csv", INVENTORY_HEADER + "c1,s1,p1,10,0\n")
        )
    snapshot = table(db, "SELECT * FROM inventory ORDER BY product_id")

    bad = write(
        tmp_path,
        "inventory.csv",
        INVENTORY_HEADER + "c1,s1,p1,99,0\nc1,s1,p2,5,0\nc1,s1,p3,-3,0\nc1,s1,p4,1,0\n",
    )
    with pytest.raises(CsvImportError) as caught, db.begin() as session:
        import_inventory(session, path=bad)

    assert str(caught.value) == "inventory.csv line 4: on_hand must be a number >= 0, got '-3'"
    assert caught.value.line == 4
    assert table(db, "SELECT * FROM inventory ORDER BY product_id") == snapshot


def test_bad_forecast_row_keeps_earlier_forecasts(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given stored forecasts, when a later file repeats one SKU and day on line 3,
    then the import fails naming both lines and the stored forecasts are unchanged."""
    with db.begin() as session:
        import_forecasts(
            session, path=write(tmp_path, "a.csv", FORECAST_HEADER + "c1,s1,p1,2026-03-01,1,a\n")
        )
    bad = write(
        tmp_path,
        "forecasts.csv",
        FORECAST_HEADER + "c1,s1,p1,2026-03-01,5,b\nc1,s1,p1,2026-03-01,6,b\n",
    )

    with pytest.raises(CsvImportError) as caught, db.begin() as session:
        import_forecasts(session, path=bad)

    assert (caught.value.line, caught.value.reason) == (
        3,
        "duplicate customer_id,store_id,product_id,date 'c1,s1,p1,2026-03-01',"
        " first given on line 2",
    )
    assert forecasts(db) == [("p1", "2026-03-01", 1.0, "a")]


def test_recipients_default_to_critical_and_reimport_updates(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given recipients without min_severity, when imported, then they get critical;
    when a later file gives one of them 'high', then only that one changes."""
    with db.begin() as session:
        summary = import_recipients(
            session,
            path=write(tmp_path, "a.csv", "customer_id,email\nc1,a@x.example\nc1,b@x.example\n"),
        )
    with db.begin() as session:
        import_recipients(
            session,
            path=write(tmp_path, "b.csv", "customer_id,email,min_severity\nc1,b@x.example,high\n"),
        )

    assert summary == ImportSummary(
        kind="recipients", rows=2, customers=["c1"], settle=("alert_recipients",)
    )
    assert table(db, "SELECT email, min_severity FROM alert_recipients ORDER BY email") == [
        ("a@x.example", "critical"),
        ("b@x.example", "high"),
    ]


def test_caller_owns_the_transaction(db: sessionmaker[Session], tmp_path: Path) -> None:
    """Given an import inside a session, when the caller rolls back instead of committing,
    then nothing was stored (the import never commits on its own)."""
    path = write(tmp_path, "inventory.csv", INVENTORY_HEADER + "c1,s1,p1,1,0\n")

    with db() as session:
        import_inventory(session, path=path)
        assert session.execute(text("SELECT count(*) FROM inventory")).scalar() == 1
        session.rollback()

    assert inventory(db) == []


def test_two_imports_of_one_kind_in_one_transaction(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given two inventory files, when both are imported in one transaction,
    then both land (the staging table of the first does not get in the second's way)."""
    first = write(tmp_path, "a.csv", INVENTORY_HEADER + "c1,s1,p1,1,0\n")
    second = write(tmp_path, "b.csv", INVENTORY_HEADER + "c2,s1,p1,2,0\n")

    with db.begin() as session:
        import_inventory(session, path=first)
        import_inventory(session, path=second)

    assert [row[0] for row in inventory(db)] == ["c1", "c2"]


def test_non_ascii_ids_round_trip(db: sessionmaker[Session], tmp_path: Path) -> None:
    """Given ids and an address outside ASCII, when imported, then they are stored as written."""
    with db.begin() as session:
        import_inventory(
            session,
            path=write(tmp_path, "i.csv", INVENTORY_HEADER + 'kunde-ü,"店舗, 1",café,1,0\n'),
        )
        import_recipients(
            session, path=write(tmp_path, "r.csv", "customer_id,email\nkunde-ü,jörg@bäckerei.de\n")
        )

    assert inventory(db) == [("kunde-ü", "店舗, 1", "café", 1.0, 0.0)]
    assert table(db, "SELECT email FROM alert_recipients") == [("jörg@bäckerei.de",)]


def test_round_trips_do_not_grow_with_the_file(db: sessionmaker[Session], tmp_path: Path) -> None:
    """Given a 3-row and a 3,000-row file, when each is imported,
    then both send the same few statements (lock, staging table, the write, statistics,
    drop) besides the one COPY."""
    small = write(
        tmp_path, "small.csv", INVENTORY_HEADER + "".join(f"c1,s1,p{n},1,0\n" for n in range(3))
    )
    large = write(
        tmp_path, "large.csv", INVENTORY_HEADER + "".join(f"c1,s2,p{n},1,0\n" for n in range(3000))
    )

    counts = []
    for path in (small, large):
        with counting_statements(db) as statements, db.begin() as session:
            import_inventory(session, path=path)
        counts.append(len(statements))

    assert counts[0] == counts[1] <= 10
    assert len(inventory(db)) == 3003


def test_empty_file_imports_nothing(db: sessionmaker[Session], tmp_path: Path) -> None:
    """Given an empty file and a header-only file, when imported, then 0 rows and no statements."""
    for content in ("", INVENTORY_HEADER):
        path = write(tmp_path, "empty.csv", content)
        with counting_statements(db) as statements, db.begin() as session:
            summary = import_inventory(session, path=path)
        assert summary == ImportSummary(kind="inventory", rows=0, customers=[])
        assert statements == []


# --- planning data: policies, sales, arrivals, rule settings ------------------------------


POLICY_HEADER = (
    "customer_id,store_id,product_id,lead_time_days,reorder_point,order_up_to,"
    "case_pack,min_order_qty,service_level\n"
)


def test_policies_land_and_a_reimport_replaces_the_whole_policy(
    planning: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given a full policy and a lead-time-only one, when imported, then both are stored with
    NULL for what was not given; when a later file gives p1 only a lead time, then p1's
    other columns go back to NULL (a row is the whole policy) and p2 is untouched."""
    first = write(
        tmp_path, "a.csv", POLICY_HEADER + "c1,s1,p1,3.5,40,120,12,24,0.98\nc1,s1,p2,2,,,,,\n"
    )
    with planning.begin() as session:
        summary = import_policies(session, path=first)
    assert summary == ImportSummary(kind="policies", rows=2, customers=["c1"], settle=("policies",))
    sql = (
        "SELECT product_id, lead_time_days, reorder_point, order_up_to, case_pack,"
        " min_order_qty, service_level FROM policies ORDER BY 1"
    )
    assert table(planning, sql) == [
        ("p1", 3.5, 40.0, 120.0, 12.0, 24.0, 0.98),
        ("p2", 2.0, None, None, None, None, None),
    ]

    second = write(
        tmp_path, "b.csv", "customer_id,store_id,product_id,lead_time_days\nc1,s1,p1,5\n"
    )
    with planning.begin() as session:
        import_policies(session, path=second)
    assert table(planning, sql) == [
        ("p1", 5.0, None, None, None, None, None),
        ("p2", 2.0, None, None, None, None, None),
    ]


def test_sales_and_arrivals_upsert_per_day(planning: sessionmaker[Session], tmp_path: Path) -> None:
    """Given sales for two days and an arrival, when a later file corrects one day's sales
    and cancels the arrival with 0, then the latest value wins per day and the rest stays."""
    sales = "customer_id,store_id,product_id,date,units\n"
    arrivals = "customer_id,store_id,product_id,date,quantity\n"
    with planning.begin() as session:
        import_sales(
            session,
            path=write(
                tmp_path, "s1.csv", sales + "c1,s1,p1,2026-03-01,4\nc1,s1,p1,2026-03-02,6\n"
            ),
        )
        import_arrivals(
            session, path=write(tmp_path, "a1.csv", arrivals + "c1,s1,p1,2026-03-05,48\n")
        )
    with planning.begin() as session:
        import_sales(session, path=write(tmp_path, "s2.csv", sales + "c1,s1,p1,2026-03-02,7\n"))
        summary = import_arrivals(
            session, path=write(tmp_path, "a2.csv", arrivals + "c1,s1,p1,2026-03-05,0\n")
        )

    assert summary == ImportSummary(kind="arrivals", rows=1, customers=["c1"], settle=("arrivals",))
    assert table(planning, "SELECT sale_date::text, units FROM sales ORDER BY 1") == [
        ("2026-03-01", 4.0),
        ("2026-03-02", 7.0),
    ]
    assert table(planning, "SELECT arrival_date::text, quantity FROM arrivals") == [
        ("2026-03-05", 0.0)
    ]


def test_rule_settings_import_and_a_bad_row_keeps_nothing(
    planning: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given rule settings for c1, when a later file sets c2 fine but c3 nonsensically,
    then the import fails on c3's line and neither c2 nor any change to c1 is kept."""
    with planning.begin() as session:
        import_rule_settings(
            session, path=write(tmp_path, "a.csv", "customer_id,accuracy_wape\nc1,0.3\n")
        )
    before = table(
        planning, "SELECT customer_id, accuracy_wape, history_days FROM customer_rule_settings"
    )
    assert before == [("c1", 0.3, None)]

    bad = write(
        tmp_path,
        "rules.csv",
        "customer_id,accuracy_wape,phantom_days\nc1,0.4,\nc2,0.2,5\nc3,0.2,40\n",
    )
    with pytest.raises(CsvImportError) as caught, planning.begin() as session:
        import_rule_settings(session, path=bad)

    assert str(caught.value) == (
        "rules.csv line 4: phantom_days (40) must not exceed history_days (28)"
    )
    assert (
        table(
            planning, "SELECT customer_id, accuracy_wape, history_days FROM customer_rule_settings"
        )
        == before
    )


def test_bad_policy_row_keeps_nothing(planning: sessionmaker[Session], tmp_path: Path) -> None:
    """Given a policy file whose third row has order_up_to below its reorder point,
    when imported, then the error names line 4 and no policy of the file is stored."""
    bad = write(
        tmp_path,
        "policies.csv",
        POLICY_HEADER + "c1,s1,p1,2,,,,,\nc1,s1,p2,2,,,,,\nc1,s1,p3,2,50,40,,,\n",
    )
    with pytest.raises(CsvImportError) as caught, planning.begin() as session:
        import_policies(session, path=bad)

    assert str(caught.value) == (
        "policies.csv line 4: order_up_to (40) must not be below reorder_point (50)"
    )
    assert table(planning, "SELECT count(*) FROM policies") == [(0,)]


def test_planning_imports_do_not_grow_with_the_file(
    planning: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given 300-row and 2,000-row sales files, when each is imported into an empty table
    (indexes built after the COPY), as the first import of its customer into a table that
    holds another's rows (copied straight in), and again (staged and upserted), then the
    small and the large file send the same few statements besides the one COPY, each way."""
    header = "customer_id,store_id,product_id,date,units\n"

    def sales(customer: str, rows: int) -> Path:
        lines = "".join(f"{customer},s1,p{n},2026-03-01,1\n" for n in range(rows))
        return write(tmp_path, f"{customer}-{rows}.csv", header + lines)

    def statements_of(path: Path) -> int:
        with counting_statements(planning) as statements, planning.begin() as session:
            import_sales(session, path=path)
        return len(statements)

    into_empty = []
    for path in (sales("c0", 300), sales("c0", 2000), sales("c0", 1)):
        with planning.begin() as session:
            session.execute(text("TRUNCATE sales"))
        into_empty.append(statements_of(path))
    first = [statements_of(sales("c1", 300)), statements_of(sales("c2", 2000))]
    again = [statements_of(sales("c1", 300)), statements_of(sales("c2", 2000))]

    # (into an empty table: also ANALYZE, and the sales windows built in one statement)
    assert into_empty[0] == into_empty[1] == into_empty[2] <= 16
    assert first[0] == first[1] <= 10
    assert again[0] == again[1] <= 12
    assert table(planning, "SELECT count(*) FROM sales") == [(2301,)]


def test_thresholds_import_sets_a_customers_stockout_severities(
    planning: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given thresholds for c1, when a later file sets c2 fine but c3 out of order, then the
    import fails on c3's line and keeps nothing; a good file replaces c1's thresholds."""
    with planning.begin() as session:
        summary = import_thresholds(
            session,
            path=write(
                tmp_path, "t.csv", "customer_id,critical_days,high_days,medium_days\nc1,2,4,7\n"
            ),
        )
    assert summary.rows == 1
    query = "SELECT customer_id, critical_days, high_days, medium_days FROM customer_thresholds"
    assert table(planning, query) == [("c1", 2.0, 4.0, 7.0)]

    bad = write(
        tmp_path,
        "bad.csv",
        "customer_id,critical_days,high_days,medium_days\nc2,1,2,3\nc3,3,2,4\n",
    )
    with pytest.raises(CsvImportError) as caught, planning.begin() as session:
        import_thresholds(session, path=bad)
    assert str(caught.value).startswith("bad.csv line 3: stockout thresholds must satisfy")
    assert table(planning, query) == [("c1", 2.0, 4.0, 7.0)]

    with planning.begin() as session:
        import_thresholds(
            session,
            path=write(
                tmp_path, "t2.csv", "customer_id,critical_days,high_days,medium_days\nc1,0.5,1,2\n"
            ),
        )
    assert table(planning, query) == [("c1", 0.5, 1.0, 2.0)]


# --- big files: streamed in chunks, duplicates found by the database ----------------------


@pytest.fixture()
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream files in 256-byte chunks, so a test file spans many of them."""
    monkeypatch.setattr("shelfops_alerts.intake.csv_stream.CHUNK_BYTES", 256)


def test_duplicate_far_apart_is_named_with_both_lines(
    db: sessionmaker[Session], tmp_path: Path, small_chunks: None
) -> None:
    """Given a 300-row forecast file, with blank rows, whose line 250 repeats line 3,
    when imported (first import for the customer), then the error names both lines and
    nothing is stored."""
    rows = [f"c1,s1,p{n},2026-03-01,1,r\n" for n in range(300)]
    rows.insert(10, "\n")
    rows.insert(20, ",,,,,\n")
    rows[248] = rows[1]  # line 250 (header is line 1) repeats line 3
    path = write(tmp_path, "forecasts.csv", FORECAST_HEADER + "".join(rows))

    with pytest.raises(CsvImportError) as caught, db.begin() as session:
        import_forecasts(session, path=path)

    assert (caught.value.line, caught.value.reason) == (
        250,
        "duplicate customer_id,store_id,product_id,date 'c1,s1,p1,2026-03-01',"
        " first given on line 3",
    )
    assert forecasts(db) == []


def test_reimport_with_a_duplicate_keeps_what_was_stored(
    db: sessionmaker[Session], tmp_path: Path, small_chunks: None
) -> None:
    """Given a customer's stock imported, when a 200-row file that updates it repeats a SKU
    on its last line, then the error names both lines and the stock is as it was."""
    first = "".join(f"c1,s1,p{n},{n},0\n" for n in range(200))
    with db.begin() as session:
        import_inventory(session, path=write(tmp_path, "a.csv", INVENTORY_HEADER + first))
    before = inventory(db)

    second = "".join(f"c1,s1,p{n},{n + 1},0\n" for n in range(200)) + "c1,s1,p7,9,0\n"
    with pytest.raises(CsvImportError) as caught, db.begin() as session:
        import_inventory(session, path=write(tmp_path, "b.csv", INVENTORY_HEADER + second))

    assert (caught.value.line, caught.value.reason) == (
        202,
        "duplicate customer_id,store_id,product_id 'c1,s1,p7', first given on line 9",
    )
    assert inventory(db) == before


def test_big_file_lands_whole_whichever_reader_took_each_chunk(
    db: sessionmaker[Session], tmp_path: Path, small_chunks: None
) -> None:
    """Given a 500-row stock file with a quoted id and an exponent in the middle, for two
    customers, when imported, then every row is stored with its value and the summary
    names both customers."""
    rows = [f"c{n % 2},s1,p{n:03d},{n},0\n" for n in range(500)]
    rows[250] = 'c0,"s,1",p250,2.5e2,0\n'
    path = write(tmp_path, "inventory.csv", INVENTORY_HEADER + "".join(rows))

    with db.begin() as session:
        summary = import_inventory(session, path=path)

    assert summary == ImportSummary(
        kind="inventory", rows=500, customers=["c0", "c1"], settle=("inventory",)
    )
    stored = {(c, s, p): h for c, s, p, h, _ in inventory(db)}
    assert len(stored) == 500
    assert stored[("c0", "s,1", "p250")] == 250.0
    assert stored[("c1", "s1", "p499")] == 499.0


def test_an_import_leaves_fresh_planner_statistics(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given an empty forecasts table, when 617 SKUs' forecasts are imported (two days each),
    then the table's and the horizons' planner statistics count exactly those rows: the next
    sweep is planned for them without anyone running ANALYZE."""
    rows = "".join(f"c1,s1,p{n},2026-03-0{d},1,r\n" for n in range(617) for d in (1, 2))
    with db.begin() as session:
        import_forecasts(session, path=write(tmp_path, "f.csv", FORECAST_HEADER + rows))

    estimated = dict(
        table(
            db,
            "SELECT relname, reltuples FROM pg_class"
            " WHERE relname IN ('forecasts', 'forecast_horizons')",
        )
    )
    assert estimated == {"forecasts": 1234.0, "forecast_horizons": 617.0}


def test_progress_reads_then_stores_once_on_either_way(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given a stock file, when it is imported first (copied straight in) and again (staged),
    then each time progress reports reading and then storing once, with every row."""
    path = write(
        tmp_path,
        "stock.csv",
        "customer_id,store_id,product_id,on_hand\n" + "".join(f"c1,s1,p{n},5\n" for n in range(50)),
    )
    for _ in range(2):
        stages: list[tuple[str, int]] = []

        def note(stage: str, done: int, total: int, rows: int, into: list = stages) -> None:
            into.append((stage, rows))

        with db.begin() as session:
            import_inventory(session, path=path, progress=note)

        assert stages[-1] == ("storing", 50)
        assert all(stage == "reading" for stage, _ in stages[:-1])
