"""``shelfops.sweep_all_skus``: beat's sweep of every SKU of every customer (or of one).

Only one sweep runs at a time (the sweep lock, see ``shelfops_alerts.sweeps.lock``): a sweep
started while another runs is refused and does nothing. The sweep walks SKU keys by keyset
pages and queues one batch chain per page, so no message and no process ever holds all the
keys; the sweep's row is finished by the last batch to complete, which releases the lock.
The sweep itself is :func:`shelfops_alerts.sweeps.runner.run_sweep`; this task checks the
message and says how a batch is queued.
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import shared_task
from celery.exceptions import Reject

from shelfops_alerts.intake.events import InvalidEvent, forecast_complete
from shelfops_alerts.sweeps.runner import run_sweep
from shelfops_alerts.vocabulary import SWEEP_TASK
from workers.tasks import context as task_context
from workers.tasks.batches import queue_batch_checks


@shared_task(name=SWEEP_TASK, bind=True, acks_late=True)
def sweep_all_skus(self: Any, customer_id: Any = None, batch_size: Any = None) -> dict[str, Any]:
    """Check every SKU of every customer (or of ``customer_id``), batch by batch.

    ``batch_size`` overrides SHELFOPS_BATCH_SIZE for this sweep (benchmarks and tests), up to
    SHELFOPS_MAX_BATCH_SIZE.
    """
    try:
        if customer_id is not None:
            customer_id = forecast_complete(customer_id).customer_id
        if batch_size is not None and (
            not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
        ):
            raise InvalidEvent(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    except InvalidEvent as exc:
        raise Reject(f"invalid sweep: {exc}", requeue=False) from exc
    settings = task_context.settings()
    # Never a batch above the limit a check takes whole (a larger one would be split).
    size = min(int(batch_size or settings.batch_size), settings.max_batch_size)
    return run_sweep(
        task_context.sessions(),
        task_context.redis_client(),
        token=str(self.request.id or uuid.uuid4()),
        customer_id=customer_id,
        batch_size=size,
        lock_ttl_s=settings.sweep_lock_ttl_s,
        queue_batches=lambda customer, pages, sweep, first, after_each: queue_batch_checks(
            customer, pages, context=sweep, first_batch_no=first, after_each=after_each
        ),
    )
