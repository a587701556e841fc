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
from shelfops_alerts.outages.redis_clients import redis_client as bounded_redis_client


def settings() -> Settings:
    from workers.app import app

    value: Settings = app.shelfops_settings
    return value


def sessions() -> sessionmaker[Session]:
    """A session factory on the configured database (engines are per process), with the
    workers' timeouts and keepalives."""
    return session_factory(settings(), worker=True)


def autocommit_sessions() -> sessionmaker[Session]:
    """Like :func:`sessions`, each statement its own transaction in one round trip: for
    reads, and for a write that is one statement (see ``db.session_factory``)."""
    return session_factory(settings(), worker=True, autocommit=True)


@lru_cache(maxsize=1)
def _redis(url: str, timeout_s: float) -> redis.Redis:
    return bounded_redis_client(url, timeout_s)


def redis_client() -> redis.Redis:
    """The tasks' Redis client (socket timeouts, keepalives, health checks); the e-mail rate
    limit, the sweep lock and the delivery counter use it too."""
    return _redis(settings().redis_url.reveal(), settings().redis_timeout_s)


def email_rate_limit() -> GlobalRateLimit:
    """The fleet-wide e-mail budget (SHELFOPS_EMAIL_RATE per second)."""
    current = settings()
    return _limit(current.redis_url.reveal(), current.redis_timeout_s, current.email_rate)


@lru_cache(maxsize=1)
def _limit(url: str, timeout_s: float, rate: float) -> GlobalRateLimit:
    return GlobalRateLimit(_redis(url, timeout_s), rate)


def notifier() -> Notifier:
    """What the core needs to send mail: settings, database, rate limit, the mail backend."""
    current = settings()
    return Notifier(current, sessions(), email_rate_limit(), backend_for(current))


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
