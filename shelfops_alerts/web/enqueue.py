"""Queueing events from the webhook without blocking the event loop.

A Celery producer's ``send_task`` is synchronous (and costs about half a millisecond of
CPU under the GIL). The webhook instead builds the very message Celery builds — with the
producer app's own ``amqp.as_task_v2`` (protocol 2, JSON) — and pushes it onto the queue's
Redis list with the asyncio Redis client, exactly where kombu's Redis transport puts a
message of priority 0. One connection pool per process; no broker connection per request.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import redis.asyncio as aioredis

from shelfops_alerts.intake.client import _producer
from shelfops_alerts.vocabulary import ALERTS_QUEUE

#: A list longer than this is summarised in the message's ``kwargsrepr`` (what Flower shows).
REPR_ITEMS = 10


def kwargs_summary(kwargs: dict[str, Any]) -> str:
    """The task's arguments as Flower shows them; long lists summarised. (Celery would build
    this with ``saferepr``, which costs more than everything else the webhook does.)"""
    shown = {
        key: f"<{len(value)} items>"
        if isinstance(value, list) and len(value) > REPR_ITEMS
        else value
        for key, value in kwargs.items()
    }
    return repr(shown)


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
        # Celery (and kombu) are imported here, not with the module: the core imports no
        # Celery at module level.
        from kombu.serialization import dumps

        self._amqp = _producer(broker_url).amqp
        self._dumps = dumps
        self._push_if_cached = client.register_script(_PUSH_IF_CACHED)

    def message(
        self,
        task_name: str,
        kwargs: dict[str, Any],
        *,
        task_id: str | None = None,
        chain: list[dict[str, Any]] | None = None,
    ) -> tuple[str, str]:
        """(task id, the kombu envelope as JSON) for one task message; ``chain``: the steps
        that follow it, as Celery's protocol 2 carries them (the last first)."""
        task_id = task_id or str(uuid.uuid4())
        task = self._amqp.as_task_v2(
            task_id,
            task_name,
            args=(),
            kwargs=kwargs,
            ignore_result=True,
            argsrepr="()",
            kwargsrepr=kwargs_summary(kwargs),
            chain=chain,
        )
        content_type, encoding, body = self._dumps(task.body, serializer="json")
        raw = body if isinstance(body, bytes) else body.encode(encoding)
        envelope = {
            "body": base64.b64encode(raw).decode(),
            "content-encoding": encoding,
            "content-type": content_type,
            "headers": task.headers,
            "properties": {
                **task.properties,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": self.queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
        return task_id, json.dumps(envelope)

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
