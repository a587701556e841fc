"""Secret settings print as '**********' wherever they go: repr, str, formats, JSON task
arguments, log lines and configuration errors; ``reveal()`` is the one way to the value."""

from __future__ import annotations

import logging

import pytest
from kombu.utils import json as kombu_json

from shelfops_alerts import logs
from shelfops_alerts.config import ConfigError, Settings, load_settings
from shelfops_alerts.config.secrets import MASK, Secret, SecretURL, mask_env_line, mask_urls

KEY = "known-test-key-do-not-print-me"
DB_PASSWORD = "db-pass-w0rd-never-shown"
REDIS_PASSWORD = "redis-pass-w0rd-never-shown"
ENV = {
    "SHELFOPS_DATABASE_URL": f"postgresql://shelfops:{DB_PASSWORD}@db:5432/shelfops",
    "SHELFOPS_REDIS_URL": f"redis://:{REDIS_PASSWORD}@redis:6379/0",
    "SHELFOPS_EMAIL_BACKEND": "sendgrid",
    "SENDGRID_API_KEY": KEY,
}


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_a_secret_shows_the_mask_in_every_way_it_can_be_printed():
    # Given a secret
    secret = Secret(KEY)
    # Then no way of printing it shows the value
    printed = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>20}",
        "%s" % secret,  # noqa: UP031 - the %-format a log call uses
        "{}".format(secret),  # noqa: UP032
        repr({"key": secret}),
        kombu_json.dumps({"args": [secret]}),  # how a task argument is serialised
    ]
    assert all(KEY not in text and MASK in text for text in printed), printed
    assert repr(secret) == "'**********'"
    # And reveal() is the way to the value
    assert secret.reveal() == KEY
    assert secret == Secret(KEY) and secret != Secret("other")
    # And an unset secret says it is empty (that is no secret)
    assert repr(Secret()) == "''" and not Secret()


@pytest.mark.parametrize(
    ("url", "password", "shown"),
    [
        (
            "postgresql://shelfops:pw-0123456789@db:5432/shelfops",
            "pw-0123456789",
            "postgresql://shelfops:**********@db:5432/shelfops",
        ),
        (
            "redis://:pw-0123456789@redis:6379/0",
            "pw-0123456789",
            "redis://:**********@redis:6379/0",
        ),
        (
            "postgresql://u@/shelfops?host=/tmp&password=pw-0123456789",
            "pw-0123456789",
            "postgresql://u@/shelfops?host=/tmp&password=**********",
        ),
    ],
)
def test_a_url_shows_everything_but_its_password(url, password, shown):
    secret = SecretURL(url)
    assert repr(secret) == repr(shown) and str(secret) == shown
    assert secret.concealed() == [password]
    assert secret.reveal() == url
    # And a URL without a password shows whole
    assert str(SecretURL("redis://redis:6379/0")) == "redis://redis:6379/0"


def test_settings_print_no_secret_and_wrap_plain_text_given_for_one():
    # Given settings read with a SendGrid key and passwords in both URLs
    settings = load_settings(ENV)
    # When they are printed whole
    printed = repr(settings)
    # Then no secret shows, but the hosts do
    for secret in (KEY, DB_PASSWORD, REDIS_PASSWORD):
        assert secret not in printed
    assert "sendgrid_api_key='**********'" in printed
    assert "postgresql://shelfops:**********@db:5432/shelfops" in printed
    # And the code that needs them reveals them
    assert settings.sendgrid_api_key.reveal() == KEY
    assert settings.sqlalchemy_url.reveal().endswith(f":{DB_PASSWORD}@db:5432/shelfops")
    assert DB_PASSWORD not in repr(settings.sqlalchemy_url)
    # And Settings built by hand with plain text wrap it the same way
    by_hand = Settings(database_url=ENV["SHELFOPS_DATABASE_URL"], redis_url="redis://r/0")
    assert isinstance(by_hand.database_url, SecretURL) and DB_PASSWORD not in repr(by_hand)
    assert {type(s) for s in by_hand.secrets()} == {Secret, SecretURL}


def test_loaded_secrets_are_masked_in_log_lines(caplog):
    # Given settings loaded (which registers their secrets with the log filter)
    load_settings(ENV)
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "provider said %s / db %s", (KEY, DB_PASSWORD), None
    )
    # When a line quotes them bare (not as a URL or a SendGrid-shaped key)
    logs.RedactFilter().filter(record)
    # Then neither shows
    assert record.getMessage() == f"provider said {MASK} / db {MASK}"


@pytest.mark.parametrize(
    ("override", "secret"),
    [
        ({"SHELFOPS_DATABASE_URL": f"mysql://u:{DB_PASSWORD}@db/x"}, DB_PASSWORD),
        ({"SHELFOPS_REDIS_URL": f"http://:{REDIS_PASSWORD}@redis:6379"}, REDIS_PASSWORD),
        ({"SHELFOPS_SENDGRID_HOST": f"ftp://u:{DB_PASSWORD}@mail"}, DB_PASSWORD),
    ],
)
def test_a_config_error_quoting_a_bad_value_masks_its_password(override, secret):
    with pytest.raises(ConfigError) as refused:
        load_settings({**ENV, **override})
    assert secret not in str(refused.value) and MASK in str(refused.value)


def test_a_bad_env_line_is_named_without_its_secret(tmp_path):
    # Given a .env whose key line is written with a colon (not KEY=value)
    (tmp_path / ".env").write_text(f"SENDGRID_API_KEY: {KEY}\n")
    # When the settings are read, Then the error names the line and the variable, not the key
    with pytest.raises(ConfigError) as refused:
        load_settings(ENV)
    message = str(refused.value)
    assert ".env:1" in message and "SENDGRID_API_KEY" in message and KEY not in message
    # And an ordinary bad line is quoted as it is (URL passwords masked)
    assert mask_env_line("SHELFOPS_BATCH_SIZE 10") == "SHELFOPS_BATCH_SIZE 10"
    assert mask_env_line("export FLOWER_BASIC_AUTH admin:pw") == f"FLOWER_BASIC_AUTH {MASK}"
    assert mask_urls("x redis://:abc@h y") == f"x redis://:{MASK}@h y"
