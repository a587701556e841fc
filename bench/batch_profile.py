"""Where a batch's time goes, in one process: ``python bench/batch_profile.py --skus 20000``.

Imports N synthetic SKUs (catalogue.py) with ``shelfops-alerts import`` into its own stack
(no workers), then runs every batch's check, persist and publish in this process, timing
each step per batch: the input reads (by query), the rules, the JSON hops between tasks,
persist, and publish. Prints milliseconds per batch and microseconds per SKU; ``--profile``
adds cProfile's top functions of the check. No queue: the pipeline's per-batch cost
without its plumbing.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import redis
from catalogue import environment, import_files, sku_key, write_files
from harness import bench_stack, machine, note, table
from sqlalchemy import event

from shelfops_alerts.alerts import silences, statements
from shelfops_alerts.alerts.persist import PersistResult, persist_batch
from shelfops_alerts.db import get_engine, session_factory
from shelfops_alerts.detect import batch_inputs, history_inputs
from shelfops_alerts.detect.checks import BatchResult, check_batch
from shelfops_alerts.detect.sku_pages import sku_spans
from shelfops_alerts.publish import changes
from shelfops_alerts.publish.changes import load_changes, mark_published, publish_changes
from shelfops_alerts.skus import Sku
from shelfops_alerts.stack.collector import tune_collector

CUSTOMER = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument(
        "--history",
        action="store_true",
        help="28 days of past forecasts and a policy per SKU (every rule judges every SKU)",
    )
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="cProfile the checks")
    parser.add_argument("--files", type=Path, help="folder for the CSV files (kept, reused)")
    args = parser.parse_args()
    tune_collector()  # as a worker process runs
    today = dt.datetime.now(dt.UTC).date()
    skus = [Sku(*sku_key(n)) for n in range(args.skus)]
    batches = [skus[i : i + args.batch_size] for i in range(0, len(skus), args.batch_size)]
    folder = (args.files or Path(tempfile.mkdtemp(prefix="shelfops-bench-files-"))) / (
        f"{args.skus}-{'history' if args.history else 'plain'}-{today}"
    )
    if not (folder / "inventory.csv").exists() or (
        args.history and not (folder / "policies.csv").exists()
    ):
        note(f"writing {args.skus:,} SKUs to {folder} ...")
        write_files(
            folder,
            customer_id=CUSTOMER,
            skus=args.skus,
            today=today,
            past_days=28 if args.history else 0,
            policies=args.history,
        )
    kinds = ["inventory", "forecasts", "sales"] + (["policies"] if args.history else [])
    spent: dict[str, float] = defaultdict(float)
    with bench_stack(0) as bench:
        import_files(environment(bench.env), {kind: folder / f"{kind}.csv" for kind in kinds})
        engine = get_engine(bench.settings)
        factory = session_factory(bench.settings)
        client = redis.Redis.from_url(bench.settings.redis_url.reveal())
        _time_queries(engine, spent)
        profiler = cProfile.Profile() if args.profile else None
        # As a sweep cuts them: spans of keys, each read by the check itself.
        began = time.perf_counter()
        spans = list(sku_spans(factory, customer_id=CUSTOMER, page_size=args.batch_size))
        spent["cut spans (sweep)"] += time.perf_counter() - began
        for span in spans:
            with factory() as session:
                began = time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                result = check_batch(session, customer_id=CUSTOMER, span=span, today=today)
                if profiler is not None:
                    profiler.disable()
                spent["check (all)"] += time.perf_counter() - began
            began = time.perf_counter()
            hop = BatchResult.from_json(json.loads(json.dumps(result.to_json())))
            spent["JSON hop check → persist"] += time.perf_counter() - began
            with factory.begin() as session:
                began = time.perf_counter()
                persisted = persist_batch(session, batch=hop)
                spent["persist"] += time.perf_counter() - began
            began = time.perf_counter()
            done = PersistResult.from_json(json.loads(json.dumps(persisted.to_json())))
            spent["JSON hop persist → publish"] += time.perf_counter() - began
            began = time.perf_counter()
            with factory() as session:
                messages = load_changes(session, history_ids=done.history_ids)
            publish_changes(client, messages)
            with factory.begin() as session:
                mark_published(session, history_ids=done.history_ids)
            spent["publish"] += time.perf_counter() - began
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
        for module in (batch_inputs, history_inputs)
        for name, statement in vars(module).items()
        if name.startswith("_READ_") and hasattr(statement, "text")
    }
    for module in (statements, changes, silences):
        for name, statement in vars(module).items():
            if name.lstrip("_").isupper() and hasattr(statement, "text"):
                texts[statement.text] = f"  sql {module.__name__.rsplit('.', 1)[-1]}.{name}"
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
