"""Unit tests run with no server at all: asking for one is a mistake, caught here."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def stack() -> None:
    """Refuses: a unit test that needs PostgreSQL or Redis belongs in tests/servers."""
    raise pytest.UsageError("unit tests run without servers; move this test to tests/servers")
