"""The settings are not part of the Celery configuration, which `celery inspect conf` and
Flower's worker Config tab print: nothing secret is in what they would show."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from celery.worker.control import conf as inspect_conf

from shelfops_alerts.config import load_settings

KEY = "SG.app-config-key.never-printed"
DB_PASSWORD = "db-password-not-in-conf"
REDIS_PASSWORD = "redis-password-not-in-conf"
ENV = {
    "SHELFOPS_DATABASE_URL": f"postgresql://shelfops:{DB_PASSWORD}@db/shelfops",
    "SHELFOPS_REDIS_URL": f"redis://:{REDIS_PASSWORD}@redis:6379/0",
    "SHELFOPS_EMAIL_BACKEND": "sendgrid",
    "SENDGRID_API_KEY": KEY,
}


@pytest.fixture()
def app_module(monkeypatch, tmp_path):
    # Importing anything under workers/ builds the Celery app, which reads the settings.
    monkeypatch.chdir(tmp_path)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return importlib.import_module("workers.app")


def test_inspect_conf_shows_no_setting_and_no_secret(app_module):
    # Given the app built from settings holding a SendGrid key and two passwords
    settings = load_settings(ENV)
    app = app_module.create_app(settings)
    # When a worker answers `celery inspect conf` (with defaults, or without)
    dumped = repr(inspect_conf(SimpleNamespace(app=app), with_defaults=True))
    dumped += repr(inspect_conf(SimpleNamespace(app=app)))
    # Then no secret is in it, and the settings object is not either
    for secret in (KEY, DB_PASSWORD, REDIS_PASSWORD):
        assert secret not in dumped
    assert "shelfops_settings" not in dumped and "sendgrid" not in dumped
    # But the settings are beside the app, where the tasks find them
    assert app.shelfops_settings is settings
    assert app.conf.broker_url == settings.redis_url.reveal()
