"""``shelfops.sweep_all_skus``: beat's sweep of every SKU of every customer (or of one).

Only one sweep runs at a time (the sweep lock, see ``shelfops_alerts.sweeps.lock``): a sweep
started while another runs is refused and does nothing. The sweep walks SKU keys by keyset
pages and queues one batch chain per page, so no message and no process ever holds all the
keys; the sweep's row is finished by the last batch to complete, which releases the lock.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from celery import shared_task
from celery.exceptions import Reject

from shelfops_alerts.detect.sku_pages import customers, sku_pages
from shelfops_alerts.intake.events import InvalidEvent, forecast_complete
from shelfops_alerts.sweeps.lock import OUTCOME_KEY, SweepLock, lock_holder
from shelfops_alerts.sweeps.runs import mark_queued, start_sweep
from workers.tasks import context as task_context
from workers.tasks.batches import queue_batch_checks

logger = logging.getLogger(__name__)

#: How long that outcome is kept (seconds).
OUTCOME_TTL_S = 24 * 3600


def _tell(task_id: str, outcome: dict[str, Any]) -> None:
    task_context.redis_client().set(
        OUTCOME_KEY.format(task_id), json.dumps(outcome), ex=OUTCOME_TTL_S
    )


@shared_task(name="shelfops.sweep_all_skus", bind=True, acks_late=True)
def sweep_all_skus(self: Any, customer_id: Any = None, batch_size: Any = None) -> dict[str, Any]:
    """Check every SKU of every customer (or of ``customer_id``), batch by batch.

    ``batch_size`` overrides SHELFOPS_BATCH_SIZE for this sweep (benchmarks and tests).
    """
    if customer_id is not None:
        try:
            customer_id = forecast_complete(customer_id).customer_id
        except InvalidEvent as exc:
            raise Reject(f"invalid sweep: {exc}", requeue=False) from exc
    if batch_size is not None and (
        not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
    ):
        raise Reject(f"invalid sweep: batch_size must be a whole number >= 1, got {batch_size!r}")
    settings = task_context.settings()
    size = int(batch_size or settings.batch_size)
    token = str(self.request.id or uuid.uuid4())
    lock = SweepLock(task_context.redis_client(), token, settings.sweep_lock_ttl_s)
    if not lock.acquire():
        holder = lock_holder(task_context.redis_client())
        logger.warning("sweep refused: sweep task %s holds the sweep lock", holder)
        _tell(token, {"status": "refused", "holder": holder})
        return {"refused": True, "holder": holder}

    factory = task_context.sessions()
    with factory.begin() as session:
        started = start_sweep(session, task_id=token, customer_id=customer_id, batch_size=size)
    _tell(token, {"status": "started", "sweep_id": started.sweep_id})
    # The lock's TTL rides along, so every batch renews it for the same span.
    batch_context = {
        "sweep_id": started.sweep_id,
        "lock": token,
        "lock_ttl_s": settings.sweep_lock_ttl_s,
    }
    renew_every = settings.sweep_lock_ttl_s / 3
    last_renewal = time.monotonic()

    def keep_lock(_: int) -> None:
        # Queueing a million SKUs takes a while: stay the holder while doing it.
        nonlocal last_renewal
        if time.monotonic() - last_renewal >= renew_every:
            lock.renew()
            last_renewal = time.monotonic()

    batches = 0
    scope = [customer_id] if customer_id is not None else customers(factory)
    for customer in scope:
        pages = sku_pages(factory, customer_id=customer, page_size=size)
        batches += queue_batch_checks(
            customer,
            pages,
            context=batch_context,
            first_batch_no=batches,
            after_each=keep_lock,
        )
    with factory.begin() as session:
        finished = mark_queued(session, sweep_id=started.sweep_id, batches=batches)
    if finished:
        lock.release()
    else:
        lock.renew()
    logger.info(
        "sweep %d queued %d batch(es) for %d SKU(s)", started.sweep_id, batches, started.skus_total
    )
    return {"sweep_id": started.sweep_id, "batches": batches, "skus_total": started.skus_total}
