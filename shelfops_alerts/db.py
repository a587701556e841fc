"""Engine and session factory: one engine per process and database URL.

The caller owns the transaction (``with factory.begin() as session:``); data functions in
the core only execute and flush, never commit.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def get_engine(settings: Settings) -> Engine:
    """The process-wide engine for the settings' database."""
    url = settings.sqlalchemy_url.reveal()
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
            _ENGINES[url] = engine
        return engine


def session_factory(settings: Settings) -> sessionmaker[Session]:
    """Sessions bound to the settings' database."""
    return sessionmaker(bind=get_engine(settings), expire_on_commit=False)


def dispose_engines() -> None:
    """Drop every pooled connection: after a fork (connections must not be shared) and at exit."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose(close=False)
        _ENGINES.clear()
