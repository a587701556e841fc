"""Bounds on every wait of a worker on PostgreSQL, so a stalled server is a fault, not a hang.

Three layers, each catching what the one before cannot:

1. **Server-side timeouts**, set at connect time (libpq ``options``): ``statement_timeout``
   (``SHELFOPS_DB_STATEMENT_TIMEOUT_S``) and ``lock_timeout`` (``SHELFOPS_DB_LOCK_TIMEOUT_S``)
   cancel a statement that runs or waits on a lock too long (SQLSTATE 57014 / 55P03, both
   retried); ``idle_in_transaction_session_timeout`` ends the session of a worker that left
   a transaction open (it holds row locks others wait for).
2. **TCP keepalives**, both ways (libpq ``keepalives*`` and ``tcp_user_timeout``; the
   server's ``tcp_keepalives_*``): a connection whose peer vanished (host down, network cut,
   a half-open connection) is found dead within about a minute instead of never. They do not
   apply to Unix sockets.
3. **A client-side deadline** on each round trip (:func:`guard_waits`): psycopg2 waits for the
   server's answer in Python, at most :func:`answer_deadline_s`; then it closes the
   connection and raises ``OperationalError`` (retried). This is the only bound that holds
   when the server process itself is stopped (it cannot run its own timeouts) or the socket
   is local; it waits a little longer than the statement timeout, so a server that is alive
   always answers first, with its own cancel.

Only workers' connections get these (``db.session_factory(..., worker=True)``): a CLI import
of a large file may rightly run longer than a worker's statement.
"""

from __future__ import annotations

import functools
import select
import time
from typing import Any

import psycopg2
import psycopg2.extensions

#: Client keepalives: probe after 30 s idle, every 10 s, give up after 3 unanswered probes.
KEEPALIVE_IDLE_S = 30
KEEPALIVE_INTERVAL_S = 10
KEEPALIVE_COUNT = 3
#: Sent data unacknowledged this long closes the connection (libpq ``tcp_user_timeout``).
TCP_USER_TIMEOUT_S = 60
#: The client waits at most this much longer than the statement timeout (and never more
#: than the statement timeout again), so a live server's own cancel arrives first.
DEADLINE_GRACE_S = 5.0


def answer_deadline_s(settings: Any) -> float:
    """How long a worker waits for any answer from PostgreSQL (connect or statement)."""
    statement = float(settings.db_statement_timeout_s)
    return statement + min(DEADLINE_GRACE_S, statement)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def worker_connect_args(settings: Any) -> dict[str, Any]:
    """psycopg2 ``connect()`` keywords for a worker's connections: timeouts and keepalives."""
    statement = float(settings.db_statement_timeout_s)
    server = {
        "statement_timeout": _ms(statement),
        "lock_timeout": _ms(float(settings.db_lock_timeout_s)),
        # twice a statement: a worker is never idle that long inside a transaction
        "idle_in_transaction_session_timeout": _ms(2 * statement),
        # A prepared statement (an event's, shelfops_alerts.db.execute_prepared) is planned
        # once per connection, never for its values: left to choose, PostgreSQL kept
        # re-planning the persist's statements at every event (a generic plan's estimate for
        # an array parameter, 10 elements, costs more than a one-SKU event's custom plan).
        # Statements sent with their values inlined (psycopg2's way: all others) have no
        # parameters, so this does not touch them; nor the counting triggers' statements
        # (migration 0007: transition tables, no PL/pgSQL variables).
        "plan_cache_mode": "force_generic_plan",
        "tcp_keepalives_idle": KEEPALIVE_IDLE_S,
        "tcp_keepalives_interval": KEEPALIVE_INTERVAL_S,
        "tcp_keepalives_count": KEEPALIVE_COUNT,
    }
    return {
        "connect_timeout": max(2, round(answer_deadline_s(settings))),
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_S,
        "keepalives_interval": KEEPALIVE_INTERVAL_S,
        "keepalives_count": KEEPALIVE_COUNT,
        "tcp_user_timeout": _ms(TCP_USER_TIMEOUT_S),
        "options": " ".join(f"-c {name}={value}" for name, value in server.items()),
    }


class NoAnswer(psycopg2.OperationalError):
    """PostgreSQL did not answer within the deadline; the connection was closed."""


def wait_with_deadline(connection: Any, *, deadline_s: float) -> None:
    """psycopg2's wait callback: poll the connection until its answer is complete, at most
    ``deadline_s``. Raising here makes psycopg2 close the connection, and SQLAlchemy then
    drops it from its pool."""
    deadline = time.monotonic() + deadline_s
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            events = select.POLLIN
        elif state == psycopg2.extensions.POLL_WRITE:
            events = select.POLLOUT
        else:
            raise psycopg2.OperationalError(f"unexpected state from poll(): {state!r}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NoAnswer(f"PostgreSQL did not answer within {deadline_s:g} s")
        poller = select.poll()
        poller.register(connection.fileno(), events)
        poller.poll(remaining * 1000)


def guard_waits(settings: Any) -> None:
    """Bound every wait of this process on PostgreSQL by :func:`answer_deadline_s`.

    psycopg2's wait callback is process-wide and turns on its "green" mode, which has no
    ``COPY``: call this in worker processes only (they never copy), never in the CLI.
    """
    psycopg2.extensions.set_wait_callback(
        functools.partial(wait_with_deadline, deadline_s=answer_deadline_s(settings))
    )
