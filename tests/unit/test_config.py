"""Settings are validated at start; a missing or malformed one names itself."""

from __future__ import annotations

import pytest

from shelfops_alerts import config
from shelfops_alerts.config import ConfigError, load_settings

GOOD = {
    "SHELFOPS_DATABASE_URL": "postgresql://u@localhost/db",
    "SHELFOPS_REDIS_URL": "redis://localhost:6379/0",
}


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    # No .env or stack.env from the developer's checkout leaks into these tests.
    monkeypatch.chdir(tmp_path)


def test_defaults_with_only_the_two_urls():
    settings = load_settings(GOOD)
    assert settings.email_backend == "file"
    assert settings.batch_size == 5000
    assert settings.sqlalchemy_url == "postgresql+psycopg2://u@localhost/db"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"SHELFOPS_DATABASE_URL": ""}, "SHELFOPS_DATABASE_URL is not set"),
        ({"SHELFOPS_DATABASE_URL": "mysql://x"}, "SHELFOPS_DATABASE_URL must be a URL"),
        ({"SHELFOPS_REDIS_URL": "localhost:6379"}, "SHELFOPS_REDIS_URL must be a URL"),
        ({"SHELFOPS_EMAIL_BACKEND": "smtp"}, "SHELFOPS_EMAIL_BACKEND must be one of"),
        ({"SHELFOPS_EMAIL_BACKEND": "sendgrid"}, "SENDGRID_API_KEY is not set"),
        ({"SHELFOPS_BATCH_SIZE": "many"}, "SHELFOPS_BATCH_SIZE must be a whole number"),
        ({"SHELFOPS_BATCH_SIZE": "0"}, "SHELFOPS_BATCH_SIZE must be greater than 0"),
        ({"SHELFOPS_EMAIL_RATE": "-1"}, "SHELFOPS_EMAIL_RATE must be greater than 0"),
        ({"SHELFOPS_EMAIL_RATE": "nan"}, "SHELFOPS_EMAIL_RATE must be greater than 0"),
        ({"SHELFOPS_SWEEP_INTERVAL_S": "soon"}, "SHELFOPS_SWEEP_INTERVAL_S must be a number"),
        ({"SHELFOPS_SENDGRID_HOST": "api.sendgrid.com"}, "SHELFOPS_SENDGRID_HOST must be"),
        ({"SHELFOPS_EMAIL_FROM": "nobody"}, "SHELFOPS_EMAIL_FROM must be an e-mail"),
        ({"SHELFOPS_TEMPLATES_DIR": "/nonexistent"}, "SHELFOPS_TEMPLATES_DIR must be"),
        ({"SHELFOPS_EMAIL_TIMEOUT_S": "90"}, "SHELFOPS_EMAIL_TIMEOUT_S .* must be below"),
        ({"SHELFOPS_RESOLVE_AFTER_CHECKS": "0"}, "SHELFOPS_RESOLVE_AFTER_CHECKS"),
        ({"SHELFOPS_DIGEST_WINDOW_S": "-5"}, "SHELFOPS_DIGEST_WINDOW_S"),
    ],
)
def test_a_bad_setting_names_itself(override, named):
    with pytest.raises(ConfigError, match=named):
        load_settings({**GOOD, **override})


def test_dot_env_supplies_what_the_environment_does_not(tmp_path):
    (tmp_path / ".env").write_text(
        "# comment\nexport SHELFOPS_DATABASE_URL='postgresql://from-dotenv/db'\n"
        "SHELFOPS_REDIS_URL=redis://from-dotenv:6379/0\n"
    )
    settings = load_settings({"SHELFOPS_REDIS_URL": "redis://from-env:6379/0"})
    assert settings.database_url == "postgresql://from-dotenv/db"
    assert settings.redis_url == "redis://from-env:6379/0"


def test_a_malformed_dot_env_line_is_named(tmp_path):
    (tmp_path / ".env").write_text("SHELFOPS_REDIS_URL\n")
    with pytest.raises(ConfigError, match=r"\.env:1: expected KEY=value"):
        load_settings(GOOD)


def test_stack_env_is_read_only_while_dev_runs(tmp_path):
    config.STACK_ENV.parent.mkdir()
    stack = "SHELFOPS_DATABASE_URL=postgresql://dev/db\nSHELFOPS_REDIS_URL=redis://dev:1/0\n"
    # Given a stack.env written by a dev process that is gone
    config.STACK_ENV.write_text(stack + "SHELFOPS_DEV_PID=999999999\n")
    with pytest.raises(ConfigError, match="SHELFOPS_DATABASE_URL is not set"):
        load_settings({})
    # When the process that wrote it is alive (this one), the commands find the stack
    import os

    config.STACK_ENV.write_text(stack + f"SHELFOPS_DEV_PID={os.getpid()}\n")
    assert load_settings({}).database_url == "postgresql://dev/db"
