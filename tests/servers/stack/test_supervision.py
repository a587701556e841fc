"""`dev`'s supervisor on real child processes: a death is reported as it happened, the
restart leaves nothing of the old process behind, and a crash loop ends in GiveUp.

The processes are real (``sh``, started as ``dev`` starts its services); only the
supervisor's clock is the test's, so the back-off waits take no time.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from shelfops_alerts.stack.processes import ServiceProcess
from shelfops_alerts.stack.supervisor import MAX_QUICK_FAILURES, GiveUp, ServiceWatch, Supervisor
from tests.support.waiting import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def services() -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for service in started:
        service.kill()


def service(services: list, tmp_path: Path, script: str) -> ServiceProcess:
    process = ServiceProcess(
        name="alerts", args=["sh", "-c", script], env=dict(os.environ), log_path=tmp_path / "a.log"
    ).start()
    services.append(process)
    return process


def dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_killed_worker_is_reported_and_restarted_without_its_old_pool(tmp_path, services):
    # Given a worker with a pool child, watched for ten minutes
    clock = Clock()
    worker = service(services, tmp_path, "sleep 60 & wait")
    [pool_child] = wait_until(lambda: psutil.Process(worker.pid).children(), 5, "pool child")
    supervisor = Supervisor([ServiceWatch(worker, "alerts worker")], clock=clock)
    clock.now += 600
    # When its main process is killed outright (its pool child lives on)
    old = worker.pid
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: not worker.running(), 5, "the worker to die")
    lines = supervisor.check()
    # Then dev says which, how and where its log is; the new worker runs, the old pool is gone
    assert lines == [
        f"! alerts worker (pid {old}) was killed by SIGKILL; log: {tmp_path / 'a.log'}",
        "  restarting alerts worker now",
        f"  alerts worker restarted (pid {worker.pid})",
    ]
    assert worker.pid != old and worker.running()
    assert wait_until(lambda: dead(pool_child.pid), 5, "the old pool child to go")


def test_a_service_that_keeps_exiting_at_start_is_given_up_on_with_its_log(tmp_path, services):
    # Given a service that exits with code 3 as soon as it starts (a bad setting)
    clock = Clock()
    broken = service(services, tmp_path, "echo 'bad setting' >&2; exit 3")
    supervisor = Supervisor([ServiceWatch(broken, "alerts worker")], clock=clock)
    said: list[str] = []
    # When dev keeps checking, its clock running on
    with pytest.raises(GiveUp) as stopped:
        for _ in range(4 * MAX_QUICK_FAILURES):
            wait_until(lambda: not broken.running(), 5, "the service to exit")
            said += supervisor.check()
            clock.now += 10
            said += supervisor.check()
    # Then each death was reported with its exit code, the waits grew, and at the fifth
    # quick death dev gave up, naming the service and its log (where the service said why)
    deaths = [line for line in said if line.startswith("! alerts worker")]
    assert len(deaths) == MAX_QUICK_FAILURES - 1
    assert all("exited with code 3" in line for line in deaths)
    assert [ln.strip() for ln in said if "restarting" in ln] == [
        "restarting alerts worker in 1 s",
        "restarting alerts worker in 2 s",
        "restarting alerts worker in 4 s",
        "restarting alerts worker in 8 s",
    ]
    assert str(tmp_path / "a.log") in str(stopped.value)
    assert "died 5 times in a row" in str(stopped.value)
    assert "bad setting" in (tmp_path / "a.log").read_text()
