"""Queue depth reads what the broker holds: with nothing consuming ``alerts``, 30 queued
events read 30, as LLEN does; messages of other priorities and taken ones are counted too."""

from __future__ import annotations

import redis
from kombu import Connection

from shelfops_alerts.intake.client import _producer, notify_forecast_complete
from shelfops_alerts.metrics import collect_figures
from shelfops_alerts.metrics.broker import queue_keys


def test_thirty_queued_events_read_thirty_as_llen_does(db, settings):
    # Given no worker consumes the alerts queue
    client = redis.Redis.from_url(settings.redis_url.reveal())
    assert client.llen("alerts") == 0
    # When 30 forecast-complete events are queued
    for n in range(30):
        notify_forecast_complete("acme", f"run-{n}", settings=settings)
    # Then the metric reads 30, as LLEN does
    figures = collect_figures(settings)
    assert client.llen("alerts") == 30
    assert figures.value("shelfops_queue_depth", "alerts") == 30
    assert figures.value("shelfops_queue_depth", "email") == 0


def test_every_priority_step_and_every_taken_message_is_counted(db, settings):
    client = redis.Redis.from_url(settings.redis_url.reveal())
    producer = _producer(settings.redis_url.reveal())
    # Given 4 plain messages and 3 sent with priority 9 (kombu keeps those in another list)
    for _ in range(4):
        producer.send_task(
            "shelfops.forecast_completed", kwargs={"customer_id": "a"}, queue="alerts"
        )
    for _ in range(3):
        producer.send_task(
            "shelfops.forecast_completed", kwargs={"customer_id": "a"}, queue="alerts", priority=9
        )
    assert client.llen("alerts") == 4
    assert sum(client.llen(key) for key in queue_keys("alerts")) == 7
    # When a consumer takes one message without acknowledging it
    with Connection(settings.redis_url.reveal()) as connection:
        channel = connection.default_channel
        message = channel.basic_get("alerts", no_ack=False)
        assert message is not None
        taken = collect_figures(settings)
        # Then it has left the queue and is counted as unacknowledged
        assert taken.value("shelfops_queue_depth", "alerts") == 6
        assert taken.value("shelfops_queue_unacked") == 1 == client.hlen("unacked")
        message.ack()
    # And once acknowledged it is gone from both
    done = collect_figures(settings)
    assert done.value("shelfops_queue_unacked") == 0
    assert done.value("shelfops_queue_depth", "alerts") == 6
