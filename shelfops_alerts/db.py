"""Engine and session factory: one engine per process, database URL and kind of caller.

The caller owns the transaction (``with factory.begin() as session:``); data functions in
the core only execute and flush, never commit. Workers' connections carry timeouts and
keepalives (``worker=True``, see :mod:`shelfops_alerts.outages.postgres`); the CLI's do not,
so an import of a large file may run as long as it needs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.outages.postgres import worker_connect_args

_ENGINES: dict[tuple[str, bool], Engine] = {}
#: One session factory per engine: a ``sessionmaker`` defines a new Session class, and
#: SQLAlchemy sets up event dispatch for each new class (about 0.3 ms, per task otherwise).
_FACTORIES: dict[tuple[str, bool], sessionmaker[Session]] = {}
_LOCK = threading.Lock()


def get_engine(settings: Settings, *, worker: bool = False) -> Engine:
    """The process-wide engine for the settings' database (a worker's, with its timeouts)."""
    url = settings.sqlalchemy_url.reveal()
    key = (url, worker)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=5,
                connect_args=worker_connect_args(settings) if worker else {},
            )
            _ENGINES[key] = engine
        return engine


def session_factory(settings: Settings, *, worker: bool = False) -> sessionmaker[Session]:
    """Sessions bound to the settings' database (``worker=True``: a worker's connections);
    one factory per process and engine, made once."""
    key = (settings.sqlalchemy_url.reveal(), worker)
    factory = _FACTORIES.get(key)
    if factory is None:
        factory = sessionmaker(bind=get_engine(settings, worker=worker), expire_on_commit=False)
        with _LOCK:
            _FACTORIES[key] = factory
    return factory


def dispose_engines() -> None:
    """Drop every pooled connection: after a fork (connections must not be shared) and at exit."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose(close=False)
        _ENGINES.clear()
        _FACTORIES.clear()


def array_literal(values: Iterable[object]) -> str:
    """``values`` as one PostgreSQL array literal (``{"a","b"}``), None as NULL, for a
    parameter the SQL casts (``CAST(:stores AS text[])``, ``CAST(:ids AS bigint[])``).

    Why not pass the list: psycopg2 spells a list as ``ARRAY['a', 'b', ...]``, one constant
    per element that PostgreSQL parses and plans one by one (a batch's 2,000 SKU keys cost
    about 8 ms per statement); one literal is read by ``array_in`` at once (under 1 ms).
    """
    items = list(values)
    if not items:
        return "{}"
    if all(type(item) is str for item in items):
        # One join and two replaces in C; NUL cannot occur in PostgreSQL text.
        joined = "\x00".join(cast("list[str]", items))
        escaped = joined.replace("\\", "\\\\").replace('"', '\\"')
        return '{"' + escaped.replace("\x00", '","') + '"}'
    return "{" + ",".join(_array_element(item) for item in items) + "}"


def _array_element(item: object) -> str:
    if item is None:
        return "NULL"
    if isinstance(item, bool):
        return "t" if item else "f"
    if isinstance(item, int | float):
        return repr(item)
    text = str(item)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
