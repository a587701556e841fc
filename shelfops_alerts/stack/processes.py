"""Starting and stopping the service's own processes: Celery workers, beat, Flower, web.

``shelfops-alerts dev`` and the integration tests both use this, so the processes they run
are exactly those an operator runs: ``celery -A workers …`` with the same settings.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds a process gets to stop after SIGTERM before it is killed.
STOP_GRACE_S = 15.0
#: Tasks Flower keeps in memory and lists (its default is 100,000): the newest ones, so the
#: list stays quick to load and Flower's memory bounded.
FLOWER_MAX_TASKS = 10_000


@dataclass
class ServiceProcess:
    """One child process with its log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            self.args,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches only the parent
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_code(self) -> int | None:
        """How the process ended (negative: killed by that signal); None while it runs."""
        return None if self.process is None else self.process.poll()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM (a Celery warm shutdown), then SIGKILL the whole group after ``grace_s``."""
        if not self.running():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the process and its children (a crash, as tests simulate)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def celery_command(*args: str, quiet: bool = False) -> list[str]:
    """``celery -A workers ARGS``; ``quiet`` leaves out the start-up banner (not a log line)."""
    return [sys.executable, "-m", "celery", "-A", "workers", *(["-q"] if quiet else []), *args]


def _json_logs(env: dict[str, str]) -> bool:
    return env.get("SHELFOPS_LOG_FORMAT", "").strip().lower() == "json"


def worker(
    *,
    name: str,
    queues: str,
    concurrency: int,
    env: dict[str, str],
    log_dir: Path,
    pool: str = "prefork",
) -> ServiceProcess:
    """A worker serving ``queues`` (comma-separated), sending task events for Flower."""
    return ServiceProcess(
        name=name,
        args=celery_command(
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "-P",
            pool,
            "-E",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ),
        env=env,
        log_path=log_dir / f"{name}.log",
    )


def beat(*, env: dict[str, str], state_dir: Path, log_dir: Path) -> ServiceProcess:
    return ServiceProcess(
        name="beat",
        args=celery_command(
            "beat",
            "--loglevel",
            "INFO",
            "-s",
            str(state_dir / "celerybeat-schedule"),
            quiet=_json_logs(env),
        ),
        env=env,
        log_path=log_dir / "beat.log",
    )


def flower(
    *, env: dict[str, str], port: int, log_dir: Path, basic_auth: str | None = None
) -> ServiceProcess:
    """Flower on 127.0.0.1 only, keeping the newest :data:`FLOWER_MAX_TASKS` tasks.

    Without ``basic_auth`` its HTTP API is open there, as a local dev tool; with it
    (``user:password``) every page and the API ask for it. The password goes in Flower's
    environment (``FLOWER_BASIC_AUTH``), not on its command line, where ``ps`` shows it.
    """
    auth = (
        {"FLOWER_BASIC_AUTH": basic_auth} if basic_auth else {"FLOWER_UNAUTHENTICATED_API": "true"}
    )
    return ServiceProcess(
        name="flower",
        args=celery_command(
            "flower", "--address=127.0.0.1", f"--port={port}", f"--max_tasks={FLOWER_MAX_TASKS}"
        ),
        env={**env, **auth},
        log_path=log_dir / "flower.log",
    )


def web(*, env: dict[str, str], port: int, log_dir: Path) -> ServiceProcess:
    """The web service (``shelfops-alerts serve``) on 127.0.0.1:port."""
    return ServiceProcess(
        name="web",
        args=[sys.executable, "-m", "shelfops_alerts", "serve", "--port", str(port)],
        env=env,
        log_path=log_dir / "web.log",
    )


def wait_for_web(service: ServiceProcess, port: int, timeout_s: float = 30.0) -> None:
    """Block until the web service answers /healthz; RuntimeError (pointing at its log) if
    it exits or stays silent."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not service.running():
            raise RuntimeError(
                f"the web service stopped at start (is port {port} free?); see {service.log_path}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(
        f"the web service did not answer within {timeout_s:.0f} s; see {service.log_path}"
    )


def wait_for_workers(broker_url: str, names: list[str], timeout_s: float = 60.0) -> None:
    """Block until every named worker answers a ping; RuntimeError names the silent ones."""
    from shelfops_alerts.intake.client import _producer

    control = _producer(broker_url).control
    hostname = os.uname().nodename
    wanted = {f"{name}@{hostname}" for name in names}
    deadline = time.monotonic() + timeout_s
    answered: set[str] = set()
    while time.monotonic() < deadline:
        for reply in control.ping(timeout=0.5) or []:
            answered.update(reply)
        if wanted <= answered:
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"workers did not start within {timeout_s:.0f} s: {sorted(wanted - answered)}"
    )
