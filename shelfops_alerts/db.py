"""Engine and session factory: one engine per process, database URL and kind of caller.

The caller owns the transaction (``with factory.begin() as session:``); data functions in
the core only execute and flush, never commit. Workers' connections carry timeouts and
keepalives (``worker=True``, see :mod:`shelfops_alerts.outages.postgres`); the CLI's do not,
so an import of a large file may run as long as it needs.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.outages.postgres import worker_connect_args

_ENGINES: dict[tuple[str, bool], Engine] = {}
_LOCK = threading.Lock()


def get_engine(settings: Settings, *, worker: bool = False) -> Engine:
    """The process-wide engine for the settings' database (a worker's, with its timeouts)."""
    key = (settings.sqlalchemy_url, worker)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = create_engine(
                settings.sqlalchemy_url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=5,
                connect_args=worker_connect_args(settings) if worker else {},
            )
            _ENGINES[key] = engine
        return engine


def session_factory(settings: Settings, *, worker: bool = False) -> sessionmaker[Session]:
    """Sessions bound to the settings' database (``worker=True``: a worker's connections)."""
    return sessionmaker(bind=get_engine(settings, worker=worker), expire_on_commit=False)


def dispose_engines() -> None:
    """Drop every pooled connection: after a fork (connections must not be shared) and at exit."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose(close=False)
        _ENGINES.clear()
