"""The two kinds of outgoing mail — a single delivery, a digest — behind one interface.

:func:`~shelfops_alerts.notify.sending.attempt` claims, sends and records either through a
:class:`Mail`: its table (outbox.py), how to load a claimed row into a job, build the e-mail,
and record how it ended. The relay uses the last to fail rows with no attempt left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from shelfops_alerts.config import Settings
from shelfops_alerts.notify import deliveries, digests, outbox
from shelfops_alerts.notify.email import (
    OutgoingEmail,
    build_digest_outgoing,
    build_outgoing,
    render_alert_email,
    render_digest_email,
)


class Claimed(Protocol):
    """A claimed row: which attempt this is and how old the row is."""

    @property
    def attempt(self) -> int: ...

    @property
    def age_s(self) -> float: ...


J = TypeVar("J", bound=Claimed)


class Mail(Protocol[J]):
    """One kind of outgoing mail (a delivery, a digest): its table, and how to load, build
    and finish one."""

    @property
    def box(self) -> outbox.Outbox: ...

    def load(self, session: Session, claimed: Any) -> J:
        """The job for a claimed row (what the e-mail shows)."""
        ...

    def build(self, job: J, settings: Settings) -> OutgoingEmail:
        """The addressed e-mail; ValueError when no attempt could send it."""
        ...

    def finish(
        self, session: Session, item_id: int, status: str, error: str | None, message_id: str | None
    ) -> None:
        """Record that the row ended ``sent`` or ``failed``."""
        ...

    def describe(self, job: J) -> str: ...


class DeliveryMail:
    """A single delivery: one alert change to one recipient."""

    box = outbox.DELIVERIES

    def load(self, session: Session, claimed: Any) -> deliveries.DeliveryJob:
        return deliveries.load_delivery(session, claimed)

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

    def finish(
        self, session: Session, item_id: int, status: str, error: str | None, message_id: str | None
    ) -> None:
        deliveries.record_outcome(
            session, delivery_id=item_id, status=status, error=error, provider_message_id=message_id
        )

    def describe(self, job: deliveries.DeliveryJob) -> str:
        return f"delivery {job.delivery_id} to {job.recipient}"


@dataclass(frozen=True)
class DigestMail:
    """A digest: a recipient's grouped changes; ``window_s`` opens the next window."""

    window_s: float
    box = outbox.DIGESTS

    def load(self, session: Session, claimed: Any) -> digests.DigestJob:
        return digests.load_digest(session, claimed)

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

    def finish(
        self, session: Session, item_id: int, status: str, error: str | None, message_id: str | None
    ) -> None:
        digests.finish_digest(
            session,
            digest_id=item_id,
            status=status,
            window_s=self.window_s,
            error=error,
            provider_message_id=message_id,
        )

    def describe(self, job: digests.DigestJob) -> str:
        return f"digest {job.digest_id} of {len(job.alerts)} alerts to {job.recipient}"
