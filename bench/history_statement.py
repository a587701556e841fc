"""A sweep's history read against a variant of it, paired: ``python bench/history_statement.py
--skus 20000 [--variant my_variant.py] [--retained-days 90]``.

Imports N synthetic SKUs with history (catalogue.py) into its own stack, checks every span
once as a sweep does (recording each batch's call of ``read_history``), then replays those
calls on one connection with the sales statement (A, ``READ_SALES``: a probe per SKU of its
``sales_windows`` row) and the variant (B), alternating which goes first, and prints the
PostgreSQL backend's CPU µs per SKU of each and the median of the B/A ratios of the pairs.
On a machine shared with other jobs, single runs of the same statement vary by ±20 %; the
ratio of back-to-back runs varies far less, so a change is judged by the ratio. It also says
whether the variant returns exactly what the current statement does, with the pre-screen and
without it (``screen=False``).

The variant is a Python file defining ``STATEMENT`` (the SQL text, with the same parameters
and columns as ``detect/history_inputs.py``'s ``READ_SALES``) and optionally ``SETUP``
(SQL statements run once before, say to build a table the variant reads). Left out, the
statement is compared with itself (the noise floor). ``--retained-days D`` first adds sales
before the window up to D days back (as ``SHELFOPS_RETAIN_SALES_DAYS`` keeps them: the
triggers on ``sales`` add them to each SKU's window, a longer array the read slices).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import statistics
import time
from pathlib import Path
from typing import Any

import psutil
from catalogue import KINDS, environment, import_files, kept_files
from harness import bench_stack
from sqlalchemy import text

from shelfops_alerts.db import get_engine, prepared, session_factory
from shelfops_alerts.detect import batch_inputs, history_inputs
from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.detect.sku_pages import sku_spans

CUSTOMER = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--variant", type=Path, help="a file defining STATEMENT (and SETUP)")
    parser.add_argument("--retained-days", type=int, default=28)
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--files", type=Path, default=Path("/tmp/bench-files"))
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    current = history_inputs.READ_SALES
    variant, setup = current, []
    if args.retained_days > 28:
        setup.append(
            "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
            " SELECT customer_id, store_id, product_id, d, 1 FROM inventory,"
            f" generate_series(CURRENT_DATE - {args.retained_days}, CURRENT_DATE - 29,"
            " interval '1 day') AS d"
        )

    if args.variant is not None:
        spec = importlib.util.spec_from_file_location("variant", args.variant)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        variant, setup = (
            prepared("history_variant", text(module.STATEMENT)),
            setup + list(getattr(module, "SETUP", [])),
        )
    # (the same files as ``sweep.py --history --files DIR`` writes and reuses)
    paths = kept_files(
        args.files,
        f"{args.skus}-history-{today}",
        KINDS,
        customer_id=CUSTOMER,
        skus=args.skus,
        today=today,
        past_days=28,
        policies=True,
    )
    read = history_inputs.read_history
    calls: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def recorded(session: Any, keys: dict[str, Any], **options: Any) -> Any:
        calls.append((keys, options))
        return read(session, keys, **options)

    with bench_stack(0) as bench:
        import_files(environment(bench.env), paths)
        factory = session_factory(bench.settings)
        batch_inputs.read_history = recorded  # type: ignore[assignment]
        try:
            for span in sku_spans(factory, customer_id=CUSTOMER, page_size=args.batch_size):
                with factory() as session:
                    check_batch(session, customer_id=CUSTOMER, span=span, today=today)
        finally:
            batch_inputs.read_history = read
        skus = sum(len(options["skus"]) for _, options in calls)
        with factory.begin() as session:
            for statement in setup:
                session.execute(text(statement))
        autocommit = get_engine(bench.settings).execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as connection:
            connection.execute(text("VACUUM (ANALYZE) sales"))
        with factory() as session:
            backend = psutil.Process(session.execute(text("SELECT pg_backend_pid()")).scalar())

            def replay(statement: Any, **extra: Any) -> tuple[float, list[Any]]:
                history_inputs.READ_SALES = statement
                try:
                    began = sum(backend.cpu_times()[:2])
                    out = [
                        repr(row)
                        for keys, options in calls
                        for row in read(
                            session,
                            keys,
                            **{**options, **extra},
                        )
                    ]
                    return (sum(backend.cpu_times()[:2]) - began) * 1e6 / skus, out
                finally:
                    history_inputs.READ_SALES = current

            same = replay(current)[1] == replay(variant)[1]
            same_unscreened = replay(current, screen=False)[1] == replay(variant, screen=False)[1]
            a_runs, b_runs = [], []
            for n in range(args.pairs):
                if n % 2:
                    a_runs.append(replay(current)[0])
                    b_runs.append(replay(variant)[0])
                else:
                    b_runs.append(replay(variant)[0])
                    a_runs.append(replay(current)[0])
                time.sleep(0.1)
    ratios = [b / a for a, b in zip(a_runs, b_runs, strict=True)]
    print(f"\n{skus:,} SKUs in {len(calls)} batches, {args.pairs} pairs (PostgreSQL CPU µs/SKU)")
    print(f"A current: median {statistics.median(a_runs):.1f}, min {min(a_runs):.1f}")
    print(f"B variant: median {statistics.median(b_runs):.1f}, min {min(b_runs):.1f}")
    print(
        f"B/A: median {statistics.median(ratios):.3f} (pairs {min(ratios):.2f}-{max(ratios):.2f})"
    )
    print(f"same rows: screened {same}, unscreened {same_unscreened}")


if __name__ == "__main__":
    main()
