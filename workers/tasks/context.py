"""What every task needs: the settings, a session factory, a Redis client, today's date."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import redis
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.db import session_factory


def settings() -> Settings:
    from workers.app import app

    value: Settings = app.conf.shelfops_settings
    return value


def sessions() -> sessionmaker[Session]:
    """A session factory on the configured database (engines are per process)."""
    return session_factory(settings())


@lru_cache(maxsize=1)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def redis_client() -> redis.Redis:
    return _redis(settings().redis_url)


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
