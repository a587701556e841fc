"""Deliveries written straight into the database, and the notifier the e-mail tasks use."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.notify.email import SendGridBackend
from shelfops_alerts.notify.rate_limit import GlobalRateLimit
from shelfops_alerts.notify.sending import Notifier
from tests.fakes import FakeSendGridAPI

API_KEY = "SG.notify-test-key"


def put_deliveries(
    factory: sessionmaker[Session],
    count: int,
    *,
    customer_id: str = "C1",
    recipient: str = "ops@c1.example",
) -> list[int]:
    """``count`` pending deliveries of ``count`` critical alert changes to one recipient."""
    with factory.begin() as session:
        ids = session.execute(
            text(
                """
                WITH a AS (
                    INSERT INTO alerts (customer_id, store_id, product_id, alert_type,
                                        severity, message)
                    SELECT :customer, 'S1', 'P' || g, 'stockout_predicted', 'critical', 'm'
                    FROM generate_series(1, :count) g RETURNING id
                ),
                h AS (
                    INSERT INTO alert_history (alert_id, event, severity, status)
                    SELECT id, 'created', 'critical', 'open' FROM a RETURNING id, alert_id
                )
                INSERT INTO email_deliveries (alert_id, history_id, recipient)
                SELECT alert_id, id, :recipient FROM h ORDER BY id RETURNING id
                """
            ),
            {"customer": customer_id, "count": count, "recipient": recipient},
        ).scalars()
        return sorted(int(i) for i in ids)


def notifier_for(
    settings: Settings,
    db: sessionmaker[Session],
    fake: FakeSendGridAPI,
    *,
    rate: float = 1000.0,
    **overrides: Any,
) -> Notifier:
    """A notifier sending through ``fake``, with a rate limit of its own (a fresh key)."""
    tuned = dataclasses.replace(
        settings,
        email_backend="sendgrid",
        sendgrid_api_key=API_KEY,
        sendgrid_host=fake.url,
        email_rate=rate,
        **overrides,
    )
    limit = GlobalRateLimit(
        redis.Redis.from_url(settings.redis_url.reveal()), rate, name=f"test-{uuid.uuid4().hex}"
    )
    backend = SendGridBackend(API_KEY, host=fake.url, timeout_s=2.0)
    return Notifier(tuned, db, limit, backend)


def row(db: sessionmaker[Session], table: str, item_id: int) -> Any:
    with db() as session:
        return session.execute(text(f"SELECT * FROM {table} WHERE id = :i"), {"i": item_id}).one()
