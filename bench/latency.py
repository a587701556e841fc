"""Benchmark one SKU's event path: ``python bench/latency.py [--workers 2] [--repeat 500]``.

On an idle system with a catalogue imported (``shelfops-alerts import``), the same SKU's
forecast-complete event is sent again and again; between two events its stock alternates
(5 and 6 units on hand at 10 a day: a critical alert, then the same alert updated), so
every event makes one change.
Measured: from ``notify_forecast_complete`` until a subscriber on ``alerts:{customer}``
receives that change. Prints p50/p95/p99.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

import redis
from catalogue import environment, import_files, write_files
from harness import bench_stack, machine, note, table
from sqlalchemy import text

from shelfops_alerts.cli.sweep import draw, progress_line
from shelfops_alerts.db import get_engine
from shelfops_alerts.intake.client import notify_forecast_complete
from shelfops_alerts.publish.changes import channel_for

CUSTOMER = "bench"
STORE, PRODUCT = "ST00000", "PR0000"
#: Seconds to wait for one change before calling the run broken.
TIMEOUT_S = 10.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="alerts worker processes")
    parser.add_argument("--repeat", type=int, default=500)
    parser.add_argument("--skus", type=int, default=10_000, help="catalogue size around the SKU")
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    with bench_stack(args.workers) as bench:
        engine = get_engine(bench.settings)
        folder = Path(tempfile.mkdtemp(prefix="shelfops-bench-files-"))
        paths = write_files(
            folder,
            customer_id=CUSTOMER,
            skus=args.skus,
            today=today,
            only=("inventory", "forecasts"),
        )
        import_files(environment(bench.env), paths)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE forecasts SET demand = 10 WHERE customer_id = :c"
                    " AND store_id = :s AND product_id = :p"
                ),
                {"c": CUSTOMER, "s": STORE, "p": PRODUCT},
            )
        pubsub = redis.Redis.from_url(bench.settings.redis_url.reveal()).pubsub(
            ignore_subscribe_messages=True
        )
        pubsub.subscribe(channel_for(CUSTOMER))
        sku = f"{STORE}/{PRODUCT}"
        samples: list[float] = []
        note(f"{args.repeat} events for {sku} ...")
        began = time.perf_counter()
        for n in range(args.repeat):
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "UPDATE inventory SET on_hand = :h WHERE customer_id = :c"
                        " AND store_id = :s AND product_id = :p"
                    ),
                    {"h": 5 + n % 2, "c": CUSTOMER, "s": STORE, "p": PRODUCT},
                )
            start = time.perf_counter()
            notify_forecast_complete(CUSTOMER, f"latency-{n}", [sku], settings=bench.settings)
            while True:
                # None also stands for an ignored subscribe confirmation: keep waiting.
                message = pubsub.get_message(timeout=TIMEOUT_S)
                if message is not None and json.loads(message["data"])["product_id"] == PRODUCT:
                    break
                if time.perf_counter() - start > TIMEOUT_S:
                    raise SystemExit(f"event {n}: no change published within {TIMEOUT_S} s")
            samples.append((time.perf_counter() - start) * 1000)
            draw(progress_line(n + 1, args.repeat, time.perf_counter() - began, unit="events"))

    print(f"\nmachine: {machine()}\n")
    print(
        table(
            ["events", "workers", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms"],
            [
                [
                    len(samples),
                    args.workers,
                    f"{percentile(samples, 0.50):.1f}",
                    f"{percentile(samples, 0.95):.1f}",
                    f"{percentile(samples, 0.99):.1f}",
                    f"{max(samples):.1f}",
                    f"{statistics.fmean(samples):.1f}",
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
