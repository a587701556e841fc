"""What a killed `dev` left running is found from its record and stopped, and nothing else is.

Real processes stand in for the stack (``sleep`` under the names dev gives them), started
in their own sessions as ``dev`` starts its children; no server is needed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from shelfops_alerts.stack import orphans


@pytest.fixture()
def spawned() -> Iterator[list[subprocess.Popen]]:
    """Processes a test starts; whatever is left of them is killed afterwards."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def spawn(spawned: list, command: list[str], **kwargs) -> subprocess.Popen:
    process = subprocess.Popen(command, start_new_session=True, **kwargs)
    spawned.append(process)
    return process


def gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def record(path: Path, dev: subprocess.Popen | None, **named: subprocess.Popen) -> None:
    time.sleep(0.1)  # let each exec finish, so the recorded command line is the final one
    orphans.write_state(
        path,
        dev and orphans.Recorded.of("dev", dev.pid),
        [orphans.Recorded.of(name, p.pid) for name, p in named.items()],
    )


def test_a_killed_devs_children_are_stopped_with_their_process_groups(tmp_path, spawned):
    # Given a dev that started a worker (with a pool child of its own) and beat, then was
    # killed outright
    dev = spawn(spawned, ["sleep", "60"])
    worker = spawn(spawned, ["sh", "-c", "sleep 60 & wait"])
    beat = spawn(spawned, ["sleep", "61"])
    state = tmp_path / "stack.json"
    record(state, dev, **{"alerts worker": worker, "beat": beat})
    [pool_child] = psutil.Process(worker.pid).children()
    dev.kill()
    dev.wait(5)
    assert orphans.running_dev(state) is None
    # When the next dev looks for what was left
    lines = orphans.stop_leftovers(state, redis_folder=tmp_path / "redis", grace_s=5)
    # Then it names each process it stopped, and the worker's pool child went with it
    assert sorted(lines) == [
        f"stopped alerts worker (pid {worker.pid}), left running by a killed dev",
        f"stopped beat (pid {beat.pid}), left running by a killed dev",
    ]
    assert gone(worker.pid) and gone(beat.pid) and gone(pool_child.pid)


def test_while_its_dev_runs_nothing_is_a_leftover(tmp_path, spawned):
    # Given a dev that still runs, and its worker
    dev = spawn(spawned, ["sleep", "60"])
    worker = spawn(spawned, ["sleep", "61"])
    state = tmp_path / "stack.json"
    record(state, dev, **{"alerts worker": worker})
    # Then a second dev is told which dev runs, and would stop nothing
    assert orphans.running_dev(state) == dev.pid
    assert orphans.stop_leftovers(state, redis_folder=tmp_path / "redis") == []
    assert worker.poll() is None


def test_a_pid_given_to_another_program_is_left_alone(tmp_path, spawned):
    # Given a record whose worker pid now runs something else (another command line)
    stranger = spawn(spawned, ["sleep", "62"])
    state = tmp_path / "stack.json"
    time.sleep(0.1)
    mine = orphans.Recorded.of("alerts worker", stranger.pid)
    assert mine is not None
    reused = orphans.Recorded(mine.name, mine.pid, mine.started, ("celery", "-A", "workers"))
    orphans.write_state(state, None, [reused])
    # When the next dev stops what was left
    assert orphans.stop_leftovers(state, redis_folder=tmp_path / "redis") == []
    # Then the other program still runs
    assert stranger.poll() is None


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path, spawned):
    stubborn = spawn(spawned, ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"])
    state = tmp_path / "stack.json"
    record(state, None, flower=stubborn)
    started = time.monotonic()
    lines = orphans.stop_leftovers(state, redis_folder=tmp_path / "redis", grace_s=0.5)
    assert lines == [f"stopped flower (pid {stubborn.pid}), left running by a killed dev"]
    assert gone(stubborn.pid) and time.monotonic() - started < 5


def test_redis_is_found_by_its_data_folder_even_without_a_record(tmp_path, spawned):
    # Given a program named redis-server running in this folder's Redis data folder (dev was
    # killed before it could record it), and one running in another folder
    binary = tmp_path / "bin" / "redis-server"
    binary.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", binary)
    ours, theirs = tmp_path / "redis", tmp_path / "elsewhere"
    ours.mkdir()
    theirs.mkdir()
    mine = spawn(spawned, [str(binary), "60"], cwd=ours)
    other = spawn(spawned, [str(binary), "60"], cwd=theirs)
    time.sleep(0.1)
    # When the next dev stops what was left (its record is missing)
    lines = orphans.stop_leftovers(tmp_path / "stack.json", redis_folder=ours)
    # Then only this folder's Redis is stopped
    assert lines == [f"stopped Redis (pid {mine.pid}), left running by a killed dev"]
    assert gone(mine.pid) and other.poll() is None


def test_a_damaged_record_is_read_as_no_record(tmp_path):
    state = tmp_path / "stack.json"
    state.write_text("{not json")
    assert orphans.read_state(state) == (None, [])
    assert orphans.running_dev(state) is None
