"""Every wait on a server has a bound, and the bounds nest: a statement's deadline comes
before a task's time limit, a retry's wait before a redelivery."""

from __future__ import annotations

import pytest

from shelfops_alerts import vocabulary
from shelfops_alerts.config import ConfigError, load_settings
from shelfops_alerts.outages.postgres import answer_deadline_s, worker_connect_args
from shelfops_alerts.outages.redis_clients import redis_options
from shelfops_alerts.outages.time_limits import (
    MAIL_SOFT_LIMIT_S,
    TIME_LIMITS,
    celery_annotations,
)

GOOD = {
    "SHELFOPS_DATABASE_URL": "postgresql://u@localhost/db",
    "SHELFOPS_REDIS_URL": "redis://localhost:6379/0",
}
TASKS = {value for name, value in vars(vocabulary).items() if name.endswith("_TASK")}


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_every_task_kind_has_a_soft_limit_below_its_hard_limit_and_a_reason():
    assert set(TIME_LIMITS) == TASKS
    for name, limit in TIME_LIMITS.items():
        assert 0 < limit.soft_s < limit.hard_s, name
        assert limit.why, name
    assert celery_annotations()[vocabulary.CHECK_TASK] == {
        "soft_time_limit": 120,
        "time_limit": 150,
    }


def test_the_default_timeouts_fit_below_the_time_limits():
    settings = load_settings(GOOD)
    assert settings.email_timeout_s < MAIL_SOFT_LIMIT_S
    assert answer_deadline_s(settings) == 35
    assert answer_deadline_s(settings) < min(limit.soft_s for limit in TIME_LIMITS.values())
    assert settings.fault_retry_cap_s <= settings.max_countdown_s < settings.visibility_timeout_s


@pytest.mark.parametrize(
    ("override", "named"),
    [
        (
            {"SHELFOPS_EMAIL_TIMEOUT_S": "150", "SHELFOPS_OUTBOX_RELAY_AFTER_S": "300"},
            "SHELFOPS_EMAIL_TIMEOUT_S",
        ),
        ({"SHELFOPS_DB_STATEMENT_TIMEOUT_S": "116"}, "SHELFOPS_DB_STATEMENT_TIMEOUT_S"),
        ({"SHELFOPS_FAULT_RETRY_CAP_S": "3600"}, "SHELFOPS_FAULT_RETRY_CAP_S"),
        (
            {"SHELFOPS_FAULT_RETRY_CAP_S": "1001", "SHELFOPS_VISIBILITY_TIMEOUT_S": "2000"},
            "SHELFOPS_FAULT_RETRY_CAP_S",
        ),
        ({"SHELFOPS_DB_LOCK_TIMEOUT_S": "0"}, "SHELFOPS_DB_LOCK_TIMEOUT_S"),
        ({"SHELFOPS_REDIS_TIMEOUT_S": "-1"}, "SHELFOPS_REDIS_TIMEOUT_S"),
        ({"SHELFOPS_FAULT_MAX_RETRIES": "many"}, "SHELFOPS_FAULT_MAX_RETRIES"),
    ],
)
def test_settings_whose_bounds_do_not_nest_are_refused_naming_the_variable(override, named):
    with pytest.raises(ConfigError, match=named):
        load_settings({**GOOD, **override})


def test_a_workers_connection_asks_the_server_for_timeouts_and_keepalives():
    settings = load_settings({**GOOD, "SHELFOPS_DB_STATEMENT_TIMEOUT_S": "20"})
    args = worker_connect_args(settings)
    options = args["options"].split()
    assert "statement_timeout=20000" in options
    assert "lock_timeout=10000" in options
    assert "idle_in_transaction_session_timeout=40000" in options
    assert "tcp_keepalives_idle=30" in options
    assert args["keepalives"] == 1 and args["keepalives_idle"] == 30
    assert args["tcp_user_timeout"] == 60000
    assert args["connect_timeout"] == 25


def test_every_redis_client_has_socket_timeouts_keepalives_and_health_checks():
    assert redis_options(7.0) == {
        "socket_timeout": 7.0,
        "socket_connect_timeout": 7.0,
        "socket_keepalive": True,
        "health_check_interval": 25,
    }
