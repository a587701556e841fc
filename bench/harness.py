"""What both benchmarks share: an embedded stack, worker processes, RSS sampling, a table.

Benchmarks are run by hand (``python bench/sweep.py --skus 100000``); they start their own
PostgreSQL, Redis and ``celery -A workers`` processes under a temporary folder and stop
them at the end, so they never touch a developer's data.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from shelfops_alerts import migrate
from shelfops_alerts.config import Settings, load_settings
from shelfops_alerts.db import dispose_engines
from shelfops_alerts.stack import processes
from shelfops_alerts.stack.embedded import EmbeddedStack

#: Seconds between two RSS samples of the worker processes.
RSS_SAMPLE_S = 0.2


@dataclass
class Bench:
    """A running stack with K alerts workers (one process each, plus its pool child)."""

    folder: Path
    stack: EmbeddedStack
    env: dict[str, str]
    settings: Settings
    workers: list[processes.ServiceProcess] = field(default_factory=list)


@contextmanager
def bench_stack(workers: int, **extra_env: str) -> Iterator[Bench]:
    """Start PostgreSQL, Redis (migrated) and ``workers`` alerts worker processes."""
    folder = Path(tempfile.mkdtemp(prefix="shelfops-bench-"))
    stack = EmbeddedStack(folder).start()
    started: list[processes.ServiceProcess] = []
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")},
            **stack.environment(),
            "SHELFOPS_EMAIL_BACKEND": "file",
            "SHELFOPS_OUTBOX_DIR": str(folder / "outbox"),
            **extra_env,
        }
        settings = load_settings(env)
        migrate.upgrade(settings)
        for n in range(workers):
            started.append(
                processes.worker(
                    name=f"bench{n + 1}",
                    queues="alerts",
                    concurrency=1,
                    env=env,
                    log_dir=folder / "logs",
                ).start()
            )
        processes.wait_for_workers(settings.redis_url.reveal(), [w.name for w in started])
        yield Bench(folder, stack, env, settings, started)
    finally:
        for worker in started:
            worker.stop(grace_s=10)
        dispose_engines()
        stack.stop()
        keep = os.environ.get("BENCH_KEEP_LOGS")
        if keep and (folder / "logs").is_dir():
            # For profiling: each task's "succeeded in" time is in the worker logs.
            shutil.copytree(folder / "logs", keep, dirs_exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


class RssSampler:
    """Peak resident memory of each worker process and its pool children, sampled."""

    def __init__(self, workers: Sequence[processes.ServiceProcess]) -> None:
        self.workers = workers
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(RSS_SAMPLE_S)

    def sample(self) -> None:
        for worker in self.workers:
            try:
                main = psutil.Process(worker.pid)
                family = [("main", main)] + [
                    (f"child {n}", child) for n, child in enumerate(main.children(), start=1)
                ]
                for role, proc in family:
                    key = f"{worker.name} {role}"
                    self.peak[key] = max(self.peak.get(key, 0), proc.memory_info().rss)
            except psutil.Error:
                continue


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process and all its descendants have used so far,
    exited ones included (as far as they were waited for)."""
    try:
        root = psutil.Process(pid)
        total = sum(root.cpu_times()[:4])
        for child in root.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.Error:
                continue
        return float(total)
    except psutil.Error:
        return 0.0


def postgres_pid(bench: Bench) -> int:
    """The postmaster of the bench's PostgreSQL (first line of postmaster.pid)."""
    pid_file = bench.stack.postgres.folder / "postmaster.pid"
    return int(pid_file.read_text().split()[0])


class CpuMeter:
    """CPU seconds used during a ``with`` block by the workers and by PostgreSQL (its
    backends, and its own autovacuum and background processes apart): a measure of the work
    done that does not depend on how busy the machine is otherwise. Processes are sampled
    every 0.2 s, so one that starts and ends between two samples is missed."""

    def __init__(self, bench: Bench) -> None:
        self.roots = {"workers": [w.pid for w in bench.workers], "postgres": [postgres_pid(bench)]}
        self._first: dict[int, tuple[str, float]] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for group, roots in self.roots.items():
            for root in roots:
                try:
                    family = [psutil.Process(root)]
                    family += family[0].children(recursive=True)
                except psutil.Error:
                    continue
                for proc in family:
                    try:
                        used = sum(proc.cpu_times()[:2])
                        kind = group
                        if group == "postgres":
                            title = " ".join(proc.cmdline())
                            kind = (
                                "postgres autovacuum"
                                if "autovacuum" in title
                                else (
                                    "postgres backends"
                                    if "postgres:" in title
                                    and "@" not in title
                                    and any(
                                        w in title
                                        for w in (
                                            "idle",
                                            "SELECT",
                                            "INSERT",
                                            "UPDATE",
                                            "COMMIT",
                                            "BEGIN",
                                            "shelfops",
                                        )
                                    )
                                    else "postgres other"
                                )
                            )
                        self._first.setdefault(proc.pid, (kind, used))
                        self._last[proc.pid] = (kind, used)
                    except psutil.Error:
                        continue

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds: dict[str, float] = {}
        for pid, (kind, used) in self._last.items():
            self.seconds[kind] = self.seconds.get(kind, 0.0) + used - self._first[pid][1]


def machine() -> str:
    """One line describing this machine, for the README's performance section."""
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores,"
        f" {memory:.0f} GiB RAM, {platform.system()} {platform.release()},"
        f" Python {platform.python_version()}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, ready to paste into the README."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


class Timer:
    """Wall-clock seconds of a ``with`` block."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
