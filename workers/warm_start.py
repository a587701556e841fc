"""A pool process's connections made, and every prepared statement planned, before its
first task: otherwise the first events after a worker starts (or replaces a pool process)
each pay for a new database connection, a PREPARE and a plan per statement, and a new Redis
connection — tens of milliseconds each, against a few for an event on warm connections.

It runs in a thread of the new pool process, so a database or Redis that does not answer
never holds up the start (Celery gives a pool process a few seconds to report ready): a
task that comes first connects and prepares on its own connection, as it would have.
"""

from __future__ import annotations

import logging
import threading

from shelfops_alerts.db import warm_prepared
from workers.tasks import context

logger = logging.getLogger(__name__)


def warm_up() -> list[str]:
    """Connect to PostgreSQL and Redis and plan every prepared statement on the pooled
    connection (nothing is written: the transaction is rolled back). Returns the names of
    the statements planned."""
    with context.sessions()() as session:
        warmed = warm_prepared(session)
        session.rollback()
    context.redis_client().ping()
    return warmed


def warm_up_in_background() -> threading.Thread:
    """Start :func:`warm_up` in a daemon thread; a failure is logged, never raised."""

    def run() -> None:
        try:
            warmed = warm_up()
        except Exception as error:  # noqa: BLE001 - warming is best effort, tasks retry
            logger.info("connections not warmed at start (the first task will connect): %s", error)
        else:
            logger.debug("warmed %d prepared statements", len(warmed))

    thread = threading.Thread(target=run, name="shelfops-warm-start", daemon=True)
    thread.start()
    return thread
