"""Reading the task messages waiting in a Redis queue, as a worker would decode them."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import redis


@dataclass(frozen=True)
class Queued:
    """One waiting task message (Celery protocol 2): its name, id, arguments and what
    follows it (``embed``: ``chain``, ``callbacks``, ``errbacks``)."""

    task: str
    task_id: str
    args: list[Any]
    kwargs: dict[str, Any]
    embed: dict[str, Any]


def queued(redis_url: str, queue: str) -> list[Queued]:
    """Every message in ``queue``, oldest first (kombu pushes on the left)."""
    found = []
    for raw in reversed(redis.Redis.from_url(redis_url).lrange(queue, 0, -1)):
        envelope = json.loads(raw)
        body = base64.b64decode(envelope["body"])
        args, kwargs, embed = json.loads(body)
        headers = envelope["headers"]
        found.append(Queued(headers["task"], headers["id"], args, kwargs, embed))
    return found
