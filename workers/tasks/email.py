"""``shelfops.send_alert_email``: deliver one e-mail, on the ``email`` queue.

Routing, the rate limit, the claim, sending, retry policy and recording are the core's
(:func:`shelfops_alerts.notify.sending.send_delivery`); this task turns its outcome into
Celery's: a retry with a countdown, a failure with the reason, or a result. A delivery that
opened its recipient's digest queues ``shelfops.send_digest`` for when the window closes.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from shelfops_alerts.notify.outcomes import Digested
from shelfops_alerts.notify.sending import send_delivery
from shelfops_alerts.vocabulary import EMAIL_QUEUE, SEND_DIGEST_TASK, SEND_EMAIL_TASK
from workers.tasks import context
from workers.tasks.answers import answer


@shared_task(
    name=SEND_EMAIL_TASK,
    bind=True,
    acks_late=True,
    max_retries=None,  # bounded by SHELFOPS_EMAIL_MAX_RETRIES / _MAX_AGE_S, counted in the db
)
def send_alert_email(self: Any, delivery_id: int) -> dict[str, Any]:
    """Route one delivery; if it goes on its own, render, send and record it."""
    outcome = send_delivery(context.notifier(), int(delivery_id))
    if isinstance(outcome, Digested) and outcome.due_in_s is not None:
        # Queued by name, so the two task modules do not import each other.
        self.app.send_task(
            SEND_DIGEST_TASK,
            args=[outcome.digest_id],
            countdown=outcome.due_in_s,
            queue=EMAIL_QUEUE,
        )
    return answer(self, outcome, delivery_id=int(delivery_id))
