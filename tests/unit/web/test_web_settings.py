"""The web service's settings: validated at start, named when wrong."""

from __future__ import annotations

import pytest

from shelfops_alerts.config import ConfigError, load_settings

GOOD = {
    "SHELFOPS_DATABASE_URL": "postgresql://u@localhost/db",
    "SHELFOPS_REDIS_URL": "redis://localhost:6379/0",
}


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_the_defaults_serve_the_links_every_email_carries():
    settings = load_settings(GOOD)
    assert settings.dashboard_url == "http://localhost:8000/alerts"
    assert settings.web_base_url == "http://localhost:8000"
    assert (settings.stream_maxlen, settings.stream_client_buffer) == (10000, 1000)
    assert (settings.session_ttl_s, settings.login_link_ttl_s) == (43200.0, 600.0)


def test_a_dashboard_under_a_path_keeps_its_prefix_for_login_links():
    settings = load_settings(
        {**GOOD, "SHELFOPS_DASHBOARD_URL": "https://ops.example/shelf/alerts/"}
    )
    assert settings.dashboard_url == "https://ops.example/shelf/alerts"
    assert settings.web_base_url == "https://ops.example/shelf"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHELFOPS_STREAM_MAXLEN", "0"),
        ("SHELFOPS_STREAM_MAXLEN", "lots"),
        ("SHELFOPS_STREAM_HEARTBEAT_S", "-1"),
        ("SHELFOPS_STREAM_CLIENT_BUFFER", "0"),
        ("SHELFOPS_SESSION_TTL_S", "nan"),
        ("SHELFOPS_LOGIN_LINK_TTL_S", "0"),
        ("SHELFOPS_DASHBOARD_URL", "ftp://example/alerts"),
        ("SHELFOPS_DASHBOARD_URL", "localhost:8000/alerts"),
    ],
)
def test_a_bad_web_setting_is_refused_by_name(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({**GOOD, name: value})
