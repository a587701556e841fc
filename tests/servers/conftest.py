"""Fixtures of the servers tier beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

import pytest


@pytest.fixture()
def tasks_app(cli_env, settings):
    """The workers' Celery app in this process, on the test stack: tasks run here, eagerly,
    with ``task.apply()`` (no worker process), exactly as a worker would run them."""
    from workers.app import app

    assert app.shelfops_settings == settings, "workers.app was imported with other settings"
    app.loader.import_default_modules()  # the task modules, as a worker imports them at start
    return app
