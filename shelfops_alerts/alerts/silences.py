"""Silences in the database: add, list, expire. (The ones in force that persist matches
against are read with the inhibitors in one statement: ``alerts/mute_reads.py``.)

A silenced finding is still stored (the alert and its history exist, marked silenced) but
is neither published nor e-mailed. Which silence mutes a finding is decided in
:mod:`~shelfops_alerts.alerts.silencing`. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shelfops_alerts.alerts.lifecycle import LifecycleError, check_named, check_until
from shelfops_alerts.models import Silence
from shelfops_alerts.vocabulary import ALERT_TYPES

_EXPIRE = text(
    """
    UPDATE alert_silences SET expired_at = now(), expired_by = :actor
    WHERE id = :id AND expired_at IS NULL AND ends_at > now()
    RETURNING id
    """
)


def _clean(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def add_silence(
    session: Session,
    *,
    customer_id: str,
    until: dt.datetime,
    created_by: str,
    reason: str,
    store_id: str | None = None,
    product_id: str | None = None,
    alert_type: str | None = None,
) -> Silence:
    """Silence the customer's matching findings from now until ``until``."""
    customer_id = check_named(
        customer_id, field="customer_id", what="must name the customer to silence"
    )
    created_by = check_named(created_by, field="created_by", what="must name who is silencing")
    reason = check_named(
        reason, field="reason", what="must say why (it is shown to other operators)"
    )
    if alert_type is not None and alert_type not in ALERT_TYPES:
        raise LifecycleError(
            f"alert_type must be one of {', '.join(ALERT_TYPES)}, got {alert_type!r}",
            field="alert_type",
        )
    check_until(until, now=session.execute(text("SELECT now()")).scalar_one())
    silence = Silence(
        customer_id=customer_id,
        store_id=_clean(store_id),
        product_id=_clean(product_id),
        alert_type=alert_type,
        ends_at=until,
        created_by=created_by,
        reason=reason,
    )
    session.add(silence)
    session.flush()
    session.refresh(silence)
    return silence


def list_silences(
    session: Session, *, customer_id: str | None = None, include_ended: bool = False
) -> list[Silence]:
    """Silences, newest first; only those still in force unless ``include_ended``."""
    query = select(Silence).order_by(Silence.id.desc())
    if customer_id is not None:
        query = query.where(Silence.customer_id == customer_id)
    if not include_ended:
        query = query.where(Silence.expired_at.is_(None), Silence.ends_at > text("now()"))
    return list(session.scalars(query))


def expire_silence(session: Session, *, silence_id: int, actor: str) -> None:
    """End a silence now. Alerts it muted are announced at their next finding."""
    actor = check_named(actor, field="actor", what="must name who is expiring the silence")
    done = session.execute(_EXPIRE, {"id": silence_id, "actor": actor}).scalar()
    if done is None:
        if session.get(Silence, silence_id) is None:
            raise LifecycleError(f"silence {silence_id} does not exist")
        raise LifecycleError(f"silence {silence_id} has already ended")


def silence_json(silence: Silence, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """A silence as the JSON that ``silence list --json`` prints."""
    now = now or dt.datetime.now(dt.UTC)
    return {
        "silence_id": silence.id,
        "customer_id": silence.customer_id,
        "store_id": silence.store_id,
        "product_id": silence.product_id,
        "alert_type": silence.alert_type,
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by,
        "reason": silence.reason,
        "expired_at": silence.expired_at.isoformat() if silence.expired_at else None,
        "expired_by": silence.expired_by,
        "active": silence.expired_at is None and silence.starts_at <= now < silence.ends_at,
    }
