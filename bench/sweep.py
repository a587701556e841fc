"""Benchmark one full sweep: ``python bench/sweep.py --skus 100000 [--workers 2]``.

Loads N synthetic SKUs (see catalogue.py), starts its own stack and K ``alerts`` worker
processes, runs one sweep exactly as beat does, and prints tables: SKUs/s end to end (the
sweep row's start until its last batch is published), alerts by type and severity, peak
RSS per worker process, and the same work as one SQL statement (the floor) as a ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

import redis
from catalogue import load_with_progress
from floor import run_floor
from harness import RssSampler, Timer, bench_stack, machine, note, table
from sqlalchemy import text

from shelfops_alerts.cli.sweep import draw, progress_line
from shelfops_alerts.db import get_engine, session_factory
from shelfops_alerts.intake.client import send_event
from shelfops_alerts.publish.changes import channel_for
from shelfops_alerts.sweeps.lock import OUTCOME_KEY
from shelfops_alerts.sweeps.runs import sweep_by_id

CUSTOMER = "bench"
MB = 2**20


def run_sweep(bench, skus: int) -> dict:
    """Start a sweep by task name, follow it with a progress bar; returns its row."""
    client = redis.Redis.from_url(bench.settings.redis_url.reveal())
    task_id = send_event("shelfops.sweep_all_skus", {}, settings=bench.settings)
    while (raw := client.get(OUTCOME_KEY.format(task_id))) is None:
        time.sleep(0.05)
    sweep_id = json.loads(raw)["sweep_id"]
    factory = session_factory(bench.settings)
    began = time.perf_counter()
    while True:
        with factory() as session:
            sweep = sweep_by_id(session, sweep_id=sweep_id)
        assert sweep is not None
        draw(progress_line(sweep["skus_checked"], skus, time.perf_counter() - began))
        if sweep["status"] != "running":
            return sweep
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2, help="alerts worker processes")
    parser.add_argument(
        "--past-forecasts",
        type=int,
        default=0,
        metavar="DAYS",
        help="also load the forecasts of DAYS past days (so anomaly/accuracy judge every SKU)",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="SHELFOPS_BATCH_SIZE")
    args = parser.parse_args()
    extra = {"SHELFOPS_BATCH_SIZE": str(args.batch_size)} if args.batch_size else {}
    today = dt.datetime.now(dt.UTC).date()
    with bench_stack(args.workers, **extra) as bench:
        engine = get_engine(bench.settings)
        note(f"loading {args.skus:,} SKUs ...")
        load_s = load_with_progress(
            engine,
            customer_id=CUSTOMER,
            skus=args.skus,
            today=today,
            past_days=args.past_forecasts,
        )
        published = redis.Redis.from_url(bench.settings.redis_url.reveal()).pubsub()
        published.subscribe(channel_for(CUSTOMER))
        note("sweeping ...")
        with RssSampler(bench.workers) as rss, Timer() as wall:
            sweep = run_sweep(bench, args.skus)
        with engine.connect() as connection:
            by_kind = connection.execute(
                text(
                    "SELECT alert_type, severity, count(*) FROM alerts GROUP BY 1, 2"
                    " ORDER BY 1, array_position(ARRAY['low','medium','high','critical'], severity)"
                )
            ).all()
            unpublished = connection.execute(
                text("SELECT count(*) FROM alert_history WHERE published_at IS NULL")
            ).scalar_one()
        note("the floor: one SQL statement ...")
        floor_s, floor_alerts = run_floor(engine, today=today)

    seconds = float(sweep["duration_s"])
    peak_mb = max(rss.peak.values()) / MB
    print(f"\nmachine: {machine()}")
    if args.past_forecasts:
        print(f"with {args.past_forecasts} days of past forecasts (history rules judge them)")
    print(
        f"sweep #{sweep['id']} {sweep['status']}, {sweep['batches_failed']} batch(es) failed,"
        f" {unpublished} change(s) unpublished\n"
    )
    print(
        table(
            [
                "SKUs",
                "workers",
                "batch",
                "load s",
                "sweep s",
                "SKUs/s",
                "floor s",
                "× floor",
                "peak RSS MB",
            ],
            [
                [
                    f"{args.skus:,}",
                    args.workers,
                    sweep["batch_size"],
                    f"{load_s:.1f}",
                    f"{seconds:.2f}",
                    f"{args.skus / seconds:,.0f}",
                    f"{floor_s:.2f}",
                    f"{seconds / floor_s:.1f}",
                    f"{peak_mb:.0f}",
                ]
            ],
        )
    )
    queued_s = (
        dt.datetime.fromisoformat(sweep["queued_at"])
        - dt.datetime.fromisoformat(sweep["started_at"])
    ).total_seconds()
    print(
        f"\nqueueing took {queued_s:.2f} s;"
        f" wall clock from send until seen finished {wall.seconds:.2f} s"
    )
    print(f"alerts: pipeline {sum(r[2] for r in by_kind):,}, floor {floor_alerts:,}\n")
    print(table(["alert type", "severity", "alerts"], [[r[0], r[1], f"{r[2]:,}"] for r in by_kind]))
    print()
    print(
        table(
            ["process", "peak RSS MB"], [[k, f"{v / MB:.0f}"] for k, v in sorted(rss.peak.items())]
        )
    )


if __name__ == "__main__":
    main()
