"""Entry points: a forecast-complete event, and the beat sweep of every SKU."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from celery import chain, shared_task
from celery.exceptions import Reject

from shelfops_alerts import events
from shelfops_alerts.sku_pages import customers, sku_pages
from shelfops_alerts.skus import Sku
from workers.tasks import context
from workers.tasks.checks import check_stockout_risk
from workers.tasks.persist import dedup_and_persist
from workers.tasks.publish import publish_alerts

logger = logging.getLogger(__name__)


def queue_batch_checks(customer_id: str, batches: Iterable[list[Sku]]) -> int:
    """Queue check → persist → publish for each batch; returns how many batches."""
    count = 0
    for batch in batches:
        chain(
            check_stockout_risk.s(customer_id, [list(sku) for sku in batch]),
            dedup_and_persist.s(),
            publish_alerts.s(),
        ).apply_async()
        count += 1
    return count


def _chunks(skus: tuple[Sku, ...], size: int) -> Iterable[list[Sku]]:
    for start in range(0, len(skus), size):
        yield list(skus[start : start + size])


@shared_task(name="shelfops.forecast_completed", bind=True, acks_late=True)
def forecast_completed(
    self: Any, customer_id: Any = None, run_id: Any = None, skus: Any = None
) -> dict[str, Any]:
    """Split the customer's SKUs (all, or those named) into batches and check each."""
    try:
        event = events.forecast_complete(customer_id, run_id, skus)
    except events.InvalidEvent as exc:
        logger.error("refused forecast-complete event: %s", exc)
        raise Reject(f"invalid forecast-complete event: {exc}", requeue=False) from exc
    size = context.settings().batch_size
    if event.skus is not None:
        batches = queue_batch_checks(event.customer_id, _chunks(event.skus, size))
    else:
        pages = sku_pages(context.sessions(), customer_id=event.customer_id, page_size=size)
        batches = queue_batch_checks(event.customer_id, pages)
    logger.info(
        "forecast-complete %s (run %s): %d batch(es) queued",
        event.customer_id,
        event.run_id,
        batches,
    )
    return {"customer_id": event.customer_id, "run_id": event.run_id, "batches": batches}


@shared_task(name="shelfops.sweep_all_skus", acks_late=True)
def sweep_all_skus() -> dict[str, int]:
    """Check every SKU of every customer, batch by batch."""
    factory = context.sessions()
    size = context.settings().batch_size
    totals = {"customers": 0, "batches": 0}
    for customer_id in customers(factory):
        totals["customers"] += 1
        pages = sku_pages(factory, customer_id=customer_id, page_size=size)
        totals["batches"] += queue_batch_checks(customer_id, pages)
    logger.info("sweep queued %(batches)d batch(es) for %(customers)d customer(s)", totals)
    return totals
