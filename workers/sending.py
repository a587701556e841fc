"""Task messages a worker queues (a chain's next step, an e-mail delivery) pushed on their
queue's Redis list as built messages, as the producer and the webhook push theirs
(``shelfops_alerts/intake/messages.py``), instead of through Celery's ``send_task``.

Each step of an event's chain queues the next one when it returns (Celery's trace calls the
next signature's ``apply_async``). ``send_task`` takes a producer from the pool, routes,
``saferepr``s the arguments (the previous step's whole result) for Flower, runs kombu's
publish with its retry wrapper and then LPUSHes: about 1 ms of CPU per step in the pool
child, for one Redis command. :class:`PushedTask` builds the same protocol 2 message (same
headers, body, chain, error callbacks, parent and root ids) and LPUSHes it, retrying a
broker fault as kombu's publish does (``PUBLISH_RETRY_INTERVALS_S``) and then raising kombu's
``OperationalError``, which Celery's trace turns into the step's failure as before.

Only a plain send takes this path: options in :data:`PUSHED_OPTIONS`, to a queue of a direct
exchange (which Celery addresses through the default exchange by the queue's name, and
kombu's Redis transport LPUSHes on that list at priority 0).
Anything else (a countdown or ETA, as a retry uses; an expiry; link callbacks; a priority;
an explicit producer or exchange; eager mode) goes through ``send_task`` unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
from celery import Task
from kombu import Queue

from shelfops_alerts.intake.client import push_envelope
from shelfops_alerts.intake.messages import MessageBuilder
from workers.tasks.context import redis_client

#: ``apply_async`` options a pushed message carries; any other sends through Celery.
PUSHED_OPTIONS = frozenset(
    {
        "task_id",
        "chain",
        "parent_id",
        "root_id",
        "link_error",
        "queue",
        "ignore_result",
        "reply_to",
    }
)


@lru_cache(maxsize=8)
def _builder(amqp: Any, queue: str) -> MessageBuilder:
    return MessageBuilder(amqp, queue)


def pushable_queue(task: Task, args: Any, kwargs: Any, options: dict[str, Any]) -> Queue | None:
    """The queue a plain send of ``task`` goes to when its message can be pushed as built;
    None when it must go through Celery's ``send_task``."""
    if not PUSHED_OPTIONS.issuperset(options) or _own_options(task):
        return None
    app = task._get_app()
    if app.conf.task_always_eager:
        return None
    routed = app.amqp.router.route(dict(options), task.name, args, kwargs, task)
    queue = routed.get("queue")
    if not isinstance(queue, Queue) or set(routed) - PUSHED_OPTIONS:
        return None
    # A direct queue named by the route alone: Celery sends its message to the default
    # exchange under the queue's name, which kombu's Redis transport LPUSHes on that list.
    if queue.exchange is None or queue.exchange.type != "direct":
        return None
    return queue


def push(
    task: Task,
    queue: Queue,
    client: redis.Redis,
    args: Any,
    kwargs: Any,
    options: dict[str, Any],
) -> str:
    """Queue one message of ``task`` on ``queue`` (one LPUSH); returns its task id."""
    link_error = options.get("link_error")
    task_id, envelope = _builder(task._get_app().amqp, queue.name).message(
        task.name,
        dict(kwargs or {}),
        task_id=options.get("task_id"),
        chain=options.get("chain"),
        args=tuple(args or ()),
        errbacks=None if link_error is None else _listed(link_error),
        parent_id=options.get("parent_id"),
        root_id=options.get("root_id"),
        reply_to=options.get("reply_to") or task._get_app().thread_oid,
        time_limit=task.time_limit,
        soft_time_limit=task.soft_time_limit,
    )
    push_envelope(client, queue.name, envelope)
    return task_id


def _own_options(task: Task) -> dict[str, Any]:
    """What the task itself sets for its sends (Celery's ``Task._get_exec_options``: its
    queue, priority, expiry, serializer …) beyond its time limits, which a pushed message
    carries as ``send_task`` would, and the JSON serializer."""
    return {
        key: value
        for key, value in task._get_exec_options().items()
        if value is not None and key not in CARRIED and (key, value) != ("serializer", "json")
    }


#: The task's own options a pushed message carries (in its ``timelimit`` header); it is
#: JSON, as every message is.
CARRIED = ("time_limit", "soft_time_limit")


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


class PushedTask(Task):
    """Celery's task, its plain sends pushed as built messages (see the module)."""

    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: str | None = None,
        **options: Any,
    ) -> Any:
        if producer is None and link is None and shadow is None:
            plain = dict(options)
            if task_id is not None:
                plain["task_id"] = task_id
            if link_error is not None:
                plain["link_error"] = link_error
            queue = pushable_queue(self, args, kwargs, plain)
            if queue is not None:
                check_arguments = getattr(self, "__header__", None) if self.typing else None
                if check_arguments is not None:
                    check_arguments(*(args or ()), **(kwargs or {}))
                pushed_id = push(self, queue, redis_client(), args, kwargs, plain)
                return self.AsyncResult(pushed_id)
        return super().apply_async(
            args,
            kwargs,
            task_id=task_id,
            producer=producer,
            link=link,
            link_error=link_error,
            shadow=shadow,
            **options,
        )
