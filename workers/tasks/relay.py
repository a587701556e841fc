"""``shelfops.relay_outbox``: catch up on work a crash left between commit and queueing.

Changes are committed with their deliveries before anything is published or mailed. If a
worker dies in between, the change stays unpublished (or the delivery pending) in the
database; this periodic task publishes and re-queues what has waited too long (deliveries,
and digests whose sender died: ``shelfops.flush_digests`` does the latter more often).
"""

from __future__ import annotations

from celery import shared_task

from shelfops_alerts.notify.deliveries import claim_stale
from shelfops_alerts.notify.digests import due_digests
from shelfops_alerts.publish.changes import (
    claim_unpublished,
    load_changes,
    mark_published,
    publish_changes,
)
from workers.routing import EMAIL_QUEUE
from workers.tasks import context
from workers.tasks.digest import send_digest
from workers.tasks.email import send_alert_email

#: Most rows one relay run takes; the next run takes the rest.
RELAY_LIMIT = 5000


@shared_task(name="shelfops.relay_outbox", acks_late=True)
def relay_outbox() -> dict[str, int]:
    """Publish changes never published, and re-queue deliveries stuck pending or sending
    and digests due or stuck sending."""
    settings = context.settings()
    factory = context.sessions()
    with factory.begin() as session:
        history_ids = claim_unpublished(
            session, older_than_s=settings.outbox_relay_after_s, limit=RELAY_LIMIT
        )
        published = publish_changes(
            context.redis_client(),
            load_changes(session, history_ids=history_ids),
            stream_maxlen=settings.stream_maxlen,
        )
        mark_published(session, history_ids=history_ids)
    with factory.begin() as session:
        stale = claim_stale(session, older_than_s=settings.outbox_relay_after_s, limit=RELAY_LIMIT)
        digests = due_digests(
            session, stale_after_s=settings.outbox_relay_after_s, limit=RELAY_LIMIT
        )
    for delivery_id in stale:
        send_alert_email.delay(delivery_id)
    for digest_id in digests:
        send_digest.apply_async((digest_id,), queue=EMAIL_QUEUE)
    return {
        "published": published,
        "deliveries_requeued": len(stale),
        "digests_requeued": len(digests),
    }
