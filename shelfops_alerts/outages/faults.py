"""Which faults are transient: the same work can succeed when it is tried again shortly.

A transient fault is one of the server's state, not of the work: a lost connection, a
server restarting, a deadlock or serialization failure (PostgreSQL rolled the transaction
back and asks for it to be run again), a statement or lock timeout, Redis unreachable or
loading. Anything else is permanent for this work: an integrity or data error (bad data),
a syntax error (bad SQL), a refused password. Retrying those only repeats the failure, so
they are never retried.

:func:`transient_reason` answers with a short reason for a transient fault, else None.
The tables below are the whole policy of *which* faults retry; how often and how long is
:mod:`shelfops_alerts.outages.retries`.
"""

from __future__ import annotations

import psycopg2
import redis.exceptions
import sqlalchemy.exc

#: SQLSTATEs after which the same transaction succeeds when run again (PostgreSQL's
#: "Appendix A. Error Codes").
TRANSIENT_SQLSTATES: dict[str, str] = {
    "40001": "serialization failure",
    "40P01": "deadlock",
    "55P03": "lock timeout",
    # statement_timeout, or a cancel (pg_cancel_backend)
    "57014": "statement timeout",
    # the server is shutting down or restarting, or the session was terminated
    "57P01": "server shutting down",
    "57P02": "server crashed",
    "57P03": "server starting up",
    "53300": "too many connections",
    "53200": "server out of memory",
    "53100": "server disk full",
    # idle_in_transaction_session_timeout ended the session
    "25P03": "idle-in-transaction timeout",
    # EXECUTE of a prepared statement the session no longer has (DISCARD ALL, as a pooler
    # runs): the connection forgets its prepared statements and the retry prepares them
    "26000": "prepared statement lost",
}
#: Whole SQLSTATE classes that are transient: 08 is "connection exception".
TRANSIENT_SQLSTATE_CLASSES: dict[str, str] = {"08": "connection lost"}

#: Never retried, whatever else is true of them: the data or the SQL is at fault.
PERMANENT_DB_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.IntegrityError,
    sqlalchemy.exc.DataError,
    sqlalchemy.exc.ProgrammingError,
    sqlalchemy.exc.NotSupportedError,
)

#: Refusals at connect time that carry no SQLSTATE (libpq reports them as text) and that
#: no retry fixes: the settings are wrong.
PERMANENT_CONNECT_MESSAGES = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",  # the role or the database
)

#: Redis faults of the connection or of the server's state (a replica being promoted
#: answers READONLY; a restarting server answers LOADING).
TRANSIENT_REDIS_ERRORS: dict[type[Exception], str] = {
    redis.exceptions.TimeoutError: "Redis timeout",
    redis.exceptions.ConnectionError: "Redis connection lost",
    redis.exceptions.ReadOnlyError: "Redis read-only (failover)",
}

#: SQLAlchemy's own faults of the connection pool (no server answer involved).
TRANSIENT_POOL_ERRORS: dict[type[Exception], str] = {
    sqlalchemy.exc.TimeoutError: "no free database connection",
    sqlalchemy.exc.DisconnectionError: "connection lost",
}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error (raw or wrapped by SQLAlchemy), or None."""
    original = getattr(exc, "orig", exc)
    code = getattr(original, "pgcode", None)
    return str(code) if code else None


def transient_reason(exc: BaseException) -> str | None:
    """A short reason when ``exc`` is a transient fault (``"deadlock (40P01)"``), else None."""
    if isinstance(exc, PERMANENT_DB_ERRORS):
        return None
    for kind, reason in (TRANSIENT_REDIS_ERRORS | TRANSIENT_POOL_ERRORS).items():
        if isinstance(exc, kind):
            return reason
    if isinstance(exc, sqlalchemy.exc.DBAPIError | psycopg2.Error):
        return _database_reason(exc)
    return None


def _database_reason(exc: BaseException) -> str | None:
    code = sqlstate(exc)
    if code is not None:
        if code in TRANSIENT_SQLSTATES:
            return f"{TRANSIENT_SQLSTATES[code]} ({code})"
        if code[:2] in TRANSIENT_SQLSTATE_CLASSES:
            return f"{TRANSIENT_SQLSTATE_CLASSES[code[:2]]} ({code})"
        return None
    # No SQLSTATE: the driver's own verdict on the connection (closed by the server, reset,
    # refused, no answer within the deadline), never a statement the server rejected.
    original = getattr(exc, "orig", exc)
    if not isinstance(original, psycopg2.OperationalError | psycopg2.InterfaceError):
        return None
    if any(marker in str(original) for marker in PERMANENT_CONNECT_MESSAGES):
        return None
    return "connection lost"
