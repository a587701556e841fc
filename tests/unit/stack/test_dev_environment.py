"""What `dev` runs its processes with: its defaults only where the user set nothing."""

from __future__ import annotations

import os

import pytest

from shelfops_alerts.stack.dev import DEV_DEFAULTS, dev_environment

STACK = {
    "SHELFOPS_DATABASE_URL": "postgresql://postgres@/shelfops?host=/tmp/pg",
    "SHELFOPS_REDIS_URL": "redis://127.0.0.1:6399/0",
}


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_with_nothing_set_dev_uses_its_defaults_and_its_own_servers():
    values = dev_environment(STACK, environ={})
    assert values == {**DEV_DEFAULTS, **STACK, "SHELFOPS_DEV_PID": str(os.getpid())}
    assert values["SHELFOPS_OUTBOX_DIR"] == ".shelfops/outbox"


def test_every_setting_the_user_sets_in_the_environment_wins():
    # Given a user who set each of dev's defaults in the environment
    user = {
        "SHELFOPS_OUTBOX_DIR": "/srv/mail",
        "SHELFOPS_EMAIL_BACKEND": "console",
        "SHELFOPS_DIGEST_WINDOW_S": "0",
    }
    assert user.keys() == DEV_DEFAULTS.keys()
    # When dev works out its settings
    values = dev_environment(STACK, environ=user)
    # Then the user's values are kept, every one of them
    assert {name: values[name] for name in user} == user


def test_dot_env_wins_over_dev_and_the_environment_over_dot_env(tmp_path):
    (tmp_path / ".env").write_text(
        "SHELFOPS_OUTBOX_DIR=mail   # where I read the e-mails\nSHELFOPS_DIGEST_WINDOW_S=30\n"
    )
    values = dev_environment(STACK, environ={"SHELFOPS_DIGEST_WINDOW_S": "0"})
    assert values["SHELFOPS_OUTBOX_DIR"] == "mail"
    assert values["SHELFOPS_DIGEST_WINDOW_S"] == "0"
    assert values["SHELFOPS_EMAIL_BACKEND"] == DEV_DEFAULTS["SHELFOPS_EMAIL_BACKEND"]


def test_an_empty_value_counts_as_not_set():
    # As in load_settings, where an empty variable means "the default".
    values = dev_environment(STACK, environ={"SHELFOPS_OUTBOX_DIR": "  "})
    assert values["SHELFOPS_OUTBOX_DIR"] == DEV_DEFAULTS["SHELFOPS_OUTBOX_DIR"]


def test_the_servers_are_always_devs_own():
    # A URL set for production must not point dev's workers at production's database.
    values = dev_environment(STACK, environ={"SHELFOPS_DATABASE_URL": "postgresql://prod/db"})
    assert values["SHELFOPS_DATABASE_URL"] == STACK["SHELFOPS_DATABASE_URL"]
