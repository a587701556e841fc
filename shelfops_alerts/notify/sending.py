"""Sending one delivery or digest: rate slot, claim, render, send, record — one function.

:func:`send_delivery` and :func:`send_digest` are what the e-mail tasks call; each returns
an :mod:`~shelfops_alerts.notify.outcomes` value. Both go through :func:`attempt`, the one
claim-and-record sequence, with a :class:`Mail` that knows its table:

1. take a slot of the fleet-wide rate limit (rate_limit.py); none soon → ``RetryIn``;
2. claim the row (``sending``, attempts + 1, committed before the request); nothing to
   claim (sent, failed, unknown, or being sent by another task) → ``Skipped``;
3. render and address the e-mail; an unusable address or alert → ``Failed``;
4. send on the slot; the provider's answer is sorted by :func:`outcomes.after_send_error`
   (a 429 also pauses every sender) and recorded: ``sent`` → ``Sent``, ``retrying`` →
   ``RetryIn`` (the backoff), ``failed`` → ``Failed``.

Never twice: ``sending`` is committed before the request and ``sent`` right after the
answer, and a run that finds its row sent does nothing. The one gap: a worker that dies
after the provider accepted the request but before ``sent`` is committed leaves the row
``sending``; the relay re-sends it (at least once, not exactly once; see the README).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.notify import deliveries, digests
from shelfops_alerts.notify.email import (
    EmailBackend,
    OutgoingEmail,
    PermanentSendError,
    TransientSendError,
    build_digest_outgoing,
    build_outgoing,
    render_alert_email,
    render_digest_email,
)
from shelfops_alerts.notify.outcomes import (
    Digested,
    Failed,
    Outcome,
    RetryIn,
    RetryPolicy,
    Sent,
    Skipped,
    after_send_error,
    wake_after,
)
from shelfops_alerts.notify.rate_limit import GlobalRateLimit
from shelfops_alerts.vocabulary import DIGEST, FAILED, RETRYING, SENT

logger = logging.getLogger(__name__)

#: A rate-limit slot at most this far away is reserved and waited for in the worker (a
#: fraction of a second); anything further is left alone and the task re-scheduled.
SLOT_WAIT_S = 0.25
#: A send later than this after its slot takes a new slot (see rate_limit.SPACING_MARGIN).
LATE_S = 0.005


@dataclass
class Notifier:
    """What sending needs: settings, the database, the fleet-wide limit, a mail backend."""

    settings: Settings
    sessions: sessionmaker[Session]
    limit: GlobalRateLimit
    backend: EmailBackend
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random | None = None

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)


class Claimed(Protocol):
    """A claimed row: which attempt this is and how old the row is."""

    @property
    def attempt(self) -> int: ...

    @property
    def age_s(self) -> float: ...


J = TypeVar("J", bound=Claimed)


class Mail(Protocol[J]):
    """One kind of outgoing mail (a delivery, a digest): how to claim, build and record it."""

    def claim(self, session: Session, item_id: int, *, stale_after_s: float) -> J | None: ...

    def build(self, job: J, settings: Settings) -> OutgoingEmail:
        """The addressed e-mail; ValueError when no attempt could send it."""
        ...

    def record(
        self, session: Session, job: J, status: str, error: str | None, message_id: str | None
    ) -> None: ...

    def describe(self, job: J) -> str: ...


def attempt(env: Notifier, mail: Mail[J], item_id: int) -> Outcome:
    """One attempt at ``item_id`` of ``mail``'s kind: slot, claim, build, send, record."""
    settings = env.settings
    slot = env.limit.reserve(SLOT_WAIT_S)
    if not slot.granted:
        # No slot soon in the fleet-wide budget: come back later rather than block a worker.
        return RetryIn(wake_after(slot.wait_s, rng=env.rng), "waiting for a rate-limit slot")
    send_at = env.clock() + slot.wait_s
    with env.sessions.begin() as session:
        job = mail.claim(session, item_id, stale_after_s=settings.outbox_relay_after_s)
    if job is None:
        return Skipped("final, unknown or being sent")

    def record(status: str, error: str | None = None, message_id: str | None = None) -> None:
        with env.sessions.begin() as session:
            mail.record(session, job, status, error, message_id)

    what = mail.describe(job)
    try:
        email = mail.build(job, settings)
    except ValueError as exc:  # an unusable address or alert: no retry can fix it
        record(FAILED, str(exc))
        return Failed(f"{what}: {exc}")
    wait = send_at - env.clock()
    if wait < -LATE_S:
        # The slot passed while the claim and rendering ran (a cold process, a slow query):
        # sending now would crowd the next slots, so take a fresh one.
        slot = env.limit.reserve(SLOT_WAIT_S)
        if not slot.granted:
            record(RETRYING, f"no rate-limit slot within {SLOT_WAIT_S:g} s")
            return RetryIn(wake_after(slot.wait_s, rng=env.rng), "waiting for a rate-limit slot")
        wait = slot.wait_s
    env.sleep(max(0.0, wait))
    try:
        result = env.backend.send(email)
    except (PermanentSendError, TransientSendError) as exc:
        decision = after_send_error(
            exc, attempt=job.attempt, age_s=job.age_s, policy=env.policy, rng=env.rng
        )
        if decision.pause_s:
            # The provider said when: hold back the whole fleet, not only this task.
            env.limit.pause(decision.pause_s)
        if isinstance(decision.outcome, Failed):
            record(FAILED, decision.outcome.reason)
            return Failed(f"{what} {decision.outcome.reason}")
        record(RETRYING, str(exc))
        logger.warning(
            "%s attempt %s: %s; retry in %.1fs", what, job.attempt, exc, decision.outcome.delay_s
        )
        return decision.outcome
    record(SENT, None, result.provider_message_id)
    return Sent(result.provider_message_id, job.attempt)


class DeliveryMail:
    """A single delivery: one alert change to one recipient."""

    def claim(
        self, session: Session, item_id: int, *, stale_after_s: float
    ) -> deliveries.DeliveryJob | None:
        return deliveries.claim_delivery(session, delivery_id=item_id, stale_after_s=stale_after_s)

    def build(self, job: deliveries.DeliveryJob, settings: Settings) -> OutgoingEmail:
        rendered = render_alert_email(
            job.alert, templates_dir=settings.templates_dir, dashboard_url=settings.dashboard_url
        )
        return build_outgoing(
            rendered,
            to=job.recipient,
            sender=settings.email_from,
            alert_id=int(job.alert["alert_id"]),
            delivery_id=job.delivery_id,
        )

    def record(
        self,
        session: Session,
        job: deliveries.DeliveryJob,
        status: str,
        error: str | None,
        message_id: str | None,
    ) -> None:
        deliveries.record_outcome(
            session,
            delivery_id=job.delivery_id,
            status=status,
            error=error,
            provider_message_id=message_id,
        )

    def describe(self, job: deliveries.DeliveryJob) -> str:
        return f"delivery {job.delivery_id} to {job.recipient}"


@dataclass(frozen=True)
class DigestMail:
    """A digest: a recipient's grouped changes; ``window_s`` opens the next window."""

    window_s: float

    def claim(
        self, session: Session, item_id: int, *, stale_after_s: float
    ) -> digests.DigestJob | None:
        return digests.claim_digest(session, digest_id=item_id, stale_after_s=stale_after_s)

    def build(self, job: digests.DigestJob, settings: Settings) -> OutgoingEmail:
        rendered = render_digest_email(
            job.alerts,
            customer_id=job.customer_id,
            templates_dir=settings.templates_dir,
            dashboard_url=settings.dashboard_url,
            window_s=self.window_s,
        )
        return build_digest_outgoing(
            rendered,
            to=job.recipient,
            sender=settings.email_from,
            digest_id=job.digest_id,
            customer_id=job.customer_id,
            alert_count=len(job.alerts),
        )

    def record(
        self,
        session: Session,
        job: digests.DigestJob,
        status: str,
        error: str | None,
        message_id: str | None,
    ) -> None:
        digests.finish_digest(
            session,
            digest_id=job.digest_id,
            status=status,
            window_s=self.window_s,
            error=error,
            provider_message_id=message_id,
        )

    def describe(self, job: digests.DigestJob) -> str:
        return f"digest {job.digest_id} of {len(job.alerts)} alerts to {job.recipient}"


def send_delivery(env: Notifier, delivery_id: int) -> Outcome:
    """Route one delivery (once); if it goes on its own, send and record it.

    A delivery that joins its recipient's digest is done here (``Digested``); when it opened
    the digest, the outcome says when the digest is due, for the caller to schedule it.
    """
    with env.sessions.begin() as session:
        routing = digests.route_delivery(
            session,
            delivery_id=delivery_id,
            window_s=env.settings.digest_window_s,
            max_changes=env.settings.digest_max_changes,
        )
    if routing is not None and routing.route == DIGEST:
        assert routing.digest_id is not None
        due_in = None
        if routing.created and routing.due_at is not None:
            due_in = max(0.0, (routing.due_at - dt.datetime.now(dt.UTC)).total_seconds())
        return Digested(routing.digest_id, due_in)
    return attempt(env, DeliveryMail(), delivery_id)


def send_digest(env: Notifier, digest_id: int) -> Outcome:
    """Send one due digest listing its deliveries' changes; they are recorded with it."""
    with env.sessions() as session:
        wait = digests.seconds_until_due(session, digest_id=digest_id)
    if wait is not None and wait > 0:
        # Early (clocks differ, or a flush raced the window): come back when it closes.
        return RetryIn(wait, "the digest's window is still open")
    return attempt(env, DigestMail(env.settings.digest_window_s), digest_id)
