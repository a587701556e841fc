"""Benchmark the sales imports a user runs: ``python bench/sales_imports.py --sales FILE``.

On a fresh PostgreSQL each run, with ``shelfops-alerts import sales`` (the command a user
types, in its own process): the catalogue's sales file (``bench/sweep.py --history`` writes
one: 28 days per SKU) as a first import into the empty table, the same file again (every
row an update), one new day for every SKU (the daily import: every row a new day after the
SKU's last), and the whole file again as another customer's (a first import into a table
that holds rows). Prints rows per second and the CPU the import's PostgreSQL backend spent
per million rows, which is where the triggers on ``sales`` run (medians of ``--runs``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
from pathlib import Path

from catalogue import cli_import, environment
from harness import bench_stack, machine, note, table

STEPS = ("first import", "same file again", "one new day", "another customer")


def derived_files(sales: Path, folder: Path) -> dict[str, Path]:
    """The files of the steps after the first, written from the catalogue's sales file."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = sales.read_text(encoding="utf-8").splitlines()
    header, body = lines[0], lines[1:]
    last: dict[tuple[str, str, str], str] = {}
    for line in body:
        customer, store, product, day, _ = line.split(",")
        last[(customer, store, product)] = max(day, last.get((customer, store, product), day))
    next_day = folder / "next_day.csv"
    next_day.write_text(
        header
        + "\n"
        + "".join(
            f"{c},{s},{p},{dt.date.fromisoformat(d) + dt.timedelta(days=1)},7\n"
            for (c, s, p), d in last.items()
        ),
        encoding="utf-8",
    )
    other = folder / "other_customer.csv"
    other.write_text(
        header + "\n" + "".join("other" + line[line.index(",") :] + "\n" for line in body),
        encoding="utf-8",
    )
    return {
        "first import": sales,
        "same file again": sales,
        "one new day": next_day,
        "another customer": other,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=Path, required=True, help="a catalogue's sales.csv")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    paths = derived_files(args.sales, args.sales.parent / "sales-imports")
    results: dict[str, list] = {step: [] for step in STEPS}
    for n in range(args.runs):
        note(f"run {n + 1} of {args.runs} ...")
        with bench_stack(0) as bench:
            env = environment(bench.env)
            for step in STEPS:
                done = cli_import(
                    env, "sales", paths[step], postgres_pid=bench.stack.postgres.pid()
                )
                note(f"  {step}: {done.rows:,} rows in {done.seconds:.1f} s")
                results[step].append(done)

    print(f"\nmachine: {machine()}\n")
    rows = []
    for step, runs in results.items():
        seconds = statistics.median(run.seconds for run in runs)
        backend = statistics.median((run.backend_cpu or 0) for run in runs)
        rows.append(
            [
                step,
                f"{runs[0].rows:,}",
                f"{seconds:.1f}",
                f"{runs[0].rows / seconds:,.0f}",
                f"{backend / runs[0].rows * 1e6:.2f}",
            ]
        )
    print(table(["import", "rows", "seconds", "rows/s", "backend CPU s/M rows"], rows))


if __name__ == "__main__":
    main()
