"""Sales windows (one row per SKU, migration 0016) follow every write to ``sales``."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from sqlalchemy import text

from shelfops_alerts.intake.imports import import_sales
from tests.support.data import (
    laid_out_by_day,
    rows,
    second_writer_waits,
    today,
    waiting_on_a_lock,
)
from tests.support.waiting import wait_until

CUSTOMER = "windows"
HEADER = "customer_id,store_id,product_id,date,units\n"


def day(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


Key = tuple[str, str, str]
Window = tuple[dt.date, list[float | None]]


def stored_windows(db) -> dict[Key, Window]:
    """Every customer's windows, by SKU."""
    found = rows(
        db, "SELECT customer_id, store_id, product_id, start_date, units FROM sales_windows"
    )
    return {(r.customer_id, r.store_id, r.product_id): (r.start_date, list(r.units)) for r in found}


def windows_from_sales(db) -> dict[Key, Window]:
    """What the windows must hold, worked out in Python from the sales rows: per SKU, the
    units of every day from its first day with sales to its last, None on a day without."""
    by_sku: dict[Key, dict[dt.date, float]] = {}
    for r in rows(db, "SELECT customer_id, store_id, product_id, sale_date, units FROM sales"):
        by_sku.setdefault((r.customer_id, r.store_id, r.product_id), {})[r.sale_date] = r.units
    return laid_out_by_day(by_sku)


def windows(db) -> dict[tuple[str, str], Window]:
    """The windows of :data:`CUSTOMER`, by store and product."""
    return {sku[1:]: w for sku, w in stored_windows(db).items() if sku[0] == CUSTOMER}


def expected_from_sales(db) -> dict[tuple[str, str], Window]:
    """What the windows of :data:`CUSTOMER` must hold (:func:`windows_from_sales`)."""
    return {sku[1:]: w for sku, w in windows_from_sales(db).items() if sku[0] == CUSTOMER}


def import_lines(db, tmp_path: Path, lines: list[str], *, customer: str = CUSTOMER) -> None:
    path = tmp_path / f"sales{len(list(tmp_path.iterdir()))}.csv"
    path.write_text(HEADER + "".join(f"{customer},{line}\n" for line in lines), encoding="utf-8")
    with db.begin() as session:
        import_sales(session, path=path)


def execute(db, sql: str, **params: object) -> None:
    with db.begin() as session:
        session.execute(text(sql), params)


def test_a_first_import_builds_every_window_in_one_statement(db, tmp_path):
    # Given an empty sales table
    # When a first import brings three SKUs' sales, one with a day missing
    import_lines(
        db,
        tmp_path,
        [
            f"S1,P1,{day(-5)},1",
            f"S1,P1,{day(-4)},2",
            f"S1,P1,{day(-2)},4",
            f"S1,P2,{day(-1)},0",
            f"S2,P1,{day(-3)},7.5",
        ],
    )
    # Then each window is its SKU's rows, one value per day (the bulk way: its own statement)
    assert windows(db) == {
        ("S1", "P1"): (day(-5), [1.0, 2.0, None, 4.0]),
        ("S1", "P2"): (day(-1), [0.0]),
        ("S2", "P1"): (day(-3), [7.5]),
    }
    # and the trigger the bulk way did the work of is enabled again: the next import is kept
    enabled = rows(
        db,
        "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'sales'::regclass"
        " AND NOT tgisinternal ORDER BY tgname",
    )
    assert [(r.tgname, r.tgenabled) for r in enabled] == [
        (f"sales_windows_{event}", "O") for event in ("deleted", "inserted", "truncated", "updated")
    ]
    import_lines(db, tmp_path, [f"S1,P2,{day(0)},3"])
    assert windows(db)[("S1", "P2")] == (day(-1), [0.0, 3.0])


def test_every_writer_keeps_the_windows_equal_to_the_sales_rows(db, tmp_path):
    # Given SKUs with a week of sales each
    import_lines(
        db, tmp_path, [f"S1,P{p},{day(n)},{p + n + 10}" for p in range(5) for n in range(-7, 0)]
    )
    assert windows(db) == expected_from_sales(db)

    # When an import adds today, re-imports a day, adds a day before the first, one after a
    # gap, one on each side, and a new SKU (inserted and updated rows in one statement)
    import_lines(
        db,
        tmp_path,
        [
            f"S1,P0,{day(0)},5",
            f"S1,P1,{day(-3)},99",
            f"S1,P2,{day(-10)},1",
            f"S1,P3,{day(3)},2",
            f"S1,P3,{day(-9)},4",
            f"S2,P9,{day(-2)},6",
        ],
    )
    # Then every window is exactly its SKU's rows
    stored = windows(db)
    assert stored == expected_from_sales(db)
    assert stored[("S1", "P0")] == (day(-7), [3.0, 4, 5, 6, 7, 8, 9, 5])
    assert stored[("S1", "P1")][1][4] == 99.0
    assert stored[("S1", "P2")] == (day(-10), [1.0, None, None, 5, 6, 7, 8, 9, 10, 11])
    assert stored[("S1", "P3")][1][-4:] == [None, None, None, 2.0]

    # When rows are updated: units in place, and a sale moved to another day
    execute(db, "UPDATE sales SET units = units * 2 WHERE product_id = 'P4'")
    execute(
        db,
        "UPDATE sales SET sale_date = :to WHERE product_id = 'P0' AND sale_date = :d",
        to=day(-9),
        d=day(-4),
    )
    stored = windows(db)
    assert stored == expected_from_sales(db)
    assert stored[("S1", "P0")] == (day(-9), [6.0, None, 3, 4, 5, None, 7, 8, 9, 5])
    assert stored[("S1", "P4")][1] == [2.0 * units for units in range(7, 14)]

    # When rows are deleted from the middle, from both ends, and all of one SKU's
    execute(db, "DELETE FROM sales WHERE product_id = 'P1' AND sale_date = :d", d=day(-4))
    execute(
        db,
        "DELETE FROM sales WHERE product_id = 'P2' AND sale_date IN (:a, :b, :c)",
        a=day(-10),
        b=day(-7),
        c=day(-1),
    )
    execute(db, "DELETE FROM sales WHERE product_id = 'P3'")
    # Then the windows are trimmed to their first and last day sold, and the SKU has none
    stored = windows(db)
    assert stored == expected_from_sales(db)
    assert stored[("S1", "P1")][1][2:5] == [6.0, None, 99.0]
    assert stored[("S1", "P2")] == (day(-6), [6.0, 7, 8, 9, 10])
    assert ("S1", "P3") not in stored


def test_a_sale_written_again_with_nothing_changed_keeps_the_window(db, tmp_path):
    # Given a SKU's sales
    import_lines(db, tmp_path, [f"S1,P1,{day(n)},{n + 9}" for n in range(-3, 0)])
    # When a writer inserts its days again, doing nothing on conflict, and one new day
    execute(
        db,
        "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
        " SELECT :c, 'S1', 'P1', CAST(:first AS date) + g, 100 FROM generate_series(0, 3) g"
        " ON CONFLICT DO NOTHING",
        c=CUSTOMER,
        first=day(-3),
    )
    # Then only the new day is in the window
    assert windows(db) == {("S1", "P1"): (day(-3), [6.0, 7.0, 8.0, 100.0])}
    assert windows(db) == expected_from_sales(db)


def test_truncating_the_sales_empties_the_windows(db, tmp_path):
    # Given a SKU with a window
    import_lines(db, tmp_path, [f"S1,P1,{day(-1)},3"])
    assert len(windows(db)) == 1
    # When the sales are truncated
    execute(db, "TRUNCATE sales")
    # Then no window is left behind
    assert windows(db) == {}


def test_two_concurrent_writers_of_one_sku_both_land_in_its_window(db):
    # Given a new SKU's week of sales to insert, by two writers (a week each)
    insert = text(
        "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
        " SELECT :c, 'S1', 'P1', CAST(:start AS date) + g, :u FROM generate_series(0, 6) g"
    )
    # When the first writer inserts the first week and holds it uncommitted, the second
    # inserts the second week meanwhile (it waits for the first's lock), and the first commits
    second_writer_waits(
        db,
        insert,
        {"c": CUSTOMER, "start": day(-14), "u": 1.0},
        {"c": CUSTOMER, "start": day(-7), "u": 2.0},
        table="sales",
    )

    # Then the SKU's window holds both weeks
    assert windows(db) == {("S1", "P1"): (day(-14), [1.0] * 7 + [2.0] * 7)}
    assert windows(db) == expected_from_sales(db)


def test_the_same_file_again_and_another_customers_file_keep_every_window(db, tmp_path):
    # Given a first import of a few SKUs' fortnight of sales, a gap in one of them
    lines = [
        f"S1,P{p},{day(n)},{p * 3 + n + 20}"
        for p in range(4)
        for n in range(-14, 0)
        if (p, n) != (2, -6)
    ]
    import_lines(db, tmp_path, lines)
    first = windows(db)
    assert first == expected_from_sales(db) and len(first) == 4

    # When the same file is imported again (every row an update, nothing changed)
    import_lines(db, tmp_path, lines)
    # Then the windows are as they were
    assert windows(db) == first

    # When it is imported again with other units (every row an update)
    import_lines(db, tmp_path, [line.rsplit(",", 1)[0] + ",1.5" for line in lines])
    # Then every day of every window holds the new units, the gap still a gap
    stored = windows(db)
    assert stored == expected_from_sales(db)
    assert stored[("S1", "P2")][1][8] is None
    assert {u for _, units in stored.values() for u in units if u is not None} == {1.5}

    # When another customer's first import brings the same SKUs (a table that holds rows)
    import_lines(db, tmp_path, lines, customer="other")
    # Then it has windows of its own, and the first customer's are untouched
    every = stored_windows(db)
    assert every == windows_from_sales(db)
    assert {sku[1:]: w for sku, w in every.items() if sku[0] == "other"} == first
    assert windows(db) == stored


def test_a_sale_moved_to_another_day_or_sku_leaves_both_windows_right(db, tmp_path):
    # Given two SKUs with a week of sales each
    import_lines(
        db, tmp_path, [f"S1,P{p},{day(n)},{p * 10 + n + 8}" for p in (1, 2) for n in range(-7, 0)]
    )
    # When every sale of one SKU moves a week back (no old day is written again)
    execute(db, "UPDATE sales SET sale_date = sale_date - 7 WHERE product_id = 'P1'")
    stored = windows(db)
    assert stored == expected_from_sales(db)
    assert stored[("S1", "P1")] == (day(-14), [11.0, 12, 13, 14, 15, 16, 17])
    # When its first sale moves to the other SKU, and its last to a SKU that had none
    execute(
        db,
        "UPDATE sales SET product_id = CASE sale_date WHEN :a THEN 'P2' ELSE 'P3' END"
        " WHERE product_id = 'P1' AND sale_date IN (:a, :b)",
        a=day(-14),
        b=day(-8),
    )
    # Then each SKU's window is its rows: cut out of P1's, added to P2's (a gap between)
    stored = windows(db)
    assert stored == expected_from_sales(db)
    assert stored[("S1", "P1")] == (day(-13), [12.0, 13, 14, 15, 16])
    assert stored[("S1", "P2")] == (day(-14), [11.0, *[None] * 6, 21, 22, 23, 24, 25, 26, 27])
    assert stored[("S1", "P3")] == (day(-8), [17.0])


def test_writers_meeting_on_the_same_windows_each_see_the_others_change(db, tmp_path):
    # Given two SKUs with a week of sales
    import_lines(db, tmp_path, [f"S1,P{p},{day(n)},{n + 8}" for p in (1, 2) for n in range(-7, 0)])
    # And a writer that has deleted a day of both (their windows cut, not yet committed)
    deleting = db()
    deleting.begin()
    deleting.execute(text("DELETE FROM sales WHERE sale_date = :d"), {"d": day(-4)})

    # When a second writer adds today to both meanwhile, listing them in the other order,
    # and another deletes their last day (both wait for the first)
    def add_today() -> None:
        with db.begin() as session:
            session.execute(
                text(
                    "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
                    " VALUES (:c, 'S1', 'P2', :d, 20), (:c, 'S1', 'P1', :d, 10)"
                ),
                {"c": CUSTOMER, "d": day(0)},
            )

    def delete_first_day() -> None:
        with db.begin() as session:
            session.execute(text("DELETE FROM sales WHERE sale_date = :d"), {"d": day(-7)})

    writers = [threading.Thread(target=add_today), threading.Thread(target=delete_first_day)]
    writers[0].start()
    wait_until(lambda: waiting_on_a_lock(db, "INSERT INTO sales"), what="the adding writer waiting")
    writers[1].start()
    wait_until(
        lambda: waiting_on_a_lock(db, "DELETE FROM sales"), what="the deleting writer waiting"
    )
    # and then the first commits
    deleting.commit()
    deleting.close()
    for writer in writers:
        writer.join()

    # Then each window holds every writer's change: no cut undone, no day lost
    stored = windows(db)
    assert stored == expected_from_sales(db)
    assert stored[("S1", "P1")] == (day(-6), [2.0, 3, None, 5, 6, 7, 10])
    assert stored[("S1", "P2")] == (day(-6), [2.0, 3, None, 5, 6, 7, 20])
