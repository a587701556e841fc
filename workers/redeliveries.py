"""The base class of every task: count each message's starts; park one that kills workers.

``task_reject_on_worker_lost`` puts a message back on its queue when its worker dies, so a
message that kills its worker (out of memory, a crash in a library) would do so at every
delivery, forever. Each start of a redelivered message (kombu marks a message it puts back
``redelivered``) is counted in Redis under the task id before the task runs and forgotten
when it ends in any way (returns, raises, retries, is rejected); only a worker's death
leaves it counted. A first delivery is not counted (no Redis round trip for a task that
ends normally): when it comes back, it counts as a start that never ended
(:func:`~shelfops_alerts.dead_letters.redeliveries.count_redelivery`). A message already
started SHELFOPS_MAX_REDELIVERIES times that way is parked instead of run
(:mod:`shelfops_alerts.dead_letters`): stored whole, then failed with :class:`DeadLettered`,
so the failure shows in Flower and a sweep batch's error callback still counts it.

Calls that are not redeliveries (a task called as a function, an error callback run inline)
are not counted.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery.exceptions import Reject

from shelfops_alerts.dead_letters import redeliveries
from shelfops_alerts.dead_letters.store import Message, park
from workers.sending import PushedTask
from workers.tasks import context

logger = logging.getLogger(__name__)

#: Seconds to wait before handing a message back to its queue when it could not be parked
#: (the database is down), so the attempts do not spin.
PARK_RETRY_PAUSE_S = 5.0


class DeadLettered(Exception):
    """The message was parked as a dead letter instead of being run."""


class CountedTask(PushedTask):
    """Celery's task, counting each redelivery's start (``task_cls`` of the app); its plain
    sends are pushed as built messages (:mod:`workers.sending`)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        task_id = _redelivered_id(self.request)
        if task_id is None:
            return super().__call__(*args, **kwargs)
        client = context.redis_client()
        start = _count_start(client, task_id)
        if start is not None and redeliveries.should_park(
            start, max_redeliveries=context.settings().max_redeliveries
        ):
            self._park(start, args, kwargs)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            if start is not None:
                _forget(client, task_id)

    def _park(self, start: redeliveries.Start, args: Any, kwargs: Any) -> None:
        request = self.request
        crashed = start.starts - 1
        reason = (
            f"started {crashed} time{'s' if crashed != 1 else ''} without finishing"
            " (its worker died each time)"
        )
        message = Message(
            task_name=self.name,
            task_id=str(request.id),
            args=list(args),
            kwargs=dict(kwargs),
            queue=(request.delivery_info or {}).get("routing_key"),
            options={
                key: value
                for key, value in (
                    ("chain", request.chain),
                    ("link", request.callbacks),
                    ("link_error", request.errbacks),
                )
                if value
            },
        )
        try:
            with context.sessions().begin() as session:
                dead_letter_id = park(
                    session,
                    message=message,
                    reason=reason,
                    deliveries=start.starts,
                    first_seen=start.first_seen,
                )
        except Exception:
            logger.exception(
                "could not park %s[%s] as a dead letter; back to its queue in %g s",
                self.name,
                request.id,
                PARK_RETRY_PAUSE_S,
            )
            time.sleep(PARK_RETRY_PAUSE_S)
            raise Reject("could not be parked as a dead letter", requeue=True) from None
        logger.error(
            "%s[%s] parked as dead letter %d after %d deliveries: %s",
            self.name,
            request.id,
            dead_letter_id,
            start.starts,
            reason,
        )
        raise DeadLettered(f"parked as dead letter {dead_letter_id}: {reason}")


def _redelivered_id(request: Any) -> str | None:
    """The task id when this call is the redelivery of a message, else None."""
    if request.called_directly or request.is_eager or not request.id:
        return None
    if not request.delivery_info or not request.delivery_info.get("redelivered"):
        return None
    return str(request.id)


def _count_start(client: redis.Redis, task_id: str) -> redeliveries.Start | None:
    try:
        return redeliveries.count_redelivery(client, task_id)
    except redis.RedisError as exc:
        # Counting is a guard, not the work: run the task uncounted rather than not at all.
        logger.warning("could not count the start of task %s: %s", task_id, exc)
        return None


def _forget(client: redis.Redis, task_id: str) -> None:
    try:
        redeliveries.forget(client, task_id)
    except redis.RedisError as exc:
        # The counter expires on its own (redeliveries.COUNT_TTL_S).
        logger.warning("could not forget the starts of task %s: %s", task_id, exc)
