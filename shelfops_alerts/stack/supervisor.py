"""Watching what ``dev`` started: a process that dies is reported and started again.

``dev`` polls :meth:`Supervisor.check` between the alert changes it prints. Each watched
thing (a worker, beat, Flower, the web service, the embedded Redis and PostgreSQL) that is
found dead is reported at once — which one, how it ended, where its log is — and restarted:
at once after a healthy run, then after 1, 2, 4, 8 s if it keeps dying within
:data:`QUICK_S` of each start. At the :data:`MAX_QUICK_FAILURES`-th quick failure in a row
:class:`GiveUp` is raised and ``dev`` stops everything: a crash loop is a broken setting or
a bug that restarting will not fix, and a stack running without one of its parts would only
look healthy (the reason this module exists).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shelfops_alerts.stack.embedded import EmbeddedPostgres, EmbeddedRedis
from shelfops_alerts.stack.processes import ServiceProcess

#: A process that dies sooner than this after it started has failed "quickly".
QUICK_S = 30.0
#: Quick failures in a row after which ``dev`` gives up.
MAX_QUICK_FAILURES = 5
#: Wait before the restart after the first quick failure; doubles with each one.
BACKOFF_S = 1.0


class GiveUp(RuntimeError):
    """A watched process keeps dying; the message says which, and where its log is."""


@dataclass
class Restarts:
    """The crash-loop guard of one watched process (pure: times in, decisions out)."""

    quick_s: float = QUICK_S
    max_quick: int = MAX_QUICK_FAILURES
    backoff_s: float = BACKOFF_S
    quick_failures: int = 0

    def after_exit(self, ran_for_s: float) -> float | None:
        """Seconds to wait before restarting a process that ran ``ran_for_s``; None: give up."""
        if ran_for_s >= self.quick_s:
            self.quick_failures = 0
            return 0.0
        self.quick_failures += 1
        if self.quick_failures >= self.max_quick:
            return None
        return float(self.backoff_s * 2 ** (self.quick_failures - 1))


class Watched(Protocol):
    """What the supervisor needs of a process: is it alive, how did it end, start it again."""

    label: str
    log: Path

    def pid(self) -> int | None: ...

    def alive(self) -> bool: ...

    def ended_how(self) -> str: ...

    def restart(self) -> None: ...


def exit_description(code: int | None) -> str:
    """``exited with code 1`` / ``was killed by SIGKILL`` / ``is gone``."""
    if code is None:
        return "is gone"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class ServiceWatch:
    """A worker, beat, Flower or the web service (a child of ``dev``)."""

    def __init__(self, service: ServiceProcess, label: str) -> None:
        self.service, self.label, self.log = service, label, service.log_path

    def pid(self) -> int | None:
        return self.service.pid if self.service.process is not None else None

    def alive(self) -> bool:
        return self.service.running()

    def ended_how(self) -> str:
        return exit_description(self.service.exit_code())

    def restart(self) -> None:
        self.service.kill()  # what is left of its process group (a worker's pool children)
        self.service.start()


class RedisWatch:
    """The embedded Redis (a child of ``dev``); restarted on the same port and data, so every
    client reconnects to the same URL and finds the queues as Redis last wrote them."""

    label = "Redis"

    def __init__(self, redis: EmbeddedRedis) -> None:
        self.redis, self.log = redis, redis.folder / "redis.log"

    def pid(self) -> int | None:
        return self.redis.process.pid if self.redis.process is not None else None

    def alive(self) -> bool:
        return self.redis.process is not None and self.redis.process.poll() is None

    def ended_how(self) -> str:
        process = self.redis.process
        return exit_description(None if process is None else process.poll())

    def restart(self) -> None:
        self.redis.start()


class PostgresWatch:
    """The embedded PostgreSQL (not a child of ``dev``: pg_ctl starts it in the background)."""

    label = "PostgreSQL"

    def __init__(self, postgres: EmbeddedPostgres) -> None:
        self.postgres, self.log = postgres, postgres.folder / "log"

    def pid(self) -> int | None:
        return self.postgres.pid()

    def alive(self) -> bool:
        return self.postgres.running()

    def ended_how(self) -> str:
        return "is gone"

    def restart(self) -> None:
        self.postgres.restart()


@dataclass
class _State:
    started: float
    restarts: Restarts = field(default_factory=Restarts)
    #: When a restart is due (a backoff is running); None while the process runs.
    restart_at: float | None = None


class Supervisor:
    """Checks the watched processes; say what happened, restart, or give up."""

    def __init__(
        self,
        watched: Iterable[Watched],
        *,
        on_restart: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.on_restart = on_restart
        self.watched = list(watched)
        self.states = {id(item): _State(started=clock()) for item in self.watched}

    def check(self) -> list[str]:
        """Lines to print about what died or came back since the last check; raises
        :class:`GiveUp` when something keeps dying."""
        lines: list[str] = []
        for item in self.watched:
            state = self.states[id(item)]
            if state.restart_at is None:
                if item.alive():
                    continue
                ended = f"{item.label} (pid {item.pid()}) {item.ended_how()}"
                lines.append(f"! {ended}; log: {item.log}")
                self._schedule(item, state, lines)
            if state.restart_at is not None and self.clock() >= state.restart_at:
                self._restart(item, state, lines)
        return lines

    def _schedule(self, item: Watched, state: _State, lines: list[str]) -> None:
        wait = state.restarts.after_exit(self.clock() - state.started)
        if wait is None:
            raise GiveUp(
                f"{item.label} died {state.restarts.max_quick} times in a row within"
                f" {state.restarts.quick_s:g} s of starting; see its log: {item.log}"
            )
        state.restart_at = self.clock() + wait
        lines.append(f"  restarting {item.label} " + (f"in {wait:g} s" if wait else "now"))

    def _restart(self, item: Watched, state: _State, lines: list[str]) -> None:
        state.started, state.restart_at = self.clock(), None
        try:
            item.restart()
        except Exception as exc:  # any failure to start counts as a quick death
            lines.append(f"! {item.label} did not start again: {exc}")
            self._schedule(item, state, lines)
            return
        lines.append(f"  {item.label} restarted (pid {item.pid()})")
        self.on_restart()
