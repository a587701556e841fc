"""``shelfops.send_alert_email``: deliver one e-mail, on the ``email`` queue.

A delivery is routed once (digests.py): the first mail of a quiet period for its recipient
goes out at once; later ones join the recipient's digest (``shelfops.send_digest``) and this
task is done with them.

Sending: take a slot of the fleet-wide rate limit (rate_limit.py; no slot soon: re-schedule
with a countdown), claim the delivery, render, send, record. Retry policy (backoff.py):
provider faults (5xx, 429, timeouts, dropped connections) are retried with exponential
backoff and jitter, at most ``SHELFOPS_EMAIL_MAX_RETRIES`` times and never once the delivery
is older than ``SHELFOPS_EMAIL_MAX_AGE_S``; a 429's own reset time wins when it is longer, and
pauses the whole fleet. Permanent faults (other 4xx) are recorded and fail the task at once,
with the provider's reason, so they show as failures in Flower.

Never twice: the claim (``sending``) is committed before the request and ``sent`` right after
the answer, and a task that finds its delivery sent does nothing. The one gap: a worker that
dies after the provider accepted the request but before ``sent`` is committed leaves the row
``sending``; the relay re-sends it (at least once, not exactly once; see the README).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from celery import shared_task

from shelfops_alerts.notify.backoff import plan_retry
from shelfops_alerts.notify.deliveries import claim_delivery, record_outcome
from shelfops_alerts.notify.digests import Routing, route_delivery
from shelfops_alerts.notify.email import (
    OutgoingEmail,
    PermanentSendError,
    SendResult,
    TransientSendError,
    backend_for,
    build_outgoing,
    render_alert_email,
)
from workers.routing import EMAIL_QUEUE
from workers.tasks import context

logger = logging.getLogger(__name__)

#: Spread (seconds) added to a rate-limited task's countdown so waiting tasks do not all
#: come back at the same instant.
RATE_JITTER_S = 0.05
#: A rate-limit slot at most this far away is reserved and waited for in the worker (a
#: fraction of a second); anything further is left alone and the task re-scheduled.
SLOT_WAIT_S = 0.25
#: A send later than this after its slot takes a new slot (see rate_limit.SPACING_MARGIN).
LATE_S = 0.005
#: Name of the digest task, queued by name so the two task modules do not import each other.
SEND_DIGEST = "shelfops.send_digest"

#: Records an attempt's outcome: (status, error, provider message id).
Recorder = Callable[[str, str | None, str | None], None]


class DeliveryFailed(Exception):
    """A delivery ended failed; the message carries the provider's reason."""


def take_slot(task: Any) -> float:
    """Reserve a send slot, or re-schedule ``task`` (raises Retry); returns when to send
    (a ``time.monotonic()`` deadline)."""
    slot = context.email_rate_limit().reserve(SLOT_WAIT_S)
    if not slot.granted:
        # No slot soon in the fleet-wide budget: come back later rather than block a worker.
        raise task.retry(countdown=slot.wait_s + random.uniform(0, RATE_JITTER_S), max_retries=None)
    return time.monotonic() + slot.wait_s


def send_and_record(
    task: Any,
    email: OutgoingEmail,
    *,
    send_at: float,
    attempt: int,
    age_s: float,
    record: Recorder,
    what: str,
) -> SendResult:
    """Send ``email`` on its slot and record the outcome; retry (raises Retry) or fail
    (raises DeliveryFailed with the provider's reason) as the policy says."""
    settings = context.settings()
    wait = send_at - time.monotonic()
    if wait < -LATE_S:
        # The slot passed while the claim and rendering ran (a cold process, a slow query):
        # sending now would crowd the next slots, so take a fresh one.
        slot = context.email_rate_limit().reserve(SLOT_WAIT_S)
        if not slot.granted:
            record("retrying", f"no rate-limit slot within {SLOT_WAIT_S:g} s", None)
            raise task.retry(
                countdown=slot.wait_s + random.uniform(0, RATE_JITTER_S), max_retries=None
            )
        wait = slot.wait_s
    time.sleep(max(0.0, wait))
    try:
        sent = backend_for(settings).send(email)
    except PermanentSendError as exc:
        record("failed", str(exc), None)
        raise DeliveryFailed(f"{what}: {exc}") from exc
    except TransientSendError as exc:
        if exc.retry_after:
            # The provider said when: hold back the whole fleet, not only this task.
            context.email_rate_limit().pause(exc.retry_after)
        plan = plan_retry(
            attempt,
            age_s=age_s,
            max_retries=settings.email_max_retries,
            max_age_s=settings.email_max_age_s,
            base_s=settings.email_retry_backoff_s,
            retry_after_s=exc.retry_after,
        )
        if plan.delay_s is None:
            record("failed", f"{plan.reason}: {exc}", None)
            raise DeliveryFailed(f"{what} {plan.reason}: {exc}") from exc
        record("retrying", str(exc), None)
        logger.warning("%s attempt %s: %s; retry in %.1fs", what, attempt, exc, plan.delay_s)
        raise task.retry(exc=exc, countdown=plan.delay_s) from exc
    record("sent", None, sent.provider_message_id)
    return sent


def schedule_digest(task: Any, routing: Routing) -> None:
    """Queue the digest a delivery just opened, to run when its window closes."""
    assert routing.digest_id is not None and routing.due_at is not None
    wait = (routing.due_at - dt.datetime.now(dt.UTC)).total_seconds()
    task.app.send_task(
        SEND_DIGEST, args=[routing.digest_id], countdown=max(0.0, wait), queue=EMAIL_QUEUE
    )


@shared_task(
    name="shelfops.send_alert_email",
    bind=True,
    acks_late=True,
    max_retries=None,  # bounded by SHELFOPS_EMAIL_MAX_RETRIES / _MAX_AGE_S, counted in the db
)
def send_alert_email(self: Any, delivery_id: int) -> dict[str, Any]:
    """Route one delivery; if it goes on its own, render, send and record it."""
    settings = context.settings()
    factory = context.sessions()
    delivery_id = int(delivery_id)
    with factory.begin() as session:
        routing = route_delivery(
            session, delivery_id=delivery_id, window_s=settings.digest_window_s
        )
    if routing is not None and routing.route == "digest":
        if routing.created:
            schedule_digest(self, routing)
        return {"delivery_id": delivery_id, "status": "digest", "digest_id": routing.digest_id}
    send_at = take_slot(self)
    with factory.begin() as session:
        job = claim_delivery(
            session, delivery_id=delivery_id, stale_after_s=settings.outbox_relay_after_s
        )
    if job is None:
        return {"delivery_id": delivery_id, "status": "skipped (final, unknown or being sent)"}

    def record(status: str, error: str | None, message_id: str | None) -> None:
        with factory.begin() as session:
            record_outcome(
                session,
                delivery_id=job.delivery_id,
                status=status,
                error=error,
                provider_message_id=message_id,
            )

    what = f"delivery {job.delivery_id} to {job.recipient}"
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
        record("failed", str(exc), None)
        raise DeliveryFailed(f"{what}: {exc}") from exc
    send_and_record(
        self, email, send_at=send_at, attempt=job.attempt, age_s=job.age_s, record=record, what=what
    )
    return {"delivery_id": job.delivery_id, "status": "sent", "attempt": job.attempt}
