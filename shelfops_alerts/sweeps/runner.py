"""Running a sweep: start it under the lock, queue its batches, count each batch once.

The sweep task and the publish task call these; how a batch is queued is theirs (a Celery
chain), passed in as :data:`QueueBatches`, so this module imports no Celery.

* :func:`run_sweep` takes the lock (or is refused and says who holds it), records the sweep,
  walks each customer's SKUs by keyset pages and has every page queued as one batch,
  renewing the lock while it queues, then records how many batches it queued;
* :func:`count_batch` is every batch's bookkeeping when it completes (published, or failed):
  it is counted once on the sweep's row, and the sweep lock is renewed or, by the batch
  that finishes the sweep, released.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.detect.sku_pages import customers, sku_pages
from shelfops_alerts.skus import Sku
from shelfops_alerts.sweeps.lock import OUTCOME_KEY, SweepLock, lock_holder
from shelfops_alerts.sweeps.runs import mark_queued, record_batch, start_sweep

logger = logging.getLogger(__name__)

#: How long a sweep request's outcome (started, or refused) is kept for ``sweep --wait``.
OUTCOME_TTL_S = 24 * 3600

#: Queues one customer's pages as batches: ``(customer_id, pages, context, first_batch_no,
#: after_each) -> batches queued``; ``after_each(count)`` runs after each batch is queued.
QueueBatches = Callable[[str, Iterable[list[Sku]], dict[str, Any], int, Callable[[int], None]], int]


def _tell(client: redis.Redis, token: str, outcome: dict[str, Any]) -> None:
    client.set(OUTCOME_KEY.format(token), json.dumps(outcome), ex=OUTCOME_TTL_S)


def run_sweep(
    sessions: sessionmaker[Session],
    client: redis.Redis,
    *,
    token: str,
    customer_id: str | None,
    batch_size: int,
    lock_ttl_s: float,
    queue_batches: QueueBatches,
) -> dict[str, Any]:
    """Sweep every SKU of every customer (or of ``customer_id``) as the holder ``token``.

    Returns ``{"refused": True, "holder": ...}`` when another sweep holds the lock, else the
    sweep's id, how many batches were queued and how many SKUs it covers.
    """
    lock = SweepLock(client, token, lock_ttl_s)
    if not lock.acquire():
        holder = lock_holder(client)
        logger.warning("sweep refused: sweep task %s holds the sweep lock", holder)
        _tell(client, token, {"status": "refused", "holder": holder})
        return {"refused": True, "holder": holder}
    with sessions.begin() as session:
        started = start_sweep(
            session, task_id=token, customer_id=customer_id, batch_size=batch_size
        )
    _tell(client, token, {"status": "started", "sweep_id": started.sweep_id})
    # The lock's TTL rides along, so every batch renews it for the same span.
    context = {"sweep_id": started.sweep_id, "lock": token, "lock_ttl_s": lock_ttl_s}
    renew_every = lock_ttl_s / 3
    last_renewal = time.monotonic()

    def keep_lock(_: int) -> None:
        # Queueing a million SKUs takes a while: stay the holder while doing it.
        nonlocal last_renewal
        if time.monotonic() - last_renewal >= renew_every:
            lock.renew()
            last_renewal = time.monotonic()

    batches = 0
    scope = [customer_id] if customer_id is not None else customers(sessions)
    for customer in scope:
        pages = sku_pages(sessions, customer_id=customer, page_size=batch_size)
        batches += queue_batches(customer, pages, context, batches, keep_lock)
    with sessions.begin() as session:
        finished = mark_queued(session, sweep_id=started.sweep_id, batches=batches)
    if finished:
        lock.release()
    else:
        lock.renew()
    logger.info(
        "sweep %d queued %d batch(es) for %d SKU(s)", started.sweep_id, batches, started.skus_total
    )
    return {"sweep_id": started.sweep_id, "batches": batches, "skus_total": started.skus_total}


def count_batch(
    sessions: sessionmaker[Session],
    client: redis.Redis,
    sweep: dict[str, Any],
    *,
    skus_checked: int = 0,
    events: dict[str, int] | None = None,
    failed: bool = False,
    lock_ttl_s: float,
) -> bool:
    """Count one completed batch of the sweep ``sweep`` (its context) once, then renew the
    sweep lock, or release it when this batch finished the sweep; True if it did.

    ``lock_ttl_s`` is used when the context does not carry the lock's TTL.
    """
    with sessions.begin() as session:
        finished = record_batch(
            session,
            sweep_id=int(sweep["sweep_id"]),
            batch_no=int(sweep.get("batch", 0)),
            skus_checked=skus_checked,
            events=events,
            failed=failed,
        )
    token = sweep.get("lock")
    if token:
        lock = SweepLock(client, str(token), float(sweep.get("lock_ttl_s") or lock_ttl_s))
        if finished:
            lock.release()
        else:
            lock.renew()
    if finished:
        logger.info("sweep %s finished", sweep["sweep_id"])
    return finished
