"""kombu's Redis transport, with one Redis client per channel instead of one per command.

kombu's Redis channel builds a new ``redis.Redis`` object for every message it sends,
acknowledges or restores and for every event it publishes (``Channel._create_client``).
Each one copies redis-py's table of about 170 response callbacks, upper-casing every name:
0.2-0.5 ms of CPU, several times per task in the worker (receive, ack, events) and in the
task that queues the next one. A ``redis.Redis`` object is only a handle on a connection
pool (each command or pipeline borrows a connection from it), so one per pool does the same
work. Everything else is kombu's own: messages, acknowledgements and redelivery are
unchanged.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    """A Redis channel that reuses its synchronous client while its pool stays the same."""

    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._shared_client
        # The pool is replaced when the channel reconnects: a client on the old one is not kept.
        if client is None or client.connection_pool is not self.pool:
            client = self._shared_client = super()._create_client()
        return client


def install() -> None:
    """Make kombu's Redis transport open :class:`Channel` in this process (the workers' app
    calls it). The transport itself stays kombu's, under its own name, so the broker URL,
    ``celery inspect``, and Flower's broker page see a plain ``redis://`` broker; a class path
    in ``broker_transport`` would have renamed it, and Flower knows brokers by URL scheme."""
    kombu_redis.Transport.Channel = Channel
