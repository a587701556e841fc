"""Workers and beat announce that they are alive, in Redis, so anyone can count them.

Each worker node refreshes its entry in one sorted set per queue it consumes
(``shelfops:consumers:{queue}``, member = node name, score = unix time of the refresh) every
:data:`REFRESH_S`; beat does the same in ``shelfops:beat`` at each tick of its scheduler. An
entry older than :data:`STALE_AFTER_S` counts as gone, so a worker killed outright stops
counting within that time, and no process has to say goodbye (a clean stop does, at once).
Reading is O(log n) per queue (ZCOUNT), whatever the number of workers ever seen; each
refresh also drops entries a day old.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import redis

#: Seconds between two refreshes of a worker's (or beat's) entry.
REFRESH_S = 10.0
#: An entry not refreshed for this long is a process that is gone (three missed refreshes).
STALE_AFTER_S = 3 * REFRESH_S
#: Entries older than this are deleted by the next refresh (keeps the sets small).
FORGET_AFTER_S = 24 * 3600.0
CONSUMERS_KEY = "shelfops:consumers:{}"
BEAT_KEY = "shelfops:beat"


def consumers_key(queue: str) -> str:
    """The sorted set of the nodes consuming ``queue``."""
    return CONSUMERS_KEY.format(queue)


def announce_consumer(
    client: redis.Redis, node: str, queues: Iterable[str], *, now: float | None = None
) -> None:
    """Record that worker ``node`` consumes ``queues`` now (one round trip)."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zadd(consumers_key(queue), {node: now})
        pipe.zremrangebyscore(consumers_key(queue), "-inf", now - FORGET_AFTER_S)
    pipe.execute()


def withdraw_consumer(client: redis.Redis, node: str, queues: Iterable[str]) -> None:
    """Remove ``node`` from ``queues`` (a clean stop)."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zrem(consumers_key(queue), node)
    pipe.execute()


def announce_beat(client: redis.Redis, node: str, *, now: float | None = None) -> None:
    """Record that beat on ``node`` ticked now."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    pipe.zadd(BEAT_KEY, {node: now})
    pipe.zremrangebyscore(BEAT_KEY, "-inf", now - FORGET_AFTER_S)
    pipe.execute()


def queue_consumers(pipe: redis.client.Pipeline, queues: Sequence[str], now: float) -> None:
    """Queue, on ``pipe``, one ZCOUNT per queue: nodes refreshed within STALE_AFTER_S."""
    for queue in queues:
        pipe.zcount(consumers_key(queue), now - STALE_AFTER_S, "+inf")


def queue_last_beat(pipe: redis.client.Pipeline) -> None:
    """Queue, on ``pipe``, the newest beat entry (member and score), if any."""
    pipe.zrevrange(BEAT_KEY, 0, 0, withscores=True)


def last_seen(client: redis.Redis, key: str, node: str) -> float | None:
    """When ``node`` last refreshed its entry in ``key`` (unix time), or None."""
    score = client.zscore(key, node)
    return None if score is None else float(score)
