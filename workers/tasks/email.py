"""``shelfops.send_alert_email``: deliver one e-mail, on the ``email`` queue.

Retry policy: provider faults (5xx, 429, timeouts, dropped connections) are retried with
exponential backoff and jitter, at most ``SHELFOPS_EMAIL_MAX_RETRIES`` times; a 429's own
reset time wins when it is longer. Permanent faults (other 4xx) are recorded and fail the
task at once, with the provider's reason, so they show as failures in Flower.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import shared_task

from shelfops_alerts.backoff import compute_backoff
from shelfops_alerts.deliveries import claim_delivery, record_outcome
from shelfops_alerts.email import (
    PermanentSendError,
    TransientSendError,
    backend_for,
    build_outgoing,
    render_alert_email,
)
from workers.tasks import context

logger = logging.getLogger(__name__)

#: Spread (seconds) added to a rate-limited task's countdown so waiting tasks do not all
#: come back at the same instant.
RATE_JITTER_S = 0.05


class DeliveryFailed(Exception):
    """A delivery ended failed; the message carries the provider's reason."""


@shared_task(
    name="shelfops.send_alert_email",
    bind=True,
    acks_late=True,
    max_retries=None,  # bounded by SHELFOPS_EMAIL_MAX_RETRIES below, counted in the database
)
def send_alert_email(self: Any, delivery_id: int) -> dict[str, Any]:
    """Render and send one delivery; record the attempt; retry or fail as the policy says."""
    settings = context.settings()
    wait = context.email_rate_limit().try_acquire()
    if wait > 0:
        # No slot free in the fleet-wide budget: come back later rather than block a worker.
        raise self.retry(countdown=wait + random.uniform(0, RATE_JITTER_S), max_retries=None)
    factory = context.sessions()
    with factory.begin() as session:
        job = claim_delivery(
            session,
            delivery_id=int(delivery_id),
            stale_after_s=settings.outbox_relay_after_s,
        )
    if job is None:
        return {"delivery_id": delivery_id, "status": "skipped (final, unknown or being sent)"}
    try:
        rendered = render_alert_email(
            job.alert, templates_dir=settings.templates_dir, dashboard_url=settings.dashboard_url
        )
        email = build_outgoing(
            rendered,
            to=job.recipient,
            sender=settings.email_from,
            alert_id=int(job.alert["alert_id"]),
            delivery_id=job.delivery_id,
        )
    except ValueError as exc:  # an unusable address or alert: no retry can fix it
        with factory.begin() as session:
            record_outcome(session, delivery_id=job.delivery_id, status="failed", error=str(exc))
        raise DeliveryFailed(f"delivery {job.delivery_id} to {job.recipient}: {exc}") from exc
    try:
        sent = backend_for(settings).send(email)
    except PermanentSendError as exc:
        with factory.begin() as session:
            record_outcome(session, delivery_id=job.delivery_id, status="failed", error=str(exc))
        raise DeliveryFailed(f"delivery {job.delivery_id} to {job.recipient}: {exc}") from exc
    except TransientSendError as exc:
        if job.attempt > settings.email_max_retries:
            with factory.begin() as session:
                record_outcome(
                    session,
                    delivery_id=job.delivery_id,
                    status="failed",
                    error=f"gave up after {job.attempt} attempts: {exc}",
                )
            raise DeliveryFailed(
                f"delivery {job.delivery_id} gave up after {job.attempt} attempts: {exc}"
            ) from exc
        delay = compute_backoff(job.attempt, base_s=settings.email_retry_backoff_s)
        if exc.retry_after:
            # The provider said when: hold back the whole fleet, not only this task.
            context.email_rate_limit().pause(exc.retry_after)
            delay = max(delay, exc.retry_after)
        with factory.begin() as session:
            record_outcome(session, delivery_id=job.delivery_id, status="retrying", error=str(exc))
        logger.warning(
            "delivery %s attempt %s: %s; retry in %.1fs", job.delivery_id, job.attempt, exc, delay
        )
        raise self.retry(exc=exc, countdown=delay) from exc
    with factory.begin() as session:
        record_outcome(
            session,
            delivery_id=job.delivery_id,
            status="sent",
            provider_message_id=sent.provider_message_id,
        )
    return {"delivery_id": job.delivery_id, "status": "sent", "attempt": job.attempt}
