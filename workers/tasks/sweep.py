"""``shelfops.sweep_all_skus``: beat's sweep of every SKU of every customer."""

from __future__ import annotations

import logging

from celery import shared_task

from shelfops_alerts.sku_pages import customers, sku_pages
from workers.tasks import context
from workers.tasks.batches import queue_batch_checks

logger = logging.getLogger(__name__)


@shared_task(name="shelfops.sweep_all_skus", acks_late=True)
def sweep_all_skus() -> dict[str, int]:
    """Check every SKU of every customer, batch by batch (keyset pages, never all keys)."""
    factory = context.sessions()
    size = context.settings().batch_size
    totals = {"customers": 0, "batches": 0}
    for customer_id in customers(factory):
        totals["customers"] += 1
        pages = sku_pages(factory, customer_id=customer_id, page_size=size)
        totals["batches"] += queue_batch_checks(customer_id, pages)
    logger.info("sweep queued %(batches)d batch(es) for %(customers)d customer(s)", totals)
    return totals
