"""How `dev` treats a process that dies: say so, restart it, and give up on a crash loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfops_alerts.stack.supervisor import (
    MAX_QUICK_FAILURES,
    GiveUp,
    Restarts,
    Supervisor,
    exit_description,
)


class FakeProcess:
    """A watched process whose death and restart the test decides."""

    def __init__(self, label: str = "alerts worker") -> None:
        self.label = label
        self.log = Path(".shelfops/logs/alerts.log")
        self.pids = iter(range(100, 200))
        self.current = next(self.pids)
        self.is_alive = True
        self.fail_to_start = False
        self.restarts = 0

    def pid(self) -> int:
        return self.current

    def alive(self) -> bool:
        return self.is_alive

    def ended_how(self) -> str:
        return "was killed by SIGKILL"

    def restart(self) -> None:
        self.restarts += 1
        if self.fail_to_start:
            raise RuntimeError("port in use")
        self.current, self.is_alive = next(self.pids), True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_process_that_ran_a_while_is_restarted_at_once_quick_deaths_back_off_then_stop():
    restarts = Restarts(quick_s=30, max_quick=5, backoff_s=1)
    assert restarts.after_exit(ran_for_s=600) == 0
    assert [restarts.after_exit(ran_for_s=2) for _ in range(4)] == [1, 2, 4, 8]
    assert restarts.after_exit(ran_for_s=2) is None
    # A long healthy run forgives the earlier quick deaths
    assert Restarts(quick_failures=4).after_exit(ran_for_s=600) == 0


def test_exit_descriptions():
    assert exit_description(-9) == "was killed by SIGKILL"
    assert exit_description(1) == "exited with code 1"
    assert exit_description(None) == "is gone"


def test_a_dead_process_is_reported_with_its_log_and_restarted_at_once():
    clock, worker, restarted = Clock(), FakeProcess(), []
    supervisor = Supervisor([worker], clock=clock, on_restart=lambda: restarted.append(1))
    clock.now += 600
    assert supervisor.check() == []
    # When the worker is killed after running ten minutes
    worker.is_alive = False
    lines = supervisor.check()
    # Then dev says which, how, and where its log is; and it is running again
    assert lines == [
        "! alerts worker (pid 100) was killed by SIGKILL; log: .shelfops/logs/alerts.log",
        "  restarting alerts worker now",
        "  alerts worker restarted (pid 101)",
    ]
    assert worker.alive() and restarted == [1]


def test_quick_deaths_wait_longer_each_time_and_the_others_are_still_watched():
    clock, worker, web = Clock(), FakeProcess(), FakeProcess("web service")
    supervisor = Supervisor([worker, web], clock=clock)
    worker.is_alive = False  # dies at once after its start
    lines = supervisor.check()
    assert lines[-1] == "  restarting alerts worker in 1 s" and worker.restarts == 0
    # While it waits, another process's death is still seen
    web.is_alive = False
    assert "! web service (pid 100) was killed by SIGKILL" in supervisor.check()[0]
    clock.now += 1
    assert "  alerts worker restarted (pid 101)" in supervisor.check()


def test_a_crash_loop_gives_up_naming_the_process_and_its_log():
    clock, worker = Clock(), FakeProcess()
    supervisor = Supervisor([worker], clock=clock)
    with pytest.raises(GiveUp) as stopped:
        for _ in range(20):
            worker.is_alive = False
            supervisor.check()
            clock.now += 10
            supervisor.check()
    assert worker.restarts == MAX_QUICK_FAILURES - 1
    assert "alerts worker died 5 times in a row" in str(stopped.value)
    assert ".shelfops/logs/alerts.log" in str(stopped.value)


def test_a_process_that_cannot_start_again_counts_as_a_quick_death():
    clock, worker = Clock(), FakeProcess()
    supervisor = Supervisor([worker], clock=clock)
    clock.now += 600
    worker.is_alive, worker.fail_to_start = False, True
    lines = supervisor.check()
    assert lines[-2:] == [
        "! alerts worker did not start again: port in use",
        "  restarting alerts worker in 1 s",
    ]
    with pytest.raises(GiveUp):
        for _ in range(10):
            clock.now += 10
            supervisor.check()
