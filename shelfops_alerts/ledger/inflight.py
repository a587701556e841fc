"""Which task ids the broker holds: queued on a list, or delivered and not yet acknowledged.

Kombu's Redis transport keeps a queue as lists (one per priority step) and every message a
worker holds, until it is acknowledged, in the ``unacked`` hash (``[message, exchange,
routing_key]``); the key names come from kombu (:mod:`shelfops_alerts.metrics.broker`). A
chain always has at least one of its messages in one of them: a step queues the next one
before its own message is acknowledged, a retry queues itself before it is. Both are read in
one MULTI, so no message moving from a list to the hash, or from one step to the next, slips
between two reads. The one state no read can see is the loss the ledger heals (a message
popped by a worker that died before recording it), and the instant in which a live worker
is between the same two steps: if that instant is caught, the chain runs twice under the
same ids, and the idempotent tasks change nothing twice.
"""

from __future__ import annotations

import re

import redis

from shelfops_alerts.metrics.broker import queue_keys, unacked_key

#: A task id as Celery makes them (uuid4): a message's headers and properties carry it in
#: plain JSON (its body is base64), also inside the ``unacked`` hash's escaped JSON.
_TASK_ID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def task_ids_in_flight(client: redis.Redis, queue: str) -> set[str]:
    """Every task id named by a message waiting on ``queue`` or unacknowledged (any queue).

    Only called when some batch looks overdue, so a long queue is read rarely; the
    ``unacked`` hash holds at most every worker's prefetch.
    """
    with client.pipeline(transaction=True) as pipe:
        for key in queue_keys(queue):
            pipe.lrange(key, 0, -1)
        pipe.hvals(unacked_key())
        replies = pipe.execute()
    found: set[str] = set()
    for messages in replies:
        for message in messages:
            raw = message if isinstance(message, bytes) else str(message).encode()
            found.update(match.decode() for match in _TASK_ID.findall(raw))
    return found
