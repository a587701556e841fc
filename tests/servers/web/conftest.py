"""One web service process for the web tests (it keeps no state between requests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.web import WebServer


@pytest.fixture(scope="session")
def web(settings, base_env, tmp_path_factory) -> Iterator[WebServer]:
    server = WebServer(base_env, tmp_path_factory.mktemp("web-logs")).start()
    yield server
    server.stop()
