"""Servers that check a password, for the tests that prove secrets are never printed.

The session's PostgreSQL and Redis accept anyone (they listen on a private socket and on
127.0.0.1); these give a test a real password that the real server checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shelfops_alerts.config import Settings
from shelfops_alerts.db import get_engine
from shelfops_alerts.stack.embedded import EmbeddedRedis


@contextmanager
def postgres_role_with_password(settings: Settings, password: str) -> Iterator[str]:
    """A superuser login role on the test PostgreSQL that must give ``password``
    (scram-sha-256, the first lines of pg_hba.conf), for the ``with`` block; yields the
    database URL that logs in with it."""
    role = f"secured_{uuid.uuid4().hex[:10]}"
    engine = get_engine(settings)
    with engine.begin() as connection:
        hba = Path(str(connection.exec_driver_sql("SHOW hba_file").scalar()))
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'")
    original = hba.read_text()
    hba.write_text(
        f"local all {role} scram-sha-256\nhost all {role} 127.0.0.1/32 scram-sha-256\n" + original
    )
    _reload(settings)
    url = settings.database_url.reveal()
    assert "://postgres@" in url, url
    try:
        yield url.replace("://postgres@", f"://{role}:{password}@", 1)
    finally:
        hba.write_text(original)
        _reload(settings)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
            )
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")


def _reload(settings: Settings) -> None:
    with get_engine(settings).begin() as connection:
        connection.exec_driver_sql("SELECT pg_reload_conf()")


@contextmanager
def redis_with_password(folder: Path, password: str) -> Iterator[EmbeddedRedis]:
    """A Redis of its own (``requirepass``) for the ``with`` block."""
    server = EmbeddedRedis(folder, password=password).start()
    try:
        yield server
    finally:
        server.stop()
