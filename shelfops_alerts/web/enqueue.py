"""Queueing events from the webhook without blocking the event loop.

A Celery producer's ``send_task`` is synchronous (and costs about half a millisecond of
CPU under the GIL). The webhook instead builds the very message Celery builds
(:mod:`shelfops_alerts.intake.messages`, shared with the Python producer) and pushes it
onto the queue's Redis list with the asyncio Redis client. One connection pool per process;
no broker connection per request.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from shelfops_alerts.intake.client import _producer
from shelfops_alerts.intake.messages import MessageBuilder
from shelfops_alerts.vocabulary import ALERTS_QUEUE

#: Push the message only while KEYS[1] (a token's cache entry) still holds ARGV[2]; then
#: answer the entry's remaining lifetime (ms), so the caller can refresh it ahead of time.
_PUSH_IF_CACHED = """
if redis.call('GET', KEYS[1]) == ARGV[2] then
    redis.call('LPUSH', KEYS[2], ARGV[1])
    return redis.call('PTTL', KEYS[1])
end
return false
"""


class TaskQueue:
    """Sends tasks by name with JSON keyword arguments to one queue of the broker."""

    def __init__(self, client: aioredis.Redis, *, broker_url: str, queue: str = ALERTS_QUEUE):
        self.client = client
        self.queue = queue
        self._builder = MessageBuilder(_producer(broker_url).amqp, queue)
        self._push_if_cached = client.register_script(_PUSH_IF_CACHED)

    def message(
        self,
        task_name: str,
        kwargs: dict[str, Any],
        *,
        task_id: str | None = None,
        chain: list[dict[str, Any]] | None = None,
    ) -> tuple[str, str]:
        """(task id, the kombu envelope as JSON): see :class:`MessageBuilder`."""
        return self._builder.message(task_name, kwargs, task_id=task_id, chain=chain)

    async def send(
        self,
        task_name: str,
        kwargs: dict[str, Any],
        *,
        task_id: str | None = None,
        chain: list[dict[str, Any]] | None = None,
    ) -> str:
        """Queue the task; returns its id once Redis holds the message."""
        task_id, envelope = self.message(task_name, kwargs, task_id=task_id, chain=chain)
        await self.client.lpush(self.queue, envelope)
        return task_id

    async def send_if_cached(
        self,
        task_name: str,
        kwargs: dict[str, Any],
        *,
        key: str,
        value: bytes,
        task_id: str | None = None,
        chain: list[dict[str, Any]] | None = None,
    ) -> tuple[str, int] | None:
        """Queue the task only if Redis still holds ``value`` at ``key`` (checked and pushed
        in one atomic step, one round trip): (its id, the milliseconds ``key`` has left to
        live); None, and nothing queued, otherwise."""
        task_id, envelope = self.message(task_name, kwargs, task_id=task_id, chain=chain)
        ttl_ms = await self._push_if_cached(keys=[key, self.queue], args=[envelope, value])
        return None if ttl_ms is None else (task_id, int(ttl_ms))
