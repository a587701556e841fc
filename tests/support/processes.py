"""Finding processes a test started and must have stopped."""

from __future__ import annotations

from pathlib import Path

import psutil


def started_here(*places: Path) -> list[str]:
    """Processes working in, or naming on their command line, any of ``places``.

    Workers, beat and Flower run in the folder; PostgreSQL names its data folder (inside it)
    on its command line, even when it runs as another user; Redis rewrites its command line
    but runs in its data folder.
    """
    found = []
    for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        cwd = proc.info["cwd"] or ""
        if any(
            cwd == str(place) or cwd.startswith(f"{place}/") or str(place) in cmdline
            for place in places
        ):
            found.append(f"{proc.info['pid']} {cmdline}")
    return found
