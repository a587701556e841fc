"""The workers' app applies the bounds: retried faults, time limits, broker timeouts."""

from __future__ import annotations

from kombu.exceptions import OperationalError as BrokerUnreachable

from shelfops_alerts.outages.time_limits import TIME_LIMITS
from shelfops_alerts.vocabulary import (
    CHECK_TASK,
    PERSIST_TASK,
    PUBLISH_TASK,
    RELAY_TASK,
    SWEEP_TASK,
)

#: The tasks whose transient database and Redis faults are retried (issue 10, item 9).
RETRYING = (CHECK_TASK, PERSIST_TASK, PUBLISH_TASK, SWEEP_TASK, RELAY_TASK)


def test_check_persist_publish_sweep_and_relay_retry_transient_faults(tasks_app):
    from celery.exceptions import SoftTimeLimitExceeded

    from workers.redeliveries import CountedTask
    from workers.tasks.retrying import RetriesFaults, fault_reason

    for name in RETRYING:
        assert isinstance(tasks_app.tasks[name], RetriesFaults), name
        # and, like every task, counts its deliveries (a message that kills workers is parked)
        assert isinstance(tasks_app.tasks[name], CountedTask), name
    assert fault_reason(SoftTimeLimitExceeded()) == "soft time limit"
    assert fault_reason(BrokerUnreachable("connection refused")) == "broker unreachable"
    assert fault_reason(ValueError("bad input")) is None


def test_every_task_runs_under_its_soft_and_hard_time_limit(tasks_app):
    ours = {name: task for name, task in tasks_app.tasks.items() if name.startswith("shelfops.")}
    assert set(ours) == set(TIME_LIMITS)
    for name, task in ours.items():
        assert (task.soft_time_limit, task.time_limit) == (
            TIME_LIMITS[name].soft_s,
            TIME_LIMITS[name].hard_s,
        ), name


def test_the_broker_connection_has_socket_timeouts_and_health_checks(tasks_app, settings):
    options = tasks_app.conf.broker_transport_options
    assert options["socket_timeout"] == settings.redis_timeout_s
    assert options["socket_connect_timeout"] == settings.redis_timeout_s
    assert options["health_check_interval"] == 25
    assert options["socket_keepalive"] is True
