"""The workers' broker channels on a real Redis: kombu's Redis transport, one client per
channel (workers/broker.py), with messages, acknowledgements and the broker URL unchanged."""

from __future__ import annotations

import json
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


def test_a_taken_message_is_recorded_as_kombu_records_it(
    tasks_app: Any, settings: Settings
) -> None:
    # Given a message taken off a queue by the workers' channel (late acknowledgement)
    from kombu.transport import redis as kombu_redis

    from workers.broker import QoS

    with tasks_app.connection_for_write() as connection:
        queue = connection.SimpleQueue("broker-qos-test")
        channel = queue.channel
        assert isinstance(channel.qos, QoS)
        queue.clear()
        queue.put({"n": 1})
        message = queue.get(timeout=5)
        tag = message.delivery_tag

        # Then its unacked entries are the ones kombu's own QoS writes for that message: the
        # message, its exchange and routing key under its tag, and the tag indexed by time
        with channel.conn_or_acquire() as client:
            entry = client.hget(channel.unacked_key, tag)
            assert entry is not None
            assert client.zscore(channel.unacked_index_key, tag) is not None
            kombus = kombu_redis.QoS(channel)
            kombus.append(channel.qos.get(tag), "kombu-tag")
            assert json.loads(client.hget(channel.unacked_key, "kombu-tag")) == json.loads(entry)
            assert json.loads(entry)[0]["properties"]["delivery_tag"] == tag
            assert client.zscore(channel.unacked_index_key, "kombu-tag") is not None
            kombus.ack("kombu-tag")

        # When it is acknowledged, Then both entries are gone
        message.ack()
        with channel.conn_or_acquire() as client:
            assert client.hget(channel.unacked_key, tag) is None
            assert client.zscore(channel.unacked_index_key, tag) is None
        queue.close()


def test_a_message_never_acknowledged_goes_back_to_its_queue(
    tasks_app: Any, settings: Settings
) -> None:
    # Given a message taken off a queue and never acknowledged (its worker went away)
    with tasks_app.connection_for_write() as connection:
        queue = connection.SimpleQueue("broker-restore-test")
        queue.clear()
        queue.put({"n": 7})
        taken = queue.get(timeout=5)
        assert taken.payload == {"n": 7}
        channel = queue.channel
        # When kombu restores what its channel holds unacknowledged (as at a worker's exit)
        channel.qos.restore_unacked_once()
        queue.close()

    # Then the message is on its queue again, whole, and nothing is left unacknowledged
    with tasks_app.connection_for_write() as connection:
        queue = connection.SimpleQueue("broker-restore-test")
        again = queue.get(timeout=5)
        assert again.payload == {"n": 7}
        again.ack()
        with queue.channel.conn_or_acquire() as client:
            assert client.hlen(queue.channel.unacked_key) == 0
            assert client.zcard(queue.channel.unacked_index_key) == 0
        queue.close()
