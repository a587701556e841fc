"""The figures Redis holds: queue depths, unacknowledged messages, who is alive, the sweep lock.

Celery's Redis transport (kombu) keeps a queue as a list named after the queue plus one list
per priority step (``alerts\\x06\\x163``, ``…6``, ``…9``); a message a worker has taken
stays in the ``unacked`` hash until acknowledged (a task waiting for its countdown or ETA is
held there too). The key names are read from kombu itself, so they follow its layout.
Everything is read in one pipelined round trip, each command O(1) or O(log n).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis

from shelfops_alerts.health import presence
from shelfops_alerts.sweeps.lock import LOCK_KEY


def queue_keys(queue: str) -> list[str]:
    """The Redis lists that hold ``queue``'s waiting messages, one per priority step."""
    from kombu.transport.redis import Channel

    keys = []
    for step in Channel.priority_steps:
        key = f"{queue}{Channel.sep}{step}" if step else queue
        if key not in keys:
            keys.append(key)
    return keys


def unacked_key() -> str:
    """The hash of messages taken by a worker and not yet acknowledged."""
    from kombu.transport.redis import Channel

    return str(Channel.unacked_key)


@dataclass
class BrokerFigures:
    """What one read of Redis found."""

    #: queue -> messages waiting (every priority step added up)
    depth: dict[str, int] = field(default_factory=dict)
    unacked: int = 0
    #: queue -> worker nodes that refreshed their presence recently
    consumers: dict[str, int] = field(default_factory=dict)
    #: unix time of beat's latest tick, None when no beat was ever seen
    beat_last_tick: float | None = None
    sweep_running: bool = False


def read_figures(client: redis.Redis, queues: Sequence[str]) -> BrokerFigures:
    """Every Redis figure in one pipelined round trip."""
    now = time.time()
    per_queue = {queue: queue_keys(queue) for queue in queues}
    pipe = client.pipeline(transaction=False)
    for keys in per_queue.values():
        for key in keys:
            pipe.llen(key)
    pipe.hlen(unacked_key())
    presence.queue_consumers(pipe, queues, now)
    presence.queue_last_beat(pipe)
    pipe.exists(LOCK_KEY)
    replies = iter(pipe.execute())
    found = BrokerFigures()
    for queue, keys in per_queue.items():
        found.depth[queue] = sum(int(next(replies)) for _ in keys)
    found.unacked = int(next(replies))
    for queue in queues:
        found.consumers[queue] = int(next(replies))
    last_beat = next(replies)
    found.beat_last_tick = float(last_beat[0][1]) if last_beat else None
    found.sweep_running = bool(next(replies))
    return found
