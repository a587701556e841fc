"""``shelfops.publish_alerts``: announce committed changes, then hand mail to the email queue."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from shelfops_alerts.persist import PersistResult
from shelfops_alerts.publish import load_changes, mark_published, publish_changes
from workers.tasks import context
from workers.tasks.email import send_alert_email


def publish_history(history_ids: list[int]) -> int:
    """Publish these changes through one Redis pipeline and mark them published."""
    factory = context.sessions()
    with factory() as session:
        messages = load_changes(session, history_ids=history_ids)
    sent = publish_changes(context.redis_client(), messages)
    with factory.begin() as session:
        mark_published(session, history_ids=history_ids)
    return sent


@shared_task(name="shelfops.publish_alerts", acks_late=True)
def publish_alerts(persisted: dict[str, Any]) -> dict[str, int]:
    """PUBLISH each change on ``alerts:{customer_id}`` and queue its e-mail deliveries."""
    result = PersistResult.from_json(persisted)
    published = publish_history(result.history_ids)
    for delivery_id in result.delivery_ids:
        send_alert_email.delay(delivery_id)
    return {"published": published, "emails_queued": len(result.delivery_ids)}
