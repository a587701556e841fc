"""What the relay and the digest flush hand back to the ``email`` queue, and what they fail.

Deliveries and digests live in PostgreSQL; their task messages only carry ids, and a row
says whether a message is out for it (``scheduled_for``). The relay re-queues a row that is
due with no message out (lost between commit and queueing, or a wait too long for the
broker), one whose message is presumed lost (it should have run longer ago than the
visibility timeout: Redis restarted), and one left ``sending`` by a dead worker. Each
message's latest expected run counts its countdown or the queue ahead of it at the e-mail
rate, so a backlog never makes a waiting row look lost. It does not
re-queue rows that merely wait their turn in a backlog, and it fails a row that used up its
attempts or its age instead of re-queueing it forever. Ids come back for the caller to
queue after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.notify import outbox
from shelfops_alerts.notify.kinds import DeliveryMail, DigestMail, Mail
from shelfops_alerts.notify.outcomes import RetryPolicy
from shelfops_alerts.vocabulary import FAILED


@dataclass(frozen=True)
class Overdue:
    """Ids to queue again (deliveries on ``send_alert_email``, digests on ``send_digest``),
    and how many rows were failed for having no attempt left."""

    delivery_ids: list[int] = field(default_factory=list)
    digest_ids: list[int] = field(default_factory=list)
    failed: int = 0


def _take(
    sessions: sessionmaker[Session],
    settings: Settings,
    mail: Mail[Any],
    *,
    grace_s: float,
    backlog: int,
    limit: int,
) -> tuple[list[int], int]:
    policy = RetryPolicy.from_settings(settings)
    with sessions.begin() as session:
        found = outbox.overdue(
            session,
            mail.box,
            grace_s=grace_s,
            lost_after_s=float(settings.visibility_timeout_s),
            queue_ahead=backlog,
            rate=settings.email_rate,
            stale_after_s=settings.outbox_relay_after_s,
            max_attempts=policy.max_attempts,
            max_age_s=policy.max_age_s,
            limit=limit,
        )
        for item_id, reason in found.exhausted:
            mail.finish(session, item_id, FAILED, reason, None)
    return found.requeue, len(found.exhausted)


def overdue_mail(
    sessions: sessionmaker[Session], settings: Settings, *, backlog: int, limit: int
) -> Overdue:
    """The relay's look at deliveries and digests (see the module's docstring); ``backlog``
    is how many messages wait in the ``email`` queue.

    A pending delivery gets ``SHELFOPS_OUTBOX_RELAY_AFTER_S`` before it counts as lost: the
    publish task queues it right after its commit and marks it then.
    """
    delivery_ids, failed = _take(
        sessions,
        settings,
        DeliveryMail(),
        grace_s=settings.outbox_relay_after_s,
        backlog=backlog,
        limit=limit,
    )
    digest_ids, more = _take(
        sessions,
        settings,
        DigestMail(settings.digest_window_s),
        grace_s=0.0,
        backlog=backlog,
        limit=limit,
    )
    return Overdue(delivery_ids, digest_ids, failed + more)


def due_digest_ids(
    sessions: sessionmaker[Session], settings: Settings, *, backlog: int, limit: int
) -> list[int]:
    """The digest flush's look: digests due with no message out (a window too long to hand
    to the broker, or a lost message), or stuck ``sending``."""
    ids, _ = _take(
        sessions,
        settings,
        DigestMail(settings.digest_window_s),
        grace_s=0.0,
        backlog=backlog,
        limit=limit,
    )
    return ids


def deliveries_queued(
    sessions: sessionmaker[Session],
    settings: Settings,
    delivery_ids: Sequence[int],
    *,
    backlog: int,
) -> None:
    """A message was just queued for each of these deliveries (after their commit), with
    ``backlog`` messages in the ``email`` queue: the relay leaves them to their messages
    while the queue drains."""
    if delivery_ids:
        with sessions.begin() as session:
            outbox.mark_scheduled(
                session,
                outbox.DELIVERIES,
                delivery_ids,
                expected_in_s=backlog / settings.email_rate,
            )
