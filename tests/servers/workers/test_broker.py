"""The workers' broker transport on a real Redis: kombu's Redis transport, one client per
channel (workers/broker.py), with messages and acknowledgements unchanged."""

from __future__ import annotations

from typing import Any

from kombu import Connection

from shelfops_alerts.config import Settings


def test_messages_go_through_one_client_per_channel(tasks_app: Any, settings: Settings) -> None:
    # Given a connection to the test Redis through the workers' transport
    from workers.broker import TRANSPORT, broker_transport

    assert tasks_app.conf.broker_transport == TRANSPORT
    url = settings.redis_url.reveal()
    assert broker_transport(url) == TRANSPORT
    with Connection(url, transport=TRANSPORT) as connection:
        queue = connection.SimpleQueue("broker-test")
        queue.clear()
        # When three messages are sent, then read and acknowledged
        for n in range(3):
            queue.put({"n": n})
        received = []
        for _ in range(3):
            message = queue.get(timeout=5)
            received.append(message.payload["n"])
            message.ack()
        channel = queue.channel
        # Then they arrive whole and in order, none left unacknowledged
        assert received == [0, 1, 2]
        with channel.conn_or_acquire() as client:
            assert client.hlen(channel.unacked_key) == 0
        # And every command of the channel went through the same client
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
        queue.close()


def test_other_urls_keep_kombus_choice(tasks_app: Any) -> None:
    # Given URLs kombu's Redis transport does not serve by scheme, Then no transport is forced
    from workers.broker import TRANSPORT, broker_transport

    assert broker_transport("unix:///run/redis.sock") is None
    assert broker_transport("rediss://redis:6380/0") == TRANSPORT
