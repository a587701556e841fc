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
from urllib.parse import urlparse

from kombu.transport import redis as kombu_redis

#: ``broker_transport`` for the Celery app (a class path kombu resolves).
TRANSPORT = "workers.broker:Transport"
#: URL schemes kombu's Redis transport serves (others keep kombu's own choice).
REDIS_SCHEMES = ("redis", "rediss")


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


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel


def broker_transport(broker_url: str) -> str | None:
    """The transport to configure for ``broker_url``: this one for a Redis URL, else None
    (kombu picks by scheme)."""
    return TRANSPORT if urlparse(broker_url).scheme in REDIS_SCHEMES else None
