"""Synthetic SKUs for the benchmarks, written as the CSV files a user imports.

Realistic enough to exercise every path: 500 products per store; demand levels mixed (30 %
slow movers at 0.2-2 units/day, 50 % at 2-20, 20 % fast at 20-200), a weekly pattern on a
14-day forecast, 28 days of sales, and stock for 7-60 days of cover except a few percent at
risk (under 3 days, some at zero). ``past_days`` adds the forecasts a daily forecasting job
leaves for the days before today (so the anomaly and accuracy rules judge every SKU);
``policies`` gives every SKU a replenishment policy (so the reorder rule judges it).

:func:`write_files` writes the files; :func:`import_files` loads them with
``shelfops-alerts import`` (the command a user runs, one process per file), so the
benchmarks measure the product as a user meets it: no hand-made COPY, no manual VACUUM.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from harness import note

PRODUCTS_PER_STORE = 500
FORECAST_DAYS = 14
SALES_DAYS = 28
#: Share of SKUs whose stock lasts under 3 days (so they are alerted).
AT_RISK = 0.04
WEEKLY = (1.0, 0.9, 0.9, 1.0, 1.1, 1.3, 1.2)
#: SKUs generated between two writes of the files.
CHUNK = 10_000
#: The order in which a user imports the files (stock first, forecasts, then the rest).
KINDS = ("inventory", "forecasts", "sales", "policies")
HEADERS = {
    "inventory": "customer_id,store_id,product_id,on_hand\n",
    "forecasts": "customer_id,store_id,product_id,date,forecasted_demand\n",
    "sales": "customer_id,store_id,product_id,date,units\n",
    "policies": "customer_id,store_id,product_id,lead_time_days\n",
}


def sku_key(n: int) -> tuple[str, str]:
    """The store and product of the catalogue's n-th SKU (in key order)."""
    return f"ST{n // PRODUCTS_PER_STORE:05d}", f"PR{n % PRODUCTS_PER_STORE:04d}"


def _demand(rng: random.Random) -> float:
    draw_ = rng.random()
    if draw_ < 0.3:
        return rng.uniform(0.2, 2.0)
    if draw_ < 0.8:
        return rng.uniform(2.0, 20.0)
    return rng.uniform(20.0, 200.0)


def _on_hand(rng: random.Random, demand: float) -> float:
    if rng.random() < AT_RISK:
        return 0.0 if rng.random() < 0.1 else round(demand * rng.uniform(0.05, 2.95), 1)
    return round(demand * rng.uniform(7.0, 60.0), 1)


def kept_files(
    base: Path | None, name: str, kinds: tuple[str, ...], **catalogue: Any
) -> dict[str, Path]:
    """The catalogue's files ``kinds`` in ``base/name`` (a new temporary folder if ``base`` is
    None), written by :func:`write_files` with ``catalogue`` unless all are there already
    (``--files DIR``: the next run reuses them); returns kind → path."""
    folder = (base or Path(tempfile.mkdtemp(prefix="shelfops-bench-files-"))) / name
    paths = {kind: folder / f"{kind}.csv" for kind in kinds}
    if all(path.exists() for path in paths.values()):
        return paths
    note(f"writing {catalogue['skus']:,} SKUs to {folder} ...")
    return write_files(folder, only=kinds, **catalogue)


def write_files(
    folder: Path,
    *,
    customer_id: str,
    skus: int,
    today: dt.date,
    seed: int = 5,
    past_days: int = 0,
    policies: bool = False,
    forecast_days: int = FORECAST_DAYS,
    only: tuple[str, ...] = KINDS,
) -> dict[str, Path]:
    """Write the catalogue's CSV files into ``folder``; returns kind → path (import order).

    ``forecast_days`` from today (plus ``past_days`` before it); ``only`` limits the files.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = [kind for kind in KINDS if (kind != "policies" or policies) and kind in only]
    paths = {kind: folder / f"{kind}.csv" for kind in kinds}
    files = {
        kind: open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
        for kind, path in paths.items()
    }
    forecast_dates = [today + dt.timedelta(days=d) for d in range(-past_days, forecast_days)]
    sales_days = [today - dt.timedelta(days=d) for d in range(SALES_DAYS, 0, -1)]
    try:
        for kind, out in files.items():
            out.write(HEADERS[kind])
        for start in range(0, skus, CHUNK):
            parts: dict[str, list[str]] = {kind: [] for kind in kinds}
            for n in range(start, min(start + CHUNK, skus)):
                store, product = sku_key(n)
                key = f"{customer_id},{store},{product}"
                demand = _demand(rng)
                on_hand = _on_hand(rng, demand)  # (drawn whether written or not: same data)
                if "inventory" in parts:
                    parts["inventory"].append(f"{key},{on_hand}\n")
                if "forecasts" in parts:
                    for date in forecast_dates:
                        value = demand * WEEKLY[date.weekday()]
                        parts["forecasts"].append(f"{key},{date.isoformat()},{value:.3f}\n")
                for date in sales_days:
                    units = max(0, round(demand * WEEKLY[date.weekday()] * rng.uniform(0.6, 1.4)))
                    if "sales" in parts:
                        parts["sales"].append(f"{key},{date.isoformat()},{units}\n")
                if policies:
                    lead_time = rng.choice((2, 3, 5, 7, 10))
                    if "policies" in parts:
                        parts["policies"].append(f"{key},{lead_time}\n")
            for kind, lines in parts.items():
                files[kind].write("".join(lines))
    finally:
        for out in files.values():
            out.close()
    return paths


@dataclass(frozen=True)
class Imported:
    """One ``shelfops-alerts import`` run: rows, seconds, the process's peak RSS, and the CPU
    seconds of the import process, of its PostgreSQL backend and of the whole server (the
    backend plus the WAL writer, checkpointer...; None when no server pid was given)."""

    kind: str
    rows: int
    seconds: float
    peak_rss: int
    size: int
    cpu: float = 0.0
    backend_cpu: float | None = None
    server_cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def _server_cpu(postmaster: psutil.Process) -> float:
    """CPU seconds of the server so far: the postmaster, its live children and those gone."""
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        with contextlib.suppress(psutil.Error):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    return total


def _backends(postmaster: psutil.Process, seen: dict[int, float]) -> None:
    """Note the CPU seconds of each client backend (``postgres: user db ...``) now running."""
    for child in postmaster.children():
        with contextlib.suppress(psutil.Error):
            title = " ".join(child.cmdline())
            if child.pid in seen or "[local]" in title or "(" in title:
                times = child.cpu_times()
                seen[child.pid] = times.user + times.system


def cli_import(
    env: dict[str, str], kind: str, path: Path, *, postgres_pid: int | None = None
) -> Imported:
    """Run ``shelfops-alerts import KIND PATH`` as a user does; time it and sample its RSS
    (and, given the server's pid, the CPU its backend and the whole server spent)."""
    postmaster = psutil.Process(postgres_pid) if postgres_pid else None
    backends: dict[int, float] = {}
    before = {child.pid for child in postmaster.children()} if postmaster else set()
    server_before = _server_cpu(postmaster) if postmaster else 0.0
    command = [
        str(Path(sys.executable).with_name("shelfops-alerts")),
        "import",
        kind,
        str(path),
        "--json",
    ]
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    peak = 0
    while True:
        # wait4 gives the finished process's own CPU time (psutil cannot after it exits)
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            break
        with contextlib.suppress(psutil.Error):
            peak = max(peak, watched.memory_info().rss)
        if postmaster is not None:
            _backends(postmaster, backends)
        time.sleep(0.05)
    seconds = time.perf_counter() - began
    out = process.stdout.read() if process.stdout else ""
    backend_cpu = server_cpu = None
    if postmaster is not None:
        time.sleep(0.2)  # let the backend exit (the postmaster then counts it as reaped)
        server_cpu = _server_cpu(postmaster) - server_before
        backend_cpu = sum(cpu for pid, cpu in backends.items() if pid not in before)
    if process.returncode != 0:
        raise SystemExit(f"import {kind} failed ({process.returncode}): {out}")
    rows = int(json.loads(out)["rows"])
    return Imported(
        kind,
        rows,
        seconds,
        peak,
        path.stat().st_size,
        cpu=usage.ru_utime + usage.ru_stime,
        backend_cpu=backend_cpu,
        server_cpu=server_cpu,
    )


def import_files(env: dict[str, str], paths: dict[str, Path]) -> list[Imported]:
    """Import every file with the CLI, in the order a user would."""
    done = []
    for kind, path in paths.items():
        done.append(cli_import(env, kind, path))
        print(
            f"imported {kind}: {done[-1].rows:,} rows in {done[-1].seconds:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return done


def environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment with ``extra`` on top (the stack's settings)."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")}, **extra}
