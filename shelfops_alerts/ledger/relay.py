"""The relay's look at the ledger: which lost batches to queue again (after the commit).

Rows not done after ``grace_s`` are read locked (a second relay skips them), the broker's
queue and unacknowledged messages are read once, and each row is sorted (:mod:`.plan`).
A row queued again gets its count and a fresh grace before it is looked at again; one
given up or parked is closed, with a log line saying which SKUs wait for the next sweep.
"""

from __future__ import annotations

import logging
from itertools import chain

import redis
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.ledger import store
from shelfops_alerts.ledger.inflight import task_ids_in_flight
from shelfops_alerts.ledger.plan import Plan, plan
from shelfops_alerts.vocabulary import GAVE_UP, PARKED

logger = logging.getLogger(__name__)


def lost_batches(
    sessions: sessionmaker[Session],
    client: redis.Redis,
    *,
    queue: str,
    grace_s: float,
    requeue_limit: int,
    limit: int,
) -> Plan:
    """Decide and record what happens to overdue ledger rows; the caller queues
    ``plan.requeue`` (under their own task ids and context) once this returns."""
    with sessions.begin() as session:
        overdue = store.overdue(session, grace_s=grace_s, limit=limit)
        if not overdue:
            return Plan()
        in_flight = task_ids_in_flight(client, queue)
        dead = store.dead_letter_task_ids(
            session, chain.from_iterable(batch.task_ids for batch in overdue)
        )
        decided = plan(overdue, in_flight=in_flight, dead_letters=dead, limit=requeue_limit)
        store.mark_requeued(session, [_id(batch) for batch in decided.requeue])
        store.close(session, [_id(batch) for batch in decided.gave_up], outcome=GAVE_UP)
        store.close(session, [_id(batch) for batch in decided.parked], outcome=PARKED)
    for batch in decided.requeue:
        logger.warning(
            "batch %s of %s (%s) was lost by the broker: queued again (time %d of %d)",
            batch.ledger_id,
            batch.customer_id,
            batch.what(),
            batch.requeues + 1,
            requeue_limit,
        )
    for batch in decided.gave_up:
        logger.error(
            "batch %s of %s (%s) did not finish after %d re-queues: left to the next sweep",
            batch.ledger_id,
            batch.customer_id,
            batch.what(),
            batch.requeues,
        )
    for batch in decided.parked:
        logger.error(
            "batch %s of %s (%s) has a dead letter: see `shelfops-alerts dead-letters`",
            batch.ledger_id,
            batch.customer_id,
            batch.what(),
        )
    return decided


def _id(batch: store.Batch) -> int:
    assert batch.ledger_id is not None
    return batch.ledger_id
