"""What the relay and the digest flush hand back to the ``email`` queue.

Deliveries and digests live in PostgreSQL; their task messages only carry ids. A message
can be lost between commit and queueing (a worker dies), or a worker can die mid-send and
leave its row ``sending``. These functions find such rows (and digests whose window
closed), mark them so the next run does not take them again at once, and return their ids
for the caller to queue after commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.notify.deliveries import claim_stale
from shelfops_alerts.notify.digests import due_digests


@dataclass(frozen=True)
class Overdue:
    """Ids to queue again: deliveries on ``send_alert_email``, digests on ``send_digest``."""

    delivery_ids: list[int] = field(default_factory=list)
    digest_ids: list[int] = field(default_factory=list)


def overdue_mail(sessions: sessionmaker[Session], settings: Settings, *, limit: int) -> Overdue:
    """Deliveries stuck pending or sending, and digests due or stuck sending."""
    with sessions.begin() as session:
        stale = claim_stale(session, older_than_s=settings.outbox_relay_after_s, limit=limit)
        due = due_digests(session, stale_after_s=settings.outbox_relay_after_s, limit=limit)
    return Overdue(delivery_ids=stale, digest_ids=due)


def due_digest_ids(sessions: sessionmaker[Session], settings: Settings, *, limit: int) -> list[int]:
    """Digests whose window closed, or whose sender died (the digest flush's look)."""
    with sessions() as session:
        return due_digests(session, stale_after_s=settings.outbox_relay_after_s, limit=limit)
