"""What a killed ``dev`` left running, and stopping it before a new ``dev`` starts.

While ``dev`` runs, ``.shelfops/stack.json`` records its own pid and those of the processes
it started (workers, beat, Flower, the web service, Redis), each with its start time and
command line. A ``dev`` killed outright (SIGKILL, out of memory) cannot stop them; the next
``dev`` in the folder finds them there and stops them first (SIGTERM to each process group,
SIGKILL after a grace period), so there is never a second Redis, a second beat or a worker
of the old stack next to the new one.

A process counts as ours only if its pid, start time and command line are all as recorded
(a pid the system has since given to another program is left alone). Redis is also found
without the record, by its name and working folder (``redis-server`` runs in its data
folder, ``.shelfops/redis``; it rewrites its command line, so that is no help). PostgreSQL is
not stopped but taken over: only one server can run on a data folder, and the new ``dev``
connects to it (see ``EmbeddedPostgres.adopted``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

# psutil comes with the embedded extra (as the servers dev runs do): imported where it is
# used, so a production install (no extras) still imports every module.
if TYPE_CHECKING:
    import psutil

#: Seconds an old process gets to stop after SIGTERM before it is killed.
GRACE_S = 10.0


@dataclass(frozen=True)
class Recorded:
    """A process as ``dev`` recorded it."""

    name: str
    pid: int
    started: float
    cmdline: tuple[str, ...]

    @classmethod
    def of(cls, name: str, pid: int) -> Recorded | None:
        import psutil

        try:
            process = psutil.Process(pid)
            return cls(name, pid, process.create_time(), tuple(process.cmdline()))
        except psutil.Error:
            return None

    def find(self) -> psutil.Process | None:
        """The recorded process, if it still runs (same pid, start time and command line)."""
        import psutil

        try:
            process = psutil.Process(self.pid)
            same = (
                abs(process.create_time() - self.started) < 0.01
                and tuple(process.cmdline()) == self.cmdline
            )
            alive = process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return None
        return process if same and alive else None


def write_state(path: Path, dev: Recorded | None, started: list[Recorded]) -> None:
    """Record ``dev`` and what it started (replaced as a whole, on every change)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"dev": dev and asdict(dev), "processes": [asdict(r) for r in started if r]}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=1))
    temporary.replace(path)


def read_state(path: Path) -> tuple[Recorded | None, list[Recorded]]:
    try:
        state = json.loads(path.read_text())
        dev = state.get("dev")
        return (
            _recorded(dev) if dev else None,
            [_recorded(item) for item in state.get("processes", [])],
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None, []


def _recorded(item: dict[str, object]) -> Recorded:
    return Recorded(
        str(item["name"]),
        int(item["pid"]),  # type: ignore[call-overload]
        float(item["started"]),  # type: ignore[arg-type]
        tuple(item["cmdline"]),  # type: ignore[arg-type]
    )


def running_dev(path: Path) -> int | None:
    """The pid of the ``dev`` recorded in ``path`` if it still runs."""
    dev, _ = read_state(path)
    return dev.pid if dev is not None and dev.find() is not None else None


def leftovers(path: Path, *, redis_folder: Path) -> list[tuple[str, psutil.Process]]:
    """What a ``dev`` that no longer runs left running: (name, process), Redis last."""
    import psutil

    dev, recorded = read_state(path)
    if dev is not None and dev.find() is not None:
        return []  # not left over: their dev still runs
    found = [(item.name, process) for item in recorded if (process := item.find()) is not None]
    known = {process.pid for _, process in found}
    data = str(redis_folder.resolve())
    for process in psutil.process_iter(["name", "cwd"]):
        ours = process.info["name"] == "redis-server" and process.info["cwd"] == data
        if ours and process.pid not in known:
            found.append(("Redis", process))
    return sorted(found, key=lambda item: item[0] == "Redis")


def stop_leftovers(path: Path, *, redis_folder: Path, grace_s: float = GRACE_S) -> list[str]:
    """Stop what :func:`leftovers` finds (the children first, then Redis); one line for each."""
    import psutil

    lines = []
    found = leftovers(path, redis_folder=redis_folder)
    for group in ([p for p in found if p[0] != "Redis"], [p for p in found if p[0] == "Redis"]):
        for _, process in group:
            _signal(process, signal.SIGTERM)
        _, alive = psutil.wait_procs([process for _, process in group], timeout=grace_s)
        for process in alive:
            _signal(process, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=grace_s)
        lines += [
            f"stopped {name} (pid {process.pid}), left running by a killed dev"
            for name, process in group
        ]
    return lines


def _signal(process: psutil.Process, signum: int) -> None:
    """Signal the process's whole group when it leads one (a worker and its pool children),
    else the process alone."""
    import psutil

    with contextlib.suppress(ProcessLookupError, psutil.Error):
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
