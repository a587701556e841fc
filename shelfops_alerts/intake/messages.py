"""One way to queue a task message: the kombu envelope Celery would send, pushed onto the
queue's Redis list, where kombu's Redis transport puts a message of priority 0.

Both doors use it: the Python producer (``intake/client.py``, a plain Redis client) and the
webhook (``web/enqueue.py``, the asyncio client). The message is built with the producer
app's own ``amqp.as_task_v2`` (Celery's protocol 2, JSON), so a worker reads it as one that
``send_task`` sent; what ``send_task`` adds on top (a broker connection and channel per
send, ``saferepr`` of the arguments, a ``before_task_publish`` round of signals) cost about
1.5 ms of CPU per event on the producer's side.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

#: A list longer than this is summarised in the message's ``kwargsrepr`` (what Flower shows).
REPR_ITEMS = 10


def _shown(value: Any) -> Any:
    return f"<{len(value)} items>" if isinstance(value, list) and len(value) > REPR_ITEMS else value


def kwargs_summary(kwargs: dict[str, Any]) -> str:
    """The task's arguments as Flower shows them; long lists summarised. (Celery would build
    this with ``saferepr``, which costs more than everything else the webhook does.)"""
    return repr({key: _shown(value) for key, value in kwargs.items()})


def args_summary(args: tuple[Any, ...] | list[Any]) -> str:
    """Positional arguments as Flower shows them: a list, or a mapping's lists, longer than
    :data:`REPR_ITEMS` summarised (a chain's next step gets the previous step's result)."""
    shown = [
        {key: _shown(item) for key, item in value.items()}
        if isinstance(value, dict)
        else _shown(value)
        for value in args
    ]
    return repr(tuple(shown))


class MessageBuilder:
    """Builds task messages for one queue with a Celery app's ``amqp`` (the producer's)."""

    def __init__(self, amqp: Any, queue: str) -> None:
        # kombu is imported here, not with the module: the core imports no Celery at module
        # level.
        from kombu.serialization import dumps

        self.amqp = amqp
        self.queue = queue
        self._dumps = dumps

    def message(
        self,
        task_name: str,
        kwargs: dict[str, Any],
        *,
        task_id: str | None = None,
        chain: list[dict[str, Any]] | None = None,
        args: tuple[Any, ...] | list[Any] = (),
        errbacks: list[dict[str, Any]] | None = None,
        parent_id: str | None = None,
        root_id: str | None = None,
        reply_to: str | None = None,
        time_limit: float | None = None,
        soft_time_limit: float | None = None,
    ) -> tuple[str, str]:
        """(task id, the kombu envelope as JSON) for one task message; ``chain``: the steps
        that follow it, as Celery's protocol 2 carries them (the last first); ``errbacks``:
        its error callbacks (signatures); ``parent_id``/``root_id``: the task that queues it
        and the first of its workflow; ``reply_to``: Celery's address for results (none is
        read; kept as Celery sends it); ``time_limit``/``soft_time_limit``: the task's own
        limits, which Celery's ``send_task`` writes in the message."""
        task_id = task_id or str(uuid.uuid4())
        task = self.amqp.as_task_v2(
            task_id,
            task_name,
            args=args,
            kwargs=kwargs,
            ignore_result=True,
            argsrepr=args_summary(args),
            kwargsrepr=kwargs_summary(kwargs),
            chain=chain,
            errbacks=errbacks,
            parent_id=parent_id,
            root_id=root_id,
            reply_to=reply_to,
            time_limit=time_limit,
            soft_time_limit=soft_time_limit,
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
