"""Where a batch's time goes, in one process: ``python bench/batch_profile.py --skus 20000``.

Loads N synthetic SKUs (catalogue.py) into its own stack (no workers), then checks and
persists every batch in this process, timing each step per batch: the input read (by kind
of input), the rules, the JSON hop between tasks, and persist. Prints a table of
milliseconds per batch and microseconds per SKU; ``--profile`` adds cProfile's top functions
of the check. No queue, no Redis: the pipeline's per-batch cost without its plumbing.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import time
from collections import defaultdict

from catalogue import PRODUCTS_PER_STORE, load_with_progress
from harness import bench_stack, machine, note, table
from sqlalchemy import event

from shelfops_alerts.alerts.persist import persist_batch
from shelfops_alerts.db import get_engine, session_factory
from shelfops_alerts.detect import batch_inputs
from shelfops_alerts.detect.checks import BatchResult, check_batch
from shelfops_alerts.skus import Sku

CUSTOMER = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument(
        "--past-forecasts",
        type=int,
        default=0,
        metavar="DAYS",
        help="also load the forecasts of DAYS past days (so anomaly/accuracy judge every SKU)",
    )
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="cProfile the checks")
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    skus = [
        Sku(f"ST{n // PRODUCTS_PER_STORE:05d}", f"PR{n % PRODUCTS_PER_STORE:04d}")
        for n in range(args.skus)
    ]
    batches = [skus[i : i + args.batch_size] for i in range(0, len(skus), args.batch_size)]
    spent: dict[str, float] = defaultdict(float)
    with bench_stack(0) as bench:
        engine = get_engine(bench.settings)
        note(f"loading {args.skus:,} SKUs ...")
        load_with_progress(
            engine,
            customer_id=CUSTOMER,
            skus=args.skus,
            today=today,
            past_days=args.past_forecasts,
        )
        factory = session_factory(bench.settings)
        _time_queries(engine, spent)
        profiler = cProfile.Profile() if args.profile else None
        for batch in batches:
            with factory() as session:
                began = time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                result = check_batch(session, customer_id=CUSTOMER, skus=batch, today=today)
                if profiler is not None:
                    profiler.disable()
                spent["check (all)"] += time.perf_counter() - began
            began = time.perf_counter()
            hop = BatchResult.from_json(result.to_json())
            spent["JSON hop"] += time.perf_counter() - began
            with factory.begin() as session:
                began = time.perf_counter()
                persist_batch(session, batch=hop)
                spent["persist"] += time.perf_counter() - began
    spent["rules and objects"] = spent["check (all)"] - sum(
        v for k, v in spent.items() if k.startswith("read ")
    )
    print(f"\nmachine: {machine()}; {args.skus:,} SKUs in {len(batches)} batches\n")
    print(
        table(
            ["step", "ms per batch", "µs per SKU"],
            [
                [step, f"{s * 1e3 / len(batches):.1f}", f"{s * 1e6 / args.skus:.1f}"]
                for step, s in spent.items()
            ],
        )
    )
    if profiler is not None:
        print()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def _time_queries(engine, spent: dict[str, float]) -> None:
    """Add each read statement's time (by which query of batch_inputs it is) to ``spent``."""
    texts = {
        statement.text: f"read {name.removeprefix('_READ_').lower()}"
        for name, statement in vars(batch_inputs).items()
        if name.startswith("_READ_")
    }
    starts: dict[int, float] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        starts[id(cursor)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        name = next((n for t, n in texts.items() if _same(t, statement)), None)
        if name is not None:
            spent[name] += time.perf_counter() - starts.pop(id(cursor))


def _same(source: str, compiled: str) -> bool:
    # Bound parameters are rewritten by the driver's paramstyle; compare what surrounds them.
    return source.split(":", 1)[0].strip() == compiled.split("%(", 1)[0].strip()


if __name__ == "__main__":
    main()
