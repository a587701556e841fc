"""Benchmark a sweep right after an import: ``python bench/sweep.py --skus 100000``.

As a user meets the product: the catalogue's CSV files (catalogue.py) are imported with
``shelfops-alerts import``, then ``shelfops-alerts sweep --wait`` runs at once — no manual
VACUUM or ANALYZE in between. Each run starts its own PostgreSQL, Redis and K ``alerts``
worker processes; ``--runs N`` repeats the whole thing (fresh stack, import, sweep) and
prints each run and the median. Timed: the sweep row's start until its last batch is
published. Then the floor (floor.py) computes the stockout alerts from the same stored
inputs inside PostgreSQL; the pipeline must find exactly the same alerts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
from pathlib import Path

from catalogue import environment, import_files, kept_files
from floor import compare_with_pipeline, run_floor, run_row_floor
from harness import CpuMeter, RssSampler, bench_stack, machine, note, table
from sqlalchemy import text

from shelfops_alerts.db import get_engine

CUSTOMER = "bench"
MB = 2**20


def cli_sweep(env: dict[str, str]) -> dict:
    """``shelfops-alerts sweep --wait --json``, as a user runs it; returns the sweep's row."""
    command = [str(Path(sys.executable).with_name("shelfops-alerts")), "sweep", "--wait", "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sweep failed ({done.returncode}): {done.stdout} {done.stderr}")
    return json.loads(done.stdout)


def one_run(args: argparse.Namespace, files: dict[str, Path], today: dt.date) -> dict:
    """A fresh stack: import the files, sweep, the floor; returns this run's figures."""
    extra = {"SHELFOPS_BATCH_SIZE": str(args.batch_size)} if args.batch_size else {}
    with bench_stack(args.workers, **extra) as bench:
        env = environment(bench.env)
        imported = import_files(env, files)
        note("sweeping ...")
        with RssSampler(bench.workers) as rss, CpuMeter(bench) as cpu:
            sweep = cli_sweep(env)
        engine = get_engine(bench.settings)
        with engine.connect() as connection:
            by_kind = connection.execute(
                text(
                    "SELECT alert_type, severity, count(*) FROM alerts GROUP BY 1, 2"
                    " ORDER BY 1, array_position(ARRAY['low','medium','high','critical'], severity)"
                )
            ).all()
            if args.alerts_out:
                # Every alert as a line, in key order: two runs (say, two commits) found the
                # same alerts when these files are equal (`cmp`).
                rows = connection.execute(
                    text(
                        "SELECT alert_type, store_id, product_id, severity, status, message,"
                        " CAST(metadata AS text) FROM alerts ORDER BY 1, 2, 3, 4, 5, 6, 7"
                    )
                ).all()
                args.alerts_out.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
            unpublished = connection.execute(
                text("SELECT count(*) FROM alert_history WHERE published_at IS NULL")
            ).scalar_one()
        note("the floor ...")
        floor_s, floor_alerts = run_floor(engine, today=today)
        same = compare_with_pipeline(engine, today=today)
        row_s = run_row_floor(engine, today=today)[0] if args.row_floor else None
    return {
        "sweep": sweep,
        "imported": imported,
        "by_kind": by_kind,
        "unpublished": unpublished,
        "floor_s": floor_s,
        "floor_alerts": floor_alerts,
        "same": same,
        "row_floor_s": row_s,
        "peak_rss": max(rss.peak.values()),
        "cpu": cpu.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2, help="alerts worker processes")
    parser.add_argument("--runs", type=int, default=1, help="fresh stack, import, sweep N times")
    parser.add_argument(
        "--history",
        action="store_true",
        help="28 days of past forecasts and a policy per SKU (every rule judges every SKU)",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="SHELFOPS_BATCH_SIZE")
    parser.add_argument(
        "--row-floor", action="store_true", help="also time the old row-based floor statement"
    )
    parser.add_argument("--files", type=Path, help="folder for the CSV files (kept, reused)")
    parser.add_argument(
        "--alerts-out",
        type=Path,
        help="write every alert of the (last) run to this file, a sorted line each",
    )
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    past = 28 if args.history else 0
    kinds = ("inventory", "forecasts", "sales", *(("policies",) if args.history else ()))
    paths = kept_files(
        args.files,
        f"{args.skus}-{'history' if args.history else 'plain'}-{today}",
        kinds,
        customer_id=CUSTOMER,
        skus=args.skus,
        today=today,
        past_days=past,
        policies=args.history,
    )
    runs = []
    for n in range(args.runs):
        note(f"run {n + 1} of {args.runs} ...")
        runs.append(one_run(args, paths, today))

    print(f"\nmachine: {machine()}")
    print(
        f"{args.skus:,} SKUs, {args.workers} alerts worker(s),"
        f" {'28 days of past forecasts and a policy per SKU' if args.history else 'no history'}"
    )
    for run in runs:
        sweep = run["sweep"]
        print(
            f"sweep #{sweep['id']} {sweep['status']} in {sweep['duration_s']:.2f} s,"
            f" {sweep['batches_failed']} batch(es) failed, {run['unpublished']} unpublished;"
            f" stockout alerts: pipeline {run['same']['pipeline']:,},"
            f" floor {run['same']['floor']:,}, same: {run['same']['same']}"
        )
    kinds = sorted({k for run in runs for k in run["cpu"]})
    cpu = {k: statistics.median(run["cpu"].get(k, 0.0) for run in runs) for k in kinds}
    print(
        "CPU seconds during the sweep (medians): "
        + ", ".join(f"{k} {v:.1f} ({v * 1e6 / args.skus:.0f} µs/SKU)" for k, v in cpu.items())
    )
    seconds = [float(run["sweep"]["duration_s"]) for run in runs]
    floors = [run["floor_s"] for run in runs]
    median = statistics.median(seconds)
    floor = statistics.median(floors)
    shown = ", ".join(f"{s:.2f}" for s in seconds)
    row = [
        f"{args.skus:,}",
        args.workers,
        runs[0]["sweep"]["batch_size"],
        f"{median:.2f} ({shown})" if len(runs) > 1 else f"{median:.2f}",
        f"{args.skus / median:,.0f}",
        f"{floor:.2f}",
        f"{median / floor:.1f}",
        f"{max(run['peak_rss'] for run in runs) / MB:.0f}",
        f"{cpu.get('workers', 0) * 1e6 / args.skus:.0f}",
        f"{cpu.get('postgres backends', 0) * 1e6 / args.skus:.0f}",
    ]
    headers = [
        "SKUs",
        "workers",
        "batch",
        "sweep s",
        "SKUs/s",
        "floor s",
        "× floor",
        "peak RSS MB",
        "worker CPU µs/SKU",
        "PostgreSQL CPU µs/SKU",
    ]
    if args.row_floor:
        row_floor = statistics.median(run["row_floor_s"] for run in runs)
        headers += ["row floor s", "× row floor"]
        row += [f"{row_floor:.2f}", f"{median / row_floor:.1f}"]
    print()
    print(table(headers, [row]))
    print()
    print(
        table(
            ["import", "rows", "s", "rows/s", "peak RSS MB"],
            [
                [
                    i.kind,
                    f"{i.rows:,}",
                    f"{i.seconds:.1f}",
                    f"{i.rate:,.0f}",
                    f"{i.peak_rss / MB:.0f}",
                ]
                for i in runs[-1]["imported"]
            ],
        )
    )
    print()
    print(
        table(
            ["alert type", "severity", "alerts"],
            [[r[0], r[1], f"{r[2]:,}"] for r in runs[-1]["by_kind"]],
        )
    )
    if not all(run["same"]["same"] for run in runs):
        raise SystemExit("the pipeline's stockout alerts differ from the floor's")


if __name__ == "__main__":
    main()
