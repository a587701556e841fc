"""A first import into a table that holds no row at all: indexes built after the COPY, the
horizons built in one statement, and the ordinary way whenever the table is shared or busy."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.cli.imports import libpq_url
from shelfops_alerts.config import Settings
from shelfops_alerts.db import dispose_engines, session_factory
from shelfops_alerts.intake.imports import (
    CsvImportError,
    import_forecasts,
    import_inventory,
    import_sales,
)
from tests.servers.intake.test_imports import (
    FORECAST_HEADER,
    inventory,
    table,
    write,
)
from tests.support.cli import run
from tests.support.statements import counting_statements

#: Stock without on_order (a column whose empty cell needs a default takes the staged way).
STOCK_HEADER = "customer_id,store_id,product_id,on_hand\n"


def indexes(db: sessionmaker[Session], name: str) -> dict[str, Any]:
    """The table's indexes: name → oid (a rebuilt index has a new oid)."""
    return dict(
        table(
            db,
            "SELECT c.relname, c.oid::bigint FROM pg_index i JOIN pg_class c"
            f" ON c.oid = i.indexrelid WHERE i.indrelid = '{name}'::regclass",
        )
    )


def enabled_triggers(db: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    return table(
        db,
        "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'forecasts'::regclass"
        " AND NOT tgisinternal ORDER BY tgname",
    )


def horizons(db: sessionmaker[Session], customer: str) -> list[tuple[Any, ...]]:
    return table(
        db,
        "SELECT store_id, product_id, start_date::text, demands FROM forecast_horizons"
        f" WHERE customer_id = '{customer}' ORDER BY 1, 2",
    )


def forecast_rows(customer: str) -> str:
    """Two SKUs: p1 with a day missing (a NULL in its horizon), p2 with three days."""
    days = {"p1": ("01", "02", "04"), "p2": ("01", "02", "03")}
    return "".join(
        f"{customer},s1,{sku},2026-03-{day},{n + 1}.5,r1\n"
        for sku, dates in days.items()
        for n, day in enumerate(dates)
    )


def test_first_import_into_an_empty_table_stores_what_the_trigger_would(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given an empty forecasts table, when c1's forecasts are imported (indexes built after
    the COPY, horizons in one statement) and then the same forecasts of c2 (the table holds
    c1's rows: COPY with the trigger), then both customers' horizons are the same, gap
    included, and the table has its primary key and its triggers enabled again."""
    before = indexes(db, "forecasts")

    with counting_statements(db) as statements, db.begin() as session:
        import_forecasts(
            session, path=write(tmp_path, "c1.csv", FORECAST_HEADER + forecast_rows("c1"))
        )
    rebuilt = indexes(db, "forecasts")
    with db.begin() as session:
        import_forecasts(
            session, path=write(tmp_path, "c2.csv", FORECAST_HEADER + forecast_rows("c2"))
        )

    assert any(s.startswith("LOCK TABLE forecasts") for s in statements)
    assert list(rebuilt) == list(before) == ["forecasts_pkey"]
    assert rebuilt != before  # built anew after the COPY
    assert (
        horizons(db, "c1")
        == horizons(db, "c2")
        == [
            ("s1", "p1", "2026-03-01", [1.5, 2.5, None, 3.5]),
            ("s1", "p2", "2026-03-01", [1.5, 2.5, 3.5]),
        ]
    )
    assert indexes(db, "forecasts") == rebuilt  # the second import kept the index
    assert all(enabled == "O" for _, enabled in enabled_triggers(db))
    assert len(enabled_triggers(db)) == 4


def test_a_plain_index_is_built_again_too(db: sessionmaker[Session], tmp_path: Path) -> None:
    """Given an empty sales table (a primary key and a date index), when sales are imported,
    then both indexes exist again and a sale given again for its day is still refused."""
    header = "customer_id,store_id,product_id,date,units\n"
    rows = "".join(f"c1,s1,p{n},2026-03-0{1 + n % 3},{n}\n" for n in range(30))

    with db.begin() as session:
        import_sales(session, path=write(tmp_path, "sales.csv", header + rows))

    assert sorted(indexes(db, "sales")) == ["ix_sales_date", "sales_pkey"]
    with pytest.raises(Exception, match="duplicate key"), db.begin() as session:
        session.execute(text("INSERT INTO sales VALUES ('c1', 's1', 'p0', '2026-03-01', 1)"))


def test_a_first_import_writes_its_rows_frozen_and_a_later_one_does_not(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given an empty sales table, when sales are imported, then most pages of the table
    are marked all-visible (COPY ... FREEZE; all but the last of each batch COPY writes): no
    VACUUM has to visit them later, as it would at once after a big import. When another
    customer's sales follow (the table holds rows: the ordinary way), their pages are not."""
    header = "customer_id,store_id,product_id,date,units\n"

    def pages() -> tuple[int, int]:
        with db.begin() as session:
            session.execute(text("ANALYZE sales"))  # (refreshes the two counts below)
        return table(db, "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'sales'")[0]

    with db.begin() as session:
        rows = "".join(f"c1,s{n},p{n},2026-03-01,{n}\n" for n in range(3000))
        import_sales(session, path=write(tmp_path, "c1.csv", header + rows))
    total, visible = pages()
    assert total > 1 and visible > total // 2

    with db.begin() as session:
        rows = "".join(f"c2,s{n},p{n},2026-03-01,{n}\n" for n in range(3000))
        import_sales(session, path=write(tmp_path, "c2.csv", header + rows))
    grown, still_visible = pages()
    assert grown > total and still_visible < grown - (grown - total) // 2


def test_a_duplicate_in_a_first_import_names_both_lines_and_changes_nothing(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given an empty inventory table, when a 400-row file repeats on line 390 the SKU of
    line 7, then the error names both lines, the table is still empty and keeps its primary
    key, and a good file imported next lands whole."""
    rows = [f"c1,s1,p{n},{n}\n" for n in range(400)]
    rows[388] = "c1,s1,p5,9\n"  # line 390 repeats line 7 (the header is line 1)
    before = indexes(db, "inventory")

    with (
        counting_statements(db) as statements,
        pytest.raises(CsvImportError) as caught,
        db.begin() as session,
    ):
        import_inventory(session, path=write(tmp_path, "dup.csv", STOCK_HEADER + "".join(rows)))

    assert (caught.value.line, caught.value.reason) == (
        390,
        "duplicate customer_id,store_id,product_id 'c1,s1,p5', first given on line 7",
    )
    assert any(s.startswith("ALTER TABLE inventory DROP CONSTRAINT") for s in statements)
    assert inventory(db) == []
    assert indexes(db, "inventory") == before
    rows[388] = "c1,s1,p388,388\n"
    with db.begin() as session:
        import_inventory(session, path=write(tmp_path, "ok.csv", STOCK_HEADER + "".join(rows)))
    assert len(inventory(db)) == 400


def test_another_customers_rows_keep_the_ordinary_way(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given c0's stock stored, when c1's first stock file is imported, then the table is not
    locked and its primary key is not rebuilt, and both customers' rows are there."""
    with db.begin() as session:
        import_inventory(session, path=write(tmp_path, "c0.csv", STOCK_HEADER + "c0,s1,p1,1\n"))
    before = indexes(db, "inventory")

    with counting_statements(db) as statements, db.begin() as session:
        import_inventory(session, path=write(tmp_path, "c1.csv", STOCK_HEADER + "c1,s1,p1,2\n"))

    assert not any(s.startswith("LOCK TABLE") for s in statements)
    assert indexes(db, "inventory") == before
    assert [row[:4] for row in inventory(db)] == [("c0", "s1", "p1", 1.0), ("c1", "s1", "p1", 2.0)]


def test_an_empty_table_in_use_is_not_waited_for(db: sessionmaker[Session], tmp_path: Path) -> None:
    """Given an empty inventory table that another transaction is reading, when stock is
    imported, then the import does not wait for it (the ordinary way: the primary key is
    kept) and the rows land."""
    before = indexes(db, "inventory")
    with db() as reader:
        reader.execute(text("SELECT count(*) FROM inventory"))  # holds ACCESS SHARE until closed
        with counting_statements(db) as statements, db.begin() as session:
            import_inventory(
                session, path=write(tmp_path, "stock.csv", STOCK_HEADER + "c1,s1,p1,3\n")
            )
        reader.rollback()

    assert any(s.startswith("LOCK TABLE inventory") for s in statements)
    assert indexes(db, "inventory") == before
    assert [row[:4] for row in inventory(db)] == [("c1", "s1", "p1", 3.0)]


def test_an_import_on_a_psycopg2_connection_keeps_the_contract(
    db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """Given an empty forecasts table and a bare psycopg2 connection (as the import command
    uses), when a file with a duplicate is imported, then its lines are named and nothing
    is kept (the primary key and the triggers as they were); when a good file is imported
    and then updated, then the rows and horizons are the latest."""
    rows = forecast_rows("c1")
    duplicate = write(tmp_path, "dup.csv", FORECAST_HEADER + rows + rows.splitlines()[0] + "\n")
    good = write(tmp_path, "good.csv", FORECAST_HEADER + rows)
    updated = write(tmp_path, "new.csv", FORECAST_HEADER + rows.replace(",r1", ",r2"))
    connection = psycopg2.connect(libpq_url(settings.database_url.reveal()))
    try:
        with pytest.raises(CsvImportError) as caught, connection:
            import_forecasts(connection, path=duplicate)
        assert (caught.value.line, table(db, "SELECT count(*) FROM forecasts")) == (8, [(0,)])
        assert list(indexes(db, "forecasts")) == ["forecasts_pkey"]
        assert [enabled for _, enabled in enabled_triggers(db)] == ["O"] * 4
        for path in (good, updated):
            with connection:
                import_forecasts(connection, path=path)
    finally:
        connection.close()

    assert table(db, "SELECT DISTINCT run_id FROM forecasts") == [("r2",)]
    assert horizons(db, "c1")[0] == ("s1", "p1", "2026-03-01", [1.5, 2.5, None, 3.5])


def test_a_primary_key_another_table_needs_is_kept(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Given an empty inventory table whose primary key another table's foreign key needs,
    when stock is imported, then it goes the ordinary way (the key kept) and lands."""
    with db.begin() as session:
        session.execute(
            text(
                "CREATE TABLE shelfops_test_stock_notes (customer_id varchar(64),"
                " store_id varchar(64), product_id varchar(64), FOREIGN KEY"
                " (customer_id, store_id, product_id) REFERENCES inventory)"
            )
        )
    try:
        before = indexes(db, "inventory")
        with counting_statements(db) as statements, db.begin() as session:
            import_inventory(
                session, path=write(tmp_path, "stock.csv", STOCK_HEADER + "c1,s1,p1,4\n")
            )
        assert any(s.startswith("ALTER TABLE inventory DROP CONSTRAINT") for s in statements)
        assert indexes(db, "inventory") == before
        assert [row[:4] for row in inventory(db)] == [("c1", "s1", "p1", 4.0)]
    finally:
        with db.begin() as session:
            session.execute(text("DROP TABLE shelfops_test_stock_notes"))


def quiet_statistics(settings: Settings) -> sessionmaker[Session]:
    """End every other connection to the database and wait until their processes are gone.

    A backend sends the row counts of its writes to the statistics up to a minute late, or
    as it exits (after it has left ``pg_stat_activity``): an earlier test's connection could
    otherwise add its inserts to a table just after this test's VACUUM reset them. The
    server runs on this machine, so its processes can be watched. Returns a session factory
    on fresh connections (the pools' ended ones are dropped)."""
    connection = psycopg2.connect(libpq_url(settings.database_url.reveal()))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
            ended = [pid for pid, _ in cursor.fetchall()]
    finally:
        connection.close()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in ended):
        assert time.monotonic() < deadline, "other connections did not end"
        time.sleep(0.05)
    dispose_engines()
    return session_factory(settings)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the server's user, not ours: still there
        return True
    return True


def test_the_import_command_leaves_nothing_for_autovacuum(
    db: sessionmaker[Session],
    settings: Settings,
    cli_env: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Given an empty forecasts table, when 3,000 SKUs' forecasts are imported with the
    command, then the forecasts and their horizons have been vacuumed after the commit:
    every page marked all-visible (the horizons, written by an INSERT, too) and no row
    counted as inserted or changed since (nothing left to trigger autovacuum during the
    first sweep). A small import into the same table (under a tenth of it) vacuums
    nothing."""
    # (no earlier test's connection may report its writes after the VACUUM)
    db = quiet_statistics(settings)
    rows = "".join(
        f"c1,s{n % 30},p{n},2026-03-0{day},{n % 7}.5,r1\n" for n in range(3000) for day in (1, 2)
    )
    code, out, _ = run(
        capsys, "import", "forecasts", str(write(tmp_path, "f.csv", FORECAST_HEADER + rows))
    )
    assert code == 0, out

    def vacuumed() -> list[tuple[Any, ...]]:
        return table(
            db,
            "SELECT c.relname, c.relpages - c.relallvisible, s.vacuum_count,"
            " s.n_ins_since_vacuum, s.n_mod_since_analyze FROM pg_class c"
            " JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.relname IN ('forecasts', 'forecast_horizons') ORDER BY 1",
        )

    assert vacuumed() == [("forecast_horizons", 0, 1, 0, 0), ("forecasts", 0, 1, 0, 0)]

    code, out, _ = run(
        capsys,
        "import",
        "forecasts",
        str(write(tmp_path, "g.csv", FORECAST_HEADER + "c1,s0,p0,2026-03-03,1.5,r2\n")),
    )
    assert code == 0, out
    assert [row[2] for row in vacuumed()] == [1, 1]
