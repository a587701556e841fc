"""Which task ids the broker holds: queued on a list, or delivered and not yet acknowledged.

Kombu's Redis transport keeps a queue as a list (one per priority step) and every message a
worker holds, until it is acknowledged, in the ``unacked`` hash (``[message, exchange,
routing_key]``). A chain always has at least one of its messages in one of them: a step
queues the next one before its own message is acknowledged. Both are read in one MULTI, so
no message moving from the list to the hash, or from one step to the next, slips between
two reads. The one state no read can see is the loss this ledger heals (a message popped
by a worker that died before recording it), and the instant in which a live worker does the
same: if that instant is caught, the chain runs twice under the same ids, and the
idempotent tasks change nothing twice.
"""

from __future__ import annotations

import re

import redis

#: Kombu's key of the messages delivered and not acknowledged.
UNACKED_KEY = "unacked"
#: Kombu's priority lists beside a queue's own list: ``{queue}\x06\x16{step}``.
PRIORITY_STEPS = (3, 6, 9)
_SEPARATOR = "\x06\x16"
#: A task id as Celery makes them (uuid4); headers and properties carry them in plain JSON.
_TASK_ID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def queue_keys(queue: str) -> list[str]:
    """The Redis lists of ``queue``: its own and its priority steps'."""
    return [queue, *(f"{queue}{_SEPARATOR}{step}" for step in PRIORITY_STEPS)]


def task_ids_in_flight(client: redis.Redis, queue: str) -> set[str]:
    """Every task id named by a message on ``queue`` or unacknowledged (any queue).

    Only called when some batch looks overdue, so a busy queue is read rarely; the
    ``unacked`` hash holds at most every worker's prefetch.
    """
    with client.pipeline(transaction=True) as pipe:
        for key in queue_keys(queue):
            pipe.lrange(key, 0, -1)
        pipe.hvals(UNACKED_KEY)
        replies = pipe.execute()
    found: set[str] = set()
    for messages in replies:
        for message in messages:
            found.update(match.decode() for match in _TASK_ID.findall(message))
    return found
