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
    assert settings.sqlalchemy_url.reveal() == "postgresql+psycopg2://u@localhost/db"


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
        ({"SHELFOPS_LOG_FORMAT": "yaml"}, "SHELFOPS_LOG_FORMAT must be one of text, json"),
        ({"SHELFOPS_EMAIL_MAX_PAUSE_S": "0"}, "SHELFOPS_EMAIL_MAX_PAUSE_S must be greater"),
        ({"SHELFOPS_EMAIL_MAX_PAUSE_S": "inf"}, "SHELFOPS_EMAIL_MAX_PAUSE_S must be greater"),
    ],
)
def test_a_bad_setting_names_itself(override, named):
    with pytest.raises(ConfigError, match=named):
        load_settings({**GOOD, **override})


def test_the_longest_wait_must_be_well_below_the_visibility_timeout():
    # Given the defaults: pauses of at most 15 min against a one-hour visibility timeout
    settings = load_settings(GOOD)
    assert (settings.email_max_pause_s, settings.visibility_timeout_s) == (900.0, 3600)
    assert settings.max_countdown_s == 1800
    # When the visibility timeout is shortened below twice the longest wait, Then the
    # settings are refused, naming both variables
    with pytest.raises(ConfigError) as refused:
        load_settings({**GOOD, "SHELFOPS_VISIBILITY_TIMEOUT_S": "1200"})
    assert "SHELFOPS_EMAIL_MAX_PAUSE_S (900)" in str(refused.value)
    assert "SHELFOPS_VISIBILITY_TIMEOUT_S (1200)" in str(refused.value)
    # And a shorter maximum pause makes it acceptable again
    tuned = load_settings(
        {**GOOD, "SHELFOPS_VISIBILITY_TIMEOUT_S": "1200", "SHELFOPS_EMAIL_MAX_PAUSE_S": "600"}
    )
    assert tuned.max_countdown_s == 600


def test_dot_env_supplies_what_the_environment_does_not(tmp_path):
    (tmp_path / ".env").write_text(
        "# comment\nexport SHELFOPS_DATABASE_URL='postgresql://from-dotenv/db'\n"
        "SHELFOPS_REDIS_URL=redis://from-dotenv:6379/0\n"
    )
    settings = load_settings({"SHELFOPS_REDIS_URL": "redis://from-env:6379/0"})
    assert settings.database_url.reveal() == "postgresql://from-dotenv/db"
    assert settings.redis_url.reveal() == "redis://from-env:6379/0"


def test_dot_env_is_read_as_python_dotenv_reads_it(tmp_path):
    # Given a .env with comments after values, quotes and a ${VAR} reference
    (tmp_path / ".env").write_text(
        "SHELFOPS_BATCH_SIZE=500  # note\n"
        "SHELFOPS_EMAIL_FROM='ops #1 <ops@example.com>'   # a # inside quotes is kept\n"
        "MAIL_DIR=/var/mail/shelfops\n"
        "SHELFOPS_OUTBOX_DIR=${MAIL_DIR}/outbox\n"
    )
    # When the settings are loaded
    settings = load_settings(GOOD)
    # Then the comment is not part of the value, and the rest is as python-dotenv reads it
    assert settings.batch_size == 500
    assert settings.email_from == "ops #1 <ops@example.com>"
    assert str(settings.outbox_dir) == "/var/mail/shelfops/outbox"


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("SHELFOPS_REDIS_URL\n", r"\.env:1: expected KEY=value, got 'SHELFOPS_REDIS_URL'"),
        ('# ok\nSHELFOPS_BATCH_SIZE="500\n', r"\.env:2: expected KEY=value"),
        ("SHELFOPS BATCH_SIZE=500\n", r"\.env:1: expected KEY=value"),
    ],
)
def test_a_malformed_dot_env_line_is_named(tmp_path, content, where):
    (tmp_path / ".env").write_text(content)
    with pytest.raises(ConfigError, match=where):
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
    assert load_settings({}).database_url.reveal() == "postgresql://dev/db"


def test_every_numeric_setting_is_read_and_checked_from_its_own_variable():
    from dataclasses import fields

    from shelfops_alerts.config.settings import NUMBERS, Settings, env_name

    # Given every numeric field of the settings
    numeric = {f.name for f in fields(Settings) if f.type in ("int", "float")}
    # Then each is read by the table (a new one cannot be left at its default unread)
    assert numeric == set(NUMBERS)
    for name in sorted(NUMBERS):
        # And a bad value given for it is refused, naming its variable
        with pytest.raises(ConfigError, match=f"^{env_name(name)} must be"):
            load_settings({**GOOD, env_name(name): "-1"})
