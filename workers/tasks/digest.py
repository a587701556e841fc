"""``shelfops.send_digest`` and ``shelfops.flush_digests``: e-mail a recipient's grouped changes.

``send_digest`` is queued (with a countdown) by the delivery that opened the digest, for when
its window closes; it goes through the same claim, rate limit, retry policy and recording as
a single e-mail (:func:`shelfops_alerts.notify.sending.send_digest`). ``flush_digests`` runs
on the beat schedule and re-queues digests that are due with no message out (a window too
long to hand to the broker, a lost message), or stuck ``sending`` because their worker died:
membership lives in PostgreSQL, so nothing pending is lost with a worker.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from shelfops_alerts.notify import sending
from shelfops_alerts.notify.relay import due_digest_ids
from shelfops_alerts.vocabulary import EMAIL_QUEUE, FLUSH_DIGESTS_TASK, SEND_DIGEST_TASK
from workers.tasks import context
from workers.tasks.answers import answer

#: Most digests one flush run re-queues; the next run takes the rest.
FLUSH_LIMIT = 1000


@shared_task(
    name=SEND_DIGEST_TASK,
    bind=True,
    acks_late=True,
    queue=EMAIL_QUEUE,
    max_retries=None,  # bounded by SHELFOPS_EMAIL_MAX_RETRIES / _MAX_AGE_S, counted in the db
)
def send_digest(self: Any, digest_id: int) -> dict[str, Any]:
    """Send one due digest listing its deliveries' changes; mark them all sent with it."""
    outcome = sending.send_digest(context.notifier(), int(digest_id))
    return answer(self, outcome, digest_id=int(digest_id))


@shared_task(name=FLUSH_DIGESTS_TASK, acks_late=True)
def flush_digests() -> dict[str, int]:
    """Queue every digest whose window closed, or whose sender died, to be sent."""
    backlog = int(context.redis_client().llen(EMAIL_QUEUE))
    due = due_digest_ids(context.sessions(), context.settings(), backlog=backlog, limit=FLUSH_LIMIT)
    for digest_id in due:
        send_digest.apply_async((digest_id,), queue=EMAIL_QUEUE)
    return {"digests_queued": len(due)}
