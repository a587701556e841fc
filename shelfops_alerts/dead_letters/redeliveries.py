"""Counting each message's starts in Redis, and deciding when a message is parked.

A start is counted before the task runs and the count is forgotten when the task ends
(success, failure, retry: ``self.retry`` keeps the task id, and the retry is a new start
that did not crash). So the count is the number of starts that never ended: the times a
worker died on the message. Only redeliveries are counted (:func:`count_redelivery`): a
message's first delivery is not, so a task that ends normally, nearly every one, costs no
Redis round trip; a message comes back only if its earlier delivery never ended, which
then counts as one start that never ended. The counters expire on their own, so one left by
a task whose end could not be recorded (Redis unreachable just then, a hard time limit)
cannot linger.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

#: Redis hash per task id: ``starts`` and ``first`` (Unix time of the first start).
KEY = "shelfops:starts:{}"
#: Seconds a counter outlives its latest start. A message comes back within the visibility
#: timeout (SHELFOPS_VISIBILITY_TIMEOUT_S, 1 h by default) of its worker's death, so a week
#: keeps every live count and still cleans up after messages that never came back.
COUNT_TTL_S = 7 * 24 * 3600
#: The count, atomically, as one command: add a start, keep the first start's time, renew
#: the expiry; answers the starts and the first time. (A MULTI/EXEC pipeline of the same
#: four commands costs the task six replies to parse, at every start of every task.)
_COUNT = """
local starts = redis.call('HINCRBY', KEYS[1], 'starts', 1)
redis.call('HSETNX', KEYS[1], 'first', ARGV[1])
local first = redis.call('HGET', KEYS[1], 'first')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {starts, first}
"""


@dataclass(frozen=True)
class Start:
    """This delivery of a message: how many starts it has had, this one included, that
    never ended, and when the first of them was (Unix time)."""

    starts: int
    first_seen: float


def count_start(client: redis.Redis, task_id: str, *, now: float | None = None) -> Start:
    """Count a start of the message ``task_id`` (one round trip, once the script is loaded)."""
    first_now = repr(time.time() if now is None else now)
    # EVALSHA, with the script loaded first when the server does not know it yet.
    count = client.register_script(_COUNT)
    starts, first = count(keys=[KEY.format(task_id)], args=[first_now, COUNT_TTL_S])
    return Start(starts=int(starts), first_seen=float(first))


def count_redelivery(client: redis.Redis, task_id: str, *, now: float | None = None) -> Start:
    """Count a start of the redelivered message ``task_id``; its first delivery, never
    counted, is one more start that never ended (the message came back). One round trip."""
    counted = count_start(client, task_id, now=now)
    return Start(starts=counted.starts + 1, first_seen=counted.first_seen)


def forget(client: redis.Redis, task_id: str) -> None:
    """The task ended (any way but its worker's death): its starts no longer count."""
    client.delete(KEY.format(task_id))


def should_park(start: Start, *, max_redeliveries: int) -> bool:
    """Whether this delivery is parked instead of run: the message was already started
    ``max_redeliveries`` times and never ended."""
    return start.starts - 1 >= max_redeliveries
