"""``shelfops.relay_outbox``: catch up on work a crash left between commit and queueing.

Changes are committed with their deliveries before anything is published or mailed. If a
worker dies in between, the change stays unpublished (or the delivery pending) in the
database; this periodic task publishes and re-queues what has waited too long (deliveries,
and digests that are due or whose sender died), and queues again the batch chains the
broker lost (``shelfops_alerts.ledger``).
"""

from __future__ import annotations

from celery import shared_task

from shelfops_alerts.ledger.relay import lost_batches
from shelfops_alerts.notify.relay import overdue_mail
from shelfops_alerts.publish.changes import publish_unpublished
from shelfops_alerts.vocabulary import ALERTS_QUEUE, EMAIL_QUEUE, RELAY_TASK
from workers.tasks import context
from workers.tasks.batches import queue_chain
from workers.tasks.digest import send_digest
from workers.tasks.email import send_alert_email
from workers.tasks.retrying import RetriesFaults

#: Most rows one relay run takes; the next run takes the rest.
RELAY_LIMIT = 5000


@shared_task(name=RELAY_TASK, base=RetriesFaults, acks_late=True)
def relay_outbox() -> dict[str, int]:
    """Publish changes never published; re-queue deliveries and digests that are due with
    no message out, or stuck sending; fail those with no attempt left; queue again the
    batches the broker lost."""
    settings = context.settings()
    with context.sessions().begin() as session:
        published = publish_unpublished(
            session,
            context.redis_client(),
            older_than_s=settings.outbox_relay_after_s,
            limit=RELAY_LIMIT,
            stream_maxlen=settings.stream_maxlen,
        )
    backlog = int(context.redis_client().llen(EMAIL_QUEUE))
    overdue = overdue_mail(context.sessions(), settings, backlog=backlog, limit=RELAY_LIMIT)
    for delivery_id in overdue.delivery_ids:
        send_alert_email.apply_async((delivery_id,), queue=EMAIL_QUEUE)
    for digest_id in overdue.digest_ids:
        send_digest.apply_async((digest_id,), queue=EMAIL_QUEUE)
    batches = lost_batches(
        context.sessions(),
        context.redis_client(),
        queue=ALERTS_QUEUE,
        grace_s=settings.batch_lost_after_s,
        requeue_limit=settings.batch_requeue_limit,
        limit=RELAY_LIMIT,
    )
    for batch in batches.requeue:
        queue_chain(batch)
    return {
        "published": published,
        "batches_requeued": len(batches.requeue),
        "batches_given_up": len(batches.gave_up) + len(batches.parked),
        "deliveries_requeued": len(overdue.delivery_ids),
        "digests_requeued": len(overdue.digest_ids),
        "failed": overdue.failed,
    }
