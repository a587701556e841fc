"""Where a batch's time goes, in one process: ``python bench/batch_profile.py --skus 20000``.

Imports N synthetic SKUs (catalogue.py) with ``shelfops-alerts import`` into its own stack
(no workers), then runs every batch's check, persist and publish in this process, timing
each step per batch: the input reads (by query), the rules, the JSON hops between tasks,
persist, and publish. Prints milliseconds per batch and microseconds per SKU (wall, and this
process's CPU); ``--profile`` adds cProfile's top functions (by CPU time) of every step;
``--statements`` adds each SQL statement's PostgreSQL backend CPU per SKU (from the backends'
``/proc/PID/schedstat``, nanoseconds: where pg_stat_statements is not loaded, as in the
embedded server). No queue: the pipeline's per-batch cost without its plumbing.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import json
import pstats
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis
from catalogue import environment, import_files, sku_key, write_files
from harness import bench_stack, machine, note, postgres_pid, table
from sqlalchemy import event, text

from shelfops_alerts.alerts import silences, statements
from shelfops_alerts.alerts.persist import persist_batch
from shelfops_alerts.config.settings import Settings
from shelfops_alerts.db import get_engine, session_factory
from shelfops_alerts.detect import history_inputs, input_statements
from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.detect.sku_pages import sku_spans
from shelfops_alerts.payloads.chain import read_batch, read_persisted
from shelfops_alerts.publish import changes
from shelfops_alerts.publish.changes import publish_committed
from shelfops_alerts.skus import Sku
from shelfops_alerts.stack.garbage import tune_collector

CUSTOMER = "bench"
#: As the persist and publish tasks read their messages (SHELFOPS_MAX_BATCH_SIZE default).
MAX_SKUS = 10_000
#: PostgreSQL's own processes, not counted as the statements' work.
_BACKGROUND = ("autovacuum", "checkpointer", "writer", "logical", "stats", "archiver")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument(
        "--history",
        action="store_true",
        help="28 days of past forecasts and a policy per SKU (every rule judges every SKU)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=Settings.batch_size,
        help="SKUs per batch (default: SHELFOPS_BATCH_SIZE's default, as a sweep runs)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile each step (this process's CPU time)"
    )
    parser.add_argument("--top", type=int, default=25, help="functions shown per step")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="each SQL statement's PostgreSQL backend CPU per SKU (from /proc schedstat)",
    )
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
    # This process's CPU time per step (the SQL's own is PostgreSQL's, not counted here):
    # what the machine's load does not change.
    cpu: dict[str, float] = defaultdict(float)

    # And PostgreSQL's backends' CPU time per step (sampled outside this process's count).
    pg_cpu: dict[str, float] = defaultdict(float)
    backends: list[psutil.Process] = []

    def backends_cpu() -> float:
        used = 0.0
        for proc in backends:
            with contextlib.suppress(psutil.Error):
                used += sum(proc.cpu_times()[:2])
        return used

    # With --statements: each statement's backends' CPU (ns) and calls, by its first words.
    statement_cpu: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    # With --profile: cProfile of each step, by this process's CPU time (not wall time,
    # which waits on PostgreSQL and on the machine's other jobs).
    profilers: dict[str, cProfile.Profile] = {}

    @contextlib.contextmanager
    def timed(step: str) -> Iterator[None]:
        profiler = None
        if args.profile:
            profiler = profilers.setdefault(step, cProfile.Profile(time.process_time))
        began_pg = backends_cpu()
        began, began_cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        try:
            yield
        finally:
            if profiler is not None:
                profiler.disable()
            spent[step] += time.perf_counter() - began
            cpu[step] += time.process_time() - began_cpu
            pg_cpu[step] += backends_cpu() - began_pg

    with bench_stack(0) as bench:
        import_files(environment(bench.env), {kind: folder / f"{kind}.csv" for kind in kinds})
        engine = get_engine(bench.settings)
        factory = session_factory(bench.settings)
        client = redis.Redis.from_url(bench.settings.redis_url.reveal())
        _time_queries(engine, spent)
        if args.statements:
            _backend_cpu_by_statement(engine, backends, statement_cpu)
        with factory() as session:  # the pool's connections, opened
            session.execute(text("SELECT 1"))
        backends.extend(
            proc
            for proc in psutil.Process(postgres_pid(bench)).children()
            if "postgres:" in " ".join(proc.cmdline())
            and not any(w in " ".join(proc.cmdline()) for w in _BACKGROUND)
        )
        # As a worker's pool process does once started (workers/app.py).
        gc.collect()
        gc.freeze()
        # As a sweep cuts them: spans of keys, each read by the check itself.
        with timed("cut spans (sweep)"):
            spans = list(sku_spans(factory, customer_id=CUSTOMER, page_size=args.batch_size))
        for span in spans:
            with factory() as session, timed("check (all)"):
                result = check_batch(session, customer_id=CUSTOMER, span=span, today=today)
            with timed("JSON hop check → persist"):
                hop = read_batch(json.loads(json.dumps(result.to_json())), max_skus=MAX_SKUS)
            with factory.begin() as session, timed("persist"):
                persisted = persist_batch(session, batch=hop)
            with timed("JSON hop persist → publish"):
                done = read_persisted(
                    json.loads(json.dumps(persisted.to_json())), max_skus=MAX_SKUS
                )
            with timed("publish"), factory.begin() as session:  # as the publish task does
                publish_committed(session, client, history_ids=done.history_ids)
    spent["rules and objects"] = spent["check (all)"] - sum(
        v for k, v in spent.items() if k.startswith("read ")
    )
    print(f"\nmachine: {machine()}; {args.skus:,} SKUs in {len(batches)} batches\n")
    print(
        table(
            [
                "step",
                "ms per batch",
                "µs per SKU",
                "this process's CPU µs per SKU",
                "PostgreSQL CPU µs per SKU",
            ],
            [
                [
                    step,
                    f"{s * 1e3 / len(batches):.1f}",
                    f"{s * 1e6 / args.skus:.1f}",
                    f"{cpu[step] * 1e6 / args.skus:.1f}" if step in cpu else "",
                    f"{pg_cpu[step] * 1e6 / args.skus:.1f}" if step in pg_cpu else "",
                ]
                for step, s in spent.items()
            ],
        )
    )
    if args.statements:
        print("\n## PostgreSQL backend CPU by statement (its first words)\n")
        ranked = sorted(statement_cpu.items(), key=lambda item: -item[1][0])
        print(
            table(
                ["statement", "calls", "µs per SKU"],
                [[label, calls, f"{ns / 1e3 / args.skus:.2f}"] for label, (ns, calls) in ranked],
            )
        )
    for step, profiler in profilers.items():
        print(f"\n## {step}: this process's CPU, top functions by own time")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


def _time_queries(engine, spent: dict[str, float]) -> None:
    """Add each read statement's time (by which query of batch_inputs it is) to ``spent``."""
    texts: dict[str, str] = {}
    for module in (input_statements, history_inputs, statements, changes, silences):
        short = module.__name__.rsplit(".", 1)[-1]
        for name, statement in vars(module).items():
            # (a PreparedStatement holds its text() statement: a batch larger than an
            # event's runs it as that plain statement)
            source = getattr(getattr(statement, "statement", statement), "text", None)
            if not isinstance(source, str) or not name.lstrip("_").isupper():
                continue
            if module in (input_statements, history_inputs):
                if name.lstrip("_").startswith("READ_"):
                    texts[source] = f"read {name.lstrip('_').removeprefix('READ_').lower()}"
            else:
                texts[source] = f"  sql {short}.{name}"
    starts: dict[int, float] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        starts[id(cursor)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        name = next((n for t, n in texts.items() if _same(t, statement)), None)
        if name is not None:
            spent[name] += time.perf_counter() - starts.pop(id(cursor))


def _backend_cpu_by_statement(
    engine, backends: list[psutil.Process], spent: dict[str, list[int]]
) -> None:
    """Add each statement's backends' CPU time (ns, from /proc/PID/schedstat: finer than
    psutil's clock ticks) and one call to ``spent``, keyed by its first 90 characters."""

    def used() -> int:
        total = 0
        for proc in backends:
            with contextlib.suppress(OSError):
                total += int(Path(f"/proc/{proc.pid}/schedstat").read_text().split()[0])
        return total

    starts: dict[int, int] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        starts[id(cursor)] = used()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        entry = spent[" ".join(statement.split())[:90]]
        entry[0] += used() - starts.pop(id(cursor))
        entry[1] += 1


def _same(source: str, compiled: str) -> bool:
    """Whether ``compiled`` (as the driver received it) is the ``text()`` ``source``: its
    ``:name`` parameters become ``%(name)s`` (a ``::`` cast stays), a ``%`` doubles."""
    as_sent = _PARAMETER.sub(r"%(\1)s", source.replace("%", "%%"))
    return as_sent.split() == compiled.split()


#: A bound parameter of a ``text()`` statement (not a ``::`` cast).
_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


if __name__ == "__main__":
    main()
