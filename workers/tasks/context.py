"""What every task needs: the settings, a session factory, a Redis client, today's date."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import redis
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.db import session_factory
from shelfops_alerts.notify.email import backend_for
from shelfops_alerts.notify.rate_limit import GlobalRateLimit
from shelfops_alerts.notify.sending import Notifier


def settings() -> Settings:
    from workers.app import app

    value: Settings = app.shelfops_settings
    return value


def sessions() -> sessionmaker[Session]:
    """A session factory on the configured database (engines are per process)."""
    return session_factory(settings())


@lru_cache(maxsize=1)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def redis_client() -> redis.Redis:
    return _redis(settings().redis_url.reveal())


def email_rate_limit() -> GlobalRateLimit:
    """The fleet-wide e-mail budget (SHELFOPS_EMAIL_RATE per second)."""
    return _limit(settings().redis_url.reveal(), settings().email_rate)


@lru_cache(maxsize=1)
def _limit(url: str, rate: float) -> GlobalRateLimit:
    return GlobalRateLimit(_redis(url), rate)


def notifier() -> Notifier:
    """What the core needs to send mail: settings, database, rate limit, the mail backend."""
    current = settings()
    return Notifier(current, sessions(), email_rate_limit(), backend_for(current))


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
