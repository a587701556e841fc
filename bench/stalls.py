"""A watch on the machine itself, for telling the pipeline's slow events from the machine's.

One small process per CPU (pinned to it) does the same fixed piece of pure-Python work every
few milliseconds and notes how much CPU time each piece took. The piece is always the same
work, so when one takes many times its usual CPU time, that CPU did not run it at full speed
for a while: on a virtual machine, the host ran something else on it (a descheduled virtual
CPU goes on counting as running inside the guest, so neither the guest's steal column nor
its idle time shows it). A piece so slowed is a *stall* of that CPU; an event whose time
overlaps one met the machine, not the pipeline. The watchers cost about 4 % of each CPU.

Run alone (``python bench/stalls.py --seconds 20``) it prints the stalls it saw.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

#: Iterations of the fixed piece of work (about 0.3 ms of CPU here).
PIECE_LOOPS = 4000
#: Seconds between two pieces.
GAP_S = 0.008
#: A piece taking this many times the median CPU time of its watcher's pieces is a stall.
STALL_FACTOR = 4.0


def _piece() -> int:
    total = 0
    for i in range(PIECE_LOOPS):
        total += i * i
    return total


def watch(cpu: int, out: Path) -> None:
    """Pinned to ``cpu``, time pieces until SIGTERM; one line per piece: Unix start,
    wall ms, CPU ms."""
    os.sched_setaffinity(0, {cpu})
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    parent = os.getppid()
    lines = []
    # A watcher whose bench was killed outright stops by itself (it is adopted by another).
    while not stop["now"] and os.getppid() == parent:
        began, wall, used = time.time(), time.perf_counter(), time.thread_time()
        _piece()
        wall, used = time.perf_counter() - wall, time.thread_time() - used
        lines.append(f"{began:.6f},{wall * 1000:.3f},{used * 1000:.3f}\n")
        time.sleep(GAP_S)
    out.write_text("".join(lines))


class MachineStalls:
    """``with MachineStalls() as stalls:`` watches every CPU this process may use; after the
    block, :attr:`windows` holds each stall's (start, end) in Unix seconds."""

    def __init__(self) -> None:
        self.folder = Path()
        self.cpus = sorted(os.sched_getaffinity(0))
        self.windows: list[tuple[float, float]] = []
        self.slowest_factor = 0.0
        self._watchers: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> MachineStalls:
        self.folder = Path(tempfile.mkdtemp(prefix="shelfops-stalls-"))
        for cpu in self.cpus:
            self._watchers.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--cpu", str(cpu), "--out", self._file(cpu)]
                )
            )
        time.sleep(0.2)  # let them start before the measured work does
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for watcher in self._watchers:
            watcher.terminate()
        for watcher in self._watchers:
            watcher.wait(10)
        for cpu in self.cpus:
            path = Path(self._file(cpu))
            if not path.is_file():
                continue
            pieces = [tuple(map(float, line.split(","))) for line in path.read_text().split()]
            pieces = pieces[10:]  # a starting process's first pieces are slow anyway
            if not pieces:
                continue
            usual = statistics.median(used for _, _, used in pieces)
            for began, wall, used in pieces:
                factor = used / usual
                self.slowest_factor = max(self.slowest_factor, factor)
                if factor >= STALL_FACTOR:
                    self.windows.append((began, began + wall / 1000))
            path.unlink()
        self.windows.sort()
        self.folder.rmdir()

    def _file(self, cpu: int) -> str:
        return str(self.folder / f"cpu{cpu}.csv")

    def overlaps(self, start: float, end: float) -> bool:
        """Whether [start, end] (Unix seconds) overlaps a stall of any CPU."""
        return any(a < end and b > start for a, b in self.episodes())

    def episodes(self, apart_s: float = 0.05) -> list[tuple[float, float]]:
        """The stall windows merged when less than ``apart_s`` apart (all CPUs together): a
        stall is seen piece by piece, with the watchers' pauses between the pieces."""
        merged: list[tuple[float, float]] = []
        for start, end in self.windows:
            if merged and start - merged[-1][1] < apart_s:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cpu is not None:
        watch(args.cpu, args.out)
        return
    with MachineStalls() as stalls:
        time.sleep(args.seconds)
    episodes = stalls.episodes()
    print(
        f"{len(episodes)} stalls in {args.seconds:.0f} s on CPUs {stalls.cpus}"
        f" (a piece of work slowed {STALL_FACTOR:.0f}x or more;"
        f" the worst {stalls.slowest_factor:.0f}x)"
    )
    first = episodes[0][0] if episodes else 0.0
    for start, end in episodes:
        print(f"  at {start - first:7.3f} s for {(end - start) * 1000:5.0f} ms")


if __name__ == "__main__":
    main()
