"""Fixtures of the servers tier beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture()
def tasks_app(cli_env, settings):
    """The workers' Celery app in this process, on the test stack: tasks run here, eagerly,
    with ``task.apply()`` (no worker process), exactly as a worker would run them."""
    from workers.app import app

    if app.shelfops_settings != settings:
        # workers.app reads its settings once, at import: a unit test imported it first.
        pytest.fail(
            "workers.app was built with another tier's settings (a unit test imported it "
            "first in this session): run the tiers apart, as `make test` does "
            "(make test-unit, make test-servers, make test-integration)",
            pytrace=False,
        )
    app.loader.import_default_modules()  # the task modules, as a worker imports them at start
    return app
