"""Sending one delivery or digest: claim, rate slot, render, send, record — one function.

:func:`send_delivery` and :func:`send_digest` are what the e-mail tasks call; each returns
an :mod:`~shelfops_alerts.notify.outcomes` value. Both go through :func:`attempt`, the one
claim-and-record sequence, with a :class:`~shelfops_alerts.notify.kinds.Mail` (kinds.py):

1. claim the row (``sending``, attempts + 1, committed before the request); nothing to
   claim (sent, failed, unknown, or being sent by another task) → ``Skipped``; not due yet
   → come back then (or ``Skipped`` when its own message is already scheduled);
2. take a slot of the fleet-wide rate limit (rate_limit.py) — after the claim, so a
   duplicate message never uses a slot; none soon → the claim is released (not counted as
   an attempt) and the task comes back at its turn;
3. render and address the e-mail; an unusable address or alert → ``Failed``;
4. send on the slot and record ``sent``. Any failure — the provider's answer, a full disk
   under the file backend, a database error while recording — is sorted by
   :func:`outcomes.after_send_error` (a 429 also pauses every sender, for at most
   SHELFOPS_EMAIL_MAX_PAUSE_S) and recorded: ``retrying`` with its due time → ``RetryIn``,
   or ``failed`` → ``Failed``. A wait too long for the broker's visibility timeout is
   ``Deferred``: the row's due time and the relay bring it back.

Never twice: ``sending`` is committed before the request and ``sent`` right after the
answer, and a run that finds its row sent does nothing. The one gap: a worker that dies
after the provider accepted the request but before ``sent`` is committed (or a database
that refuses to record it) makes the row be sent again (at least once, not exactly once;
see the README). Nothing stays ``sending``: the relay takes back a row whose worker died,
and fails it when that was its last attempt.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.notify import digests, outbox
from shelfops_alerts.notify.email import EmailBackend, SendError
from shelfops_alerts.notify.kinds import Claimed, DeliveryMail, DigestMail, Mail
from shelfops_alerts.notify.outcomes import (
    Digested,
    Failed,
    Outcome,
    RetryIn,
    RetryPolicy,
    Sent,
    Skipped,
    after_send_error,
    later,
    wake_after,
)
from shelfops_alerts.notify.rate_limit import GlobalRateLimit
from shelfops_alerts.vocabulary import DIGEST, FAILED, SENT

logger = logging.getLogger(__name__)

#: A rate-limit slot at most this far away is reserved and waited for in the worker (a
#: fraction of a second); anything further is left alone and the task re-scheduled.
SLOT_WAIT_S = 0.25
#: A send later than this after its slot takes a new slot (see rate_limit.SPACING_MARGIN).
LATE_S = 0.005


J = TypeVar("J", bound=Claimed)


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


def attempt(env: Notifier, mail: Mail[J], item_id: int) -> Outcome:
    """One attempt at ``item_id`` of ``mail``'s kind: claim, slot, build, send, record."""
    settings, policy = env.settings, env.policy
    with env.sessions.begin() as session:
        claimed = outbox.claim(
            session,
            mail.box,
            item_id,
            stale_after_s=settings.outbox_relay_after_s,
            max_attempts=policy.max_attempts,
        )
        if claimed is None:
            return Skipped("final, unknown or being sent")
        if isinstance(claimed, outbox.NotDue):
            if claimed.scheduled:
                return Skipped("not due yet; its own message is scheduled")
            come_back = later(
                claimed.wait_s, "not due yet", max_countdown_s=settings.max_countdown_s
            )
            if isinstance(come_back, RetryIn):
                outbox.mark_scheduled(session, mail.box, [item_id], expected_in_s=claimed.wait_s)
            return come_back
        job = mail.load(session, claimed)

    def wait_for_turn(wait_s: float) -> Outcome:
        # No slot soon in the fleet-wide budget: give the claim back (it was no attempt) and
        # come back at this caller's turn rather than block a worker.
        delay = wake_after(wait_s, rng=env.rng)
        come_back = later(
            delay, "waiting for a rate-limit slot", max_countdown_s=settings.max_countdown_s
        )
        with env.sessions.begin() as session:
            outbox.reschedule(
                session,
                mail.box,
                item_id,
                delay_s=delay,
                handed_over=isinstance(come_back, RetryIn),
                release=True,
            )
        return come_back

    slot = env.limit.reserve(SLOT_WAIT_S)
    if not slot.granted:
        return wait_for_turn(slot.wait_s)
    send_at = env.clock() + slot.wait_s
    what = mail.describe(job)
    try:
        email = mail.build(job, settings)
    except ValueError as exc:  # an unusable address or alert: no retry can fix it
        with env.sessions.begin() as session:
            mail.finish(session, item_id, FAILED, str(exc), None)
        return Failed(f"{what}: {exc}")
    except Exception as exc:  # templates unreadable, ...: the retry plan decides
        return _after_error(env, mail, job, item_id, exc, what)
    wait = send_at - env.clock()
    if wait < -LATE_S:
        # The slot passed while the claim and rendering ran (a cold process, a slow query):
        # sending now would crowd the next slots, so take a fresh one.
        slot = env.limit.reserve(SLOT_WAIT_S)
        if not slot.granted:
            return wait_for_turn(slot.wait_s)
        wait = slot.wait_s
    env.sleep(max(0.0, wait))
    try:
        result = env.backend.send(email)
        with env.sessions.begin() as session:
            mail.finish(session, item_id, SENT, None, result.provider_message_id)
    except Exception as exc:
        return _after_error(env, mail, job, item_id, exc, what)
    return Sent(result.provider_message_id, job.attempt)


def _after_error(
    env: Notifier, mail: Mail[J], job: J, item_id: int, exc: Exception, what: str
) -> Outcome:
    """Record a failed attempt as the retry plan says: ``retrying`` (when due) or ``failed``."""
    decision = after_send_error(
        exc, attempt=job.attempt, age_s=job.age_s, policy=env.policy, rng=env.rng
    )
    if decision.pause_s:
        # The provider said when: hold back the whole fleet, not only this task.
        env.limit.pause(decision.pause_s)
    outcome = decision.outcome
    if isinstance(outcome, Failed):
        with env.sessions.begin() as session:
            mail.finish(session, item_id, FAILED, outcome.reason, None)
        return Failed(f"{what} {outcome.reason}")
    come_back = later(outcome.delay_s, outcome.reason, max_countdown_s=env.settings.max_countdown_s)
    with env.sessions.begin() as session:
        outbox.reschedule(
            session,
            mail.box,
            item_id,
            delay_s=outcome.delay_s,
            handed_over=isinstance(come_back, RetryIn),
            error=outcome.reason,
        )
    logger.warning(
        "%s attempt %s: %s; retry in %.1fs",
        what,
        job.attempt,
        outcome.reason,
        outcome.delay_s,
        # A provider's answer says it all; anything else deserves its traceback in the log.
        exc_info=not isinstance(exc, SendError),
    )
    return come_back


def send_delivery(env: Notifier, delivery_id: int) -> Outcome:
    """Route one delivery (once); if it goes on its own, send and record it.

    A delivery that joins its recipient's digest is done here (``Digested``); when it opened
    the digest and the window is short enough to hand to the broker, the outcome says when
    the digest is due, for the caller to schedule it (else the digest flush sends it).
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
            if routing.created and routing.due_in_s is not None:
                due_in = max(0.0, routing.due_in_s)
                if due_in <= env.settings.max_countdown_s:
                    outbox.mark_scheduled(
                        session, outbox.DIGESTS, [routing.digest_id], expected_in_s=due_in
                    )
                else:
                    due_in = None
            return Digested(routing.digest_id, due_in)
    return attempt(env, DeliveryMail(), delivery_id)


def send_digest(env: Notifier, digest_id: int) -> Outcome:
    """Send one due digest listing its deliveries' changes; they are recorded with it."""
    return attempt(env, DigestMail(env.settings.digest_window_s), digest_id)
