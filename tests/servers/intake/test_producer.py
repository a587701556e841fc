"""The Python producer's send: one LPUSH of the message Celery would send; a broker that
stays unreachable is retried as ``send_task`` retries it, then raised as its fault."""

from __future__ import annotations

import time

import pytest
from kombu.exceptions import OperationalError

from shelfops_alerts.config import load_settings
from shelfops_alerts.intake import client
from shelfops_alerts.intake.client import notify_forecast_complete
from shelfops_alerts.stack.embedded import free_port
from tests.servers.ledger.test_direct_chain import take_message


def test_an_event_is_one_message_on_the_alerts_queue(settings, db) -> None:
    # When a producer sends a one-SKU event
    sent = notify_forecast_complete("acme", "run-1", ["S1/P1"], settings=settings)
    # Then the queue holds its check's message, with the chain's two steps to follow
    check_id, kwargs, chain = take_message(settings)
    assert check_id == sent
    assert kwargs["skus"] == [["S1", "P1"]] and kwargs["context"] == {"run_id": "run-1"}
    assert [step["task"] for step in chain] == [
        "shelfops.publish_alerts",
        "shelfops.dedup_and_persist",
    ]


def test_an_unreachable_broker_is_retried_then_raised(base_env) -> None:
    # Given a producer whose broker is not listening
    settings = load_settings(
        {**base_env, "SHELFOPS_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    )
    began = time.monotonic()
    # When it sends an event, Then it fails with the fault send_task raises
    with pytest.raises(OperationalError, match="broker"):
        notify_forecast_complete("acme", None, ["S1/P1"], settings=settings)
    # after its retries (0, 0.2 and 0.2 s apart), not at once
    assert time.monotonic() - began >= sum(client.PUBLISH_RETRY_INTERVALS_S)
