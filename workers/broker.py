"""kombu's Redis transport, with one Redis client per channel instead of one per command.

kombu's Redis channel builds a new ``redis.Redis`` object for every message it sends,
acknowledges or restores and for every event it publishes (``Channel._create_client``).
Each one copies redis-py's table of about 170 response callbacks, upper-casing every name:
0.2-0.5 ms of CPU, several times per task in the worker (receive, ack, events) and in the
task that queues the next one. A ``redis.Redis`` object is only a handle on a connection
pool (each command or pipeline borrows a connection from it), so one per pool does the same
work.

With late acknowledgement, kombu records each message it hands to a worker in the
``unacked`` hash and its ``unacked_index`` sorted set, and removes it from both at the ack,
each as a MULTI/EXEC pipeline of two commands: redis-py's pipeline machinery is about twice
the CPU of one command, twice per task in the worker's main process. :class:`QoS` writes
and removes the same two entries, with the same values, atomically in one EVALSHA of a
two-command Lua script. Everything else is kombu's own: what a message's entries hold, when
they are written and removed, rejection and redelivery (``restore_visible``, the restore at
shutdown) are unchanged, and so is what the batch ledger's relay reads.
"""

from __future__ import annotations

from time import time
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.json import dumps

#: What kombu's ``QoS.append`` pipeline does: index the delivery tag by time, keep the message.
APPEND_SCRIPT = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
#: What kombu's ``QoS.ack`` pipeline does: forget the delivery tag in both.
REMOVE_SCRIPT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


class QoS(kombu_redis.QoS):
    """kombu's Redis ack emulation; a message's unacked entries written and removed by
    one script call each (see the module). With a ``global_keyprefix`` (whose keys kombu's
    prefixing client rewrites per command) it is kombu's own."""

    def append(self, message: Any, delivery_tag: str) -> None:
        if self.channel.global_keyprefix:
            super().append(message, delivery_tag)
            return
        delivery = message.delivery_info
        entry = dumps([message._raw, delivery["exchange"], delivery["routing_key"]])
        with self.channel.conn_or_acquire() as client:
            _script(client, APPEND_SCRIPT)(
                keys=[self.unacked_index_key, self.unacked_key],
                args=[time(), delivery_tag, entry],
            )
        virtual.QoS.append(self, message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        if self.channel.global_keyprefix:
            super().ack(delivery_tag)
            return
        with self.channel.conn_or_acquire() as client:
            _script(client, REMOVE_SCRIPT)(
                keys=[self.unacked_index_key, self.unacked_key], args=[delivery_tag]
            )
        virtual.QoS.ack(self, delivery_tag)


def _script(client: Any, source: str) -> Any:
    """``source`` as a redis-py script bound to ``client`` (EVALSHA; loaded again when the
    server forgot it), made once per client."""
    scripts = client.__dict__.setdefault("_shelfops_scripts", {})
    script = scripts.get(source)
    if script is None:
        script = scripts[source] = client.register_script(source)
    return script


class Channel(kombu_redis.Channel):
    """A Redis channel that reuses its synchronous client while its pool stays the same."""

    _shared_client: Any = None
    QoS = QoS

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._shared_client
        # The pool is replaced when the channel reconnects: a client on the old one is not kept.
        if client is None or client.connection_pool is not self.pool:
            client = self._shared_client = super()._create_client()
        return client


def install() -> None:
    """Make kombu's Redis transport open :class:`Channel` (with :class:`QoS`) in this
    process (the workers' app calls it). The transport itself stays kombu's, under its own
    name, so the broker URL, ``celery inspect``, and Flower's broker page see a plain
    ``redis://`` broker; a class path in ``broker_transport`` would have renamed it, and
    Flower knows brokers by URL scheme."""
    kombu_redis.Transport.Channel = Channel
