"""``shelfops.send_digest`` and ``shelfops.flush_digests``: e-mail a recipient's grouped changes.

``send_digest`` is queued (with a countdown) by the delivery that opened the digest, for when
its window closes; it goes through the same fleet-wide rate limit and retry policy as a single
e-mail (workers/tasks/email.py). ``flush_digests`` runs on the beat schedule and re-queues
digests that are due but were never sent, or stuck ``sending`` because their worker died:
membership lives in PostgreSQL, so nothing pending is lost with a worker.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from shelfops_alerts.notify.digests import (
    claim_digest,
    due_digests,
    finish_digest,
    seconds_until_due,
)
from shelfops_alerts.notify.email import build_digest_outgoing, render_digest_email
from workers.routing import EMAIL_QUEUE
from workers.tasks import context
from workers.tasks.email import DeliveryFailed, send_and_record, take_slot

#: Most digests one flush run re-queues; the next run takes the rest.
FLUSH_LIMIT = 1000


@shared_task(
    name="shelfops.send_digest",
    bind=True,
    acks_late=True,
    queue=EMAIL_QUEUE,
    max_retries=None,  # bounded by SHELFOPS_EMAIL_MAX_RETRIES / _MAX_AGE_S, counted in the db
)
def send_digest(self: Any, digest_id: int) -> dict[str, Any]:
    """Send one due digest listing its deliveries' changes; mark them all sent with it."""
    settings = context.settings()
    factory = context.sessions()
    digest_id = int(digest_id)
    with factory() as session:
        wait = seconds_until_due(session, digest_id=digest_id)
    if wait is not None and wait > 0:
        # Early (clocks differ, or a flush raced the window): come back when it closes.
        raise self.retry(countdown=wait, max_retries=None)
    send_at = take_slot(self)
    with factory.begin() as session:
        job = claim_digest(
            session, digest_id=digest_id, stale_after_s=settings.outbox_relay_after_s
        )
    if job is None:
        return {"digest_id": digest_id, "status": "skipped (final, unknown or being sent)"}

    def record(status: str, error: str | None, message_id: str | None) -> None:
        with factory.begin() as session:
            finish_digest(
                session,
                digest_id=job.digest_id,
                status=status,
                window_s=settings.digest_window_s,
                error=error,
                provider_message_id=message_id,
            )

    what = f"digest {job.digest_id} of {len(job.alerts)} alerts to {job.recipient}"
    try:
        rendered = render_digest_email(
            job.alerts,
            customer_id=job.customer_id,
            templates_dir=settings.templates_dir,
            dashboard_url=settings.dashboard_url,
            window_s=settings.digest_window_s,
        )
        email = build_digest_outgoing(
            rendered,
            to=job.recipient,
            sender=settings.email_from,
            digest_id=job.digest_id,
            customer_id=job.customer_id,
            alert_count=len(job.alerts),
        )
    except ValueError as exc:  # an unusable address, or nothing to list: no retry can fix it
        record("failed", str(exc), None)
        raise DeliveryFailed(f"{what}: {exc}") from exc
    send_and_record(
        self, email, send_at=send_at, attempt=job.attempt, age_s=job.age_s, record=record, what=what
    )
    return {"digest_id": job.digest_id, "status": "sent", "deliveries": len(job.delivery_ids)}


@shared_task(name="shelfops.flush_digests", acks_late=True)
def flush_digests() -> dict[str, int]:
    """Queue every digest whose window closed, or whose sender died, to be sent."""
    settings = context.settings()
    with context.sessions()() as session:
        due = due_digests(session, stale_after_s=settings.outbox_relay_after_s, limit=FLUSH_LIMIT)
    for digest_id in due:
        send_digest.apply_async((digest_id,), queue=EMAIL_QUEUE)
    return {"digests_queued": len(due)}
