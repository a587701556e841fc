"""Benchmark the CSV imports as a user runs them: ``python bench/imports.py --skus 1000000``.

Writes a catalogue's stock file (one row per SKU) and forecast file (``--days`` rows per
SKU), then, on a fresh PostgreSQL each run, imports both with ``shelfops-alerts import`` —
the command a user types, in its own process — and once more the same forecasts (a new
forecast run over the same days: every row an update). Prints rows per second and the
import process's peak memory (medians of ``--runs``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
from pathlib import Path

from catalogue import cli_import, environment, kept_files
from harness import bench_stack, machine, note, table

CUSTOMER = "bench"
MB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, required=True)
    parser.add_argument("--days", type=int, default=15, help="forecast rows per SKU")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--files", type=Path, help="folder for the CSV files (kept, reused)")
    parser.add_argument(
        "--first-only", action="store_true", help="skip the second forecast import (updates)"
    )
    parser.add_argument("--only", choices=("inventory", "forecasts"), help="import this file alone")
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    paths = kept_files(
        args.files,
        f"imports-{args.skus}-{args.days}-{today}",
        ("inventory", "forecasts"),
        customer_id=CUSTOMER,
        skus=args.skus,
        today=today,
        forecast_days=args.days,
    )
    results: dict[str, list] = {"inventory": [], "forecasts": [], "forecasts again": []}
    for n in range(args.runs):
        note(f"run {n + 1} of {args.runs} ...")
        with bench_stack(0) as bench:
            env = environment(bench.env)
            for label, kind in (
                ("inventory", "inventory"),
                ("forecasts", "forecasts"),
                ("forecasts again", "forecasts"),
            ):
                if args.first_only and label == "forecasts again":
                    continue
                if args.only and kind != args.only:
                    continue
                done = cli_import(env, kind, paths[kind], postgres_pid=bench.stack.postgres.pid())
                note(
                    f"  {label}: {done.rows:,} rows in {done.seconds:.1f} s; CPU s per M rows:"
                    f" import {done.cpu / done.rows * 1e6:.2f},"
                    f" backend {(done.backend_cpu or 0) / done.rows * 1e6:.2f},"
                    f" server {(done.server_cpu or 0) / done.rows * 1e6:.2f}"
                    f" (load {os.getloadavg()[0]:.1f})"
                )
                results[label].append(done)

    print(f"\nmachine: {machine()}\n")
    rows = []
    for label, runs in results.items():
        if not runs:
            continue
        seconds = [run.seconds for run in runs]
        median = statistics.median(seconds)
        shown = f"{median:.1f}" + (
            f" ({', '.join(f'{s:.1f}' for s in seconds)})" if len(seconds) > 1 else ""
        )
        rows.append(
            [
                label,
                f"{runs[0].rows:,}",
                f"{runs[0].size / MB:,.0f}",
                shown,
                f"{runs[0].rows / median:,.0f}",
                f"{max(run.peak_rss for run in runs) / MB:.0f}",
                *(
                    f"{statistics.median(cpu(run) or 0 for run in runs) / runs[0].rows * 1e6:.2f}"
                    for cpu in (
                        lambda run: run.cpu,
                        lambda run: run.backend_cpu,
                        lambda run: run.server_cpu,
                    )
                ),
            ]
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    header = ["import", "rows", "file MB", "seconds", "rows/s", "peak RSS MB"]
    cpu = ["CPU s/M rows: import", "backend", "server"]
    print(table([*header, *cpu], rows))


if __name__ == "__main__":
    main()
