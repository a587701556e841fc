"""Engine and session factory: one engine per process, database URL and kind of caller.

The caller owns the transaction (``with factory.begin() as session:``); data functions in
the core only execute and flush, never commit. Workers' connections carry timeouts and
keepalives (``worker=True``, see :mod:`shelfops_alerts.outages.postgres`); the CLI's do not,
so an import of a large file may run as long as it needs.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, Result, TextClause, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.config import Settings
from shelfops_alerts.intake.events import MAX_EVENT_SKUS
from shelfops_alerts.outages.postgres import worker_connect_args

#: A worker's pooled connection is pinged before use only when it sat idle longer than this
#: (a dropped connection is found then); one used moments ago is not (a ping per task was a
#: fifth of a one-SKU event's database round trips). A server gone within that moment fails
#: the task's first statement instead, a transient fault the task retries.
PING_AFTER_IDLE_S = 1.0

_ENGINES: dict[tuple[str, bool], Engine] = {}
#: One session factory per engine: a ``sessionmaker`` defines a new Session class, and
#: SQLAlchemy sets up event dispatch for each new class (about 0.3 ms, per task otherwise).
_FACTORIES: dict[tuple[str, bool, bool], sessionmaker[Session]] = {}
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
                pool_pre_ping=not worker,
                pool_size=5,
                max_overflow=5,
                connect_args=worker_connect_args(settings) if worker else {},
            )
            if worker:
                _pool_events(engine)
            _ENGINES[key] = engine
        return engine


def _pool_events(engine: Engine) -> None:
    """Ping a connection at checkout when it was checked in over PING_AFTER_IDLE_S ago
    (SQLAlchemy's pessimistic disconnect handling, with a threshold): a dead one is replaced.
    A connection comes back out of autocommit (an autocommit session's) at checkin."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()
        if dbapi_connection is not None and dbapi_connection.autocommit:
            dbapi_connection.autocommit = False

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # a new connection, or one used moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.DisconnectionError(str(error)) from error
            raise


def session_factory(
    settings: Settings, *, worker: bool = False, autocommit: bool = False
) -> sessionmaker[Session]:
    """Sessions bound to the settings' database (``worker=True``: a worker's connections);
    one factory per process and engine, made once.

    ``autocommit=True`` (workers only): each statement is a transaction of its own, sent in
    one round trip (no BEGIN, no COMMIT or ROLLBACK): for reads that need no common snapshot
    (under READ COMMITTED each statement has its own anyway) and for a write that is one
    statement. Never for several writes that must commit together.
    """
    if autocommit and not worker:
        raise ValueError("autocommit sessions are for workers' connections")
    key = (settings.sqlalchemy_url.reveal(), worker, autocommit)
    factory = _FACTORIES.get(key)
    if factory is None:
        factory = sessionmaker(bind=get_engine(settings, worker=worker), expire_on_commit=False)
        if autocommit:
            event.listen(factory, "after_begin", _without_transaction)
        with _LOCK:
            _FACTORIES[key] = factory
    return factory


def _without_transaction(session: Session, transaction: Any, connection: Any) -> None:
    # psycopg2 opens a transaction at the first statement unless in autocommit (a client-side
    # switch); the pool's checkin switches it back (_pool_events).
    connection.connection.dbapi_connection.autocommit = True


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


#: A bind parameter of a ``text()`` statement (SQLAlchemy's own pattern: ``:name``, not
#: ``::type`` nor ``\\:``).
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")
#: Where a connection's ``info`` remembers which statements are prepared on it. The dict
#: lives as long as the DBAPI connection: a new connection (after a failover, a restart, a
#: pool recycle) starts without, so each statement is prepared again on it.
_PREPARED_KEY = "shelfops_prepared"
#: SQLSTATE of EXECUTE of a statement the server does not know (``DISCARD ALL`` ran).
_UNKNOWN_STATEMENT = "26000"
#: Every prepared statement by name: a name means one statement on every connection.
_PREPARED: dict[str, PreparedStatement] = {}


@dataclass(frozen=True)
class PreparedStatement:
    """A ``text()`` statement run as a server-side prepared statement: PREPAREd once per
    connection, then EXECUTEd by name, so PostgreSQL plans it once per connection instead
    of at every execution (for a one-SKU event, planning was about a third of the
    server's CPU). Its parameters keep their ``:names``; PostgreSQL infers their types.
    """

    name: str
    statement: TextClause
    prepare_sql: str
    execute_sql: TextClause
    #: How many parameters it takes (``$1`` … ``$n``).
    arity: int


def prepared(name: str, statement: TextClause) -> PreparedStatement:
    """``statement`` to be run with :func:`execute_prepared` under ``name`` (unique in the
    process: a second statement under a name already taken is a ValueError)."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    body = _BIND.sub(number, statement.text)
    arguments = ", ".join(f":{param}" for param in order)
    made = PreparedStatement(
        name=name,
        statement=statement,
        prepare_sql=f"PREPARE {name} AS {body}",
        execute_sql=text(f"EXECUTE {name}({arguments})" if order else f"EXECUTE {name}"),
        arity=len(order),
    )
    if _PREPARED.setdefault(name, made).prepare_sql != made.prepare_sql:
        raise ValueError(f"two statements prepared as {name!r}")
    return made


def runs_prepared(count: int, *, by_span: bool = False) -> bool:
    """Whether a batch of ``count`` SKUs (or changes) runs its statements prepared, planned
    once per connection: every batch given by key does (an event's SKUs, walked in batches
    of at most ``MAX_EVENT_SKUS``; a batch's changes to publish). A sweep's page, read by a
    span of keys (``by_span``), and anything larger are planned for their values."""
    return not by_span and count <= MAX_EVENT_SKUS


def execute_prepared(
    session: Session,
    statement: PreparedStatement,
    params: Mapping[str, Any],
    *,
    prepare: bool = True,
    before: str = "",
) -> Result[*tuple[Any, ...]]:
    """Run ``statement`` on the session's connection, PREPAREing it first on a connection
    that has not seen it (a PREPARE outlives the transaction it ran in: it is the session's,
    not the transaction's). ``prepare=False`` runs it as a plain statement, planned for its
    values (a sweep's large batches). ``before``: a statement without parameters sent in
    the same round trip, ahead of it (a SAVEPOINT).

    A connection whose prepared statements the server dropped (``DISCARD ALL``) fails with
    SQLSTATE 26000, a transient fault (the task retries); it forgets them, so the next use
    prepares them again.
    """
    if not prepare:
        sql = text(f"{before} {statement.statement.text}") if before else statement.statement
        return cast("Result[*tuple[Any, ...]]", session.execute(sql, dict(params)))
    connection = session.connection()
    known: set[str] = connection.info.setdefault(_PREPARED_KEY, set())
    if statement.name not in known:
        # Through SQLAlchemy, so a connection found dead here is invalidated (and the fault
        # wrapped and classified) as at any other statement.
        connection.exec_driver_sql(statement.prepare_sql)
        known.add(statement.name)
    sql = text(f"{before} {statement.execute_sql.text}") if before else statement.execute_sql
    try:
        return cast("Result[*tuple[Any, ...]]", session.execute(sql, dict(params)))
    except exc.DBAPIError as error:
        if getattr(error.orig, "pgcode", None) == _UNKNOWN_STATEMENT:
            known.clear()
        raise


def warm_prepared(session: Session) -> list[str]:
    """PREPARE every statement of this process on the session's connection and plan each:
    what an event's first use would do, done before any event (a pool process just started,
    a new connection). Each runs once with NULL arguments, under a savepoint, inside the
    session's transaction: its generic plan is made then (workers' connections plan once,
    generically), and a NULL key matches no row; the caller rolls the transaction back.
    Returns the names of the statements warmed; one its NULLs make fail (an error after
    planning) is still prepared, and planned at its first use if need be."""
    connection = session.connection()
    known: set[str] = connection.info.setdefault(_PREPARED_KEY, set())
    fresh = [statement for name, statement in _PREPARED.items() if name not in known]
    if not fresh:
        return []
    # One round trip for every PREPARE.
    connection.exec_driver_sql("; ".join(statement.prepare_sql for statement in fresh))
    known.update(statement.name for statement in fresh)
    for statement in fresh:
        nulls = ", ".join(["NULL"] * statement.arity)
        run = f"EXECUTE {statement.name}({nulls})" if nulls else f"EXECUTE {statement.name}"
        try:
            with session.begin_nested():
                session.execute(text(run))
        except exc.DBAPIError:
            continue
    return [statement.name for statement in fresh]
