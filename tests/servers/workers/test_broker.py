"""The workers' broker channels on a real Redis: kombu's Redis transport, one client per
channel (workers/broker.py), with messages, acknowledgements and the broker URL unchanged."""

from __future__ import annotations

from typing import Any

from kombu import Connection

from shelfops_alerts.config import Settings


def test_messages_go_through_one_client_per_channel(tasks_app: Any, settings: Settings) -> None:
    # Given the workers' app, and a connection to its broker
    from workers.broker import Channel

    with tasks_app.connection_for_write() as connection:
        queue = connection.SimpleQueue("broker-test")
        channel = queue.channel
        assert isinstance(channel, Channel)
        queue.clear()
        # When three messages are sent, then read and acknowledged
        for n in range(3):
            queue.put({"n": n})
        received = []
        for _ in range(3):
            message = queue.get(timeout=5)
            received.append(message.payload["n"])
            message.ack()
        # Then they arrive whole and in order, none left unacknowledged
        assert received == [0, 1, 2]
        with channel.conn_or_acquire() as client:
            assert client.hlen(channel.unacked_key) == 0
        # And every command of the channel went through the same client
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
        queue.close()


def test_the_broker_is_still_a_plain_redis_url(tasks_app: Any, settings: Settings) -> None:
    # Given the workers' app, Then its broker reads as the redis:// URL it was given (what
    # Flower's broker page and `celery inspect` go by), not as a renamed transport
    with tasks_app.connection_for_write() as connection:
        assert connection.as_uri(include_password=True) == settings.redis_url.reveal()
        assert Connection(settings.redis_url.reveal()).transport.driver_type == "redis"
