"""Stalling a real server for a moment (SIGSTOP, then SIGCONT), as a frozen VM or a
stuck disk would: its sockets stay open, nothing answers."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from shelfops_alerts.stack.embedded import EmbeddedStack


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def postgres_pids(stack: EmbeddedStack) -> list[int]:
    """The postmaster and every process it forked (backends, background workers)."""
    postmaster = int(stack.postgres.server.get_postmaster_info().pid)
    return [postmaster, *_children(postmaster)]


def _continue(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def stopped(pids: list[int], *, at_most_s: float = 10.0) -> Iterator[None]:
    """Every process in ``pids`` stopped (SIGSTOP) inside the block, continued after it, or
    after ``at_most_s`` whatever the block does (so code that would hang on the stalled
    server, the fault a test looks for, resumes and the test fails instead of hanging)."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    timer = threading.Timer(at_most_s, _continue, args=(pids,))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        _continue(pids)
