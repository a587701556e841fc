"""Entry points for producers' events: ``shelfops.forecast_completed`` (every rule) and
``shelfops.sales_recorded`` (the sales-driven rules only)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from celery import shared_task
from celery.exceptions import Reject

from shelfops_alerts.detect.checks import SALES_TYPES
from shelfops_alerts.detect.sku_pages import sku_spans
from shelfops_alerts.intake import events
from shelfops_alerts.skus import Sku, SkuSpan
from shelfops_alerts.vocabulary import FORECAST_COMPLETED_TASK, SALES_RECORDED_TASK
from workers.tasks import context
from workers.tasks.answers import log_refused_skus
from workers.tasks.batches import chunks, queue_batch_checks
from workers.tasks.retrying import RetriesFaults

logger = logging.getLogger(__name__)


@shared_task(name=FORECAST_COMPLETED_TASK, base=RetriesFaults, acks_late=True)
def forecast_completed(
    customer_id: Any = None, run_id: Any = None, skus: Any = None
) -> dict[str, Any]:
    """Split the customer's SKUs (all, or those named) into batches and check each.

    A named SKU that cannot be read is refused alone, with the reason; the rest go on. Every
    batch is written to the batch ledger before its chain is queued, so a database fault
    here is retried like one in the chain (a retry may queue some batches again: extra
    work, never extra alerts)."""
    try:
        event = events.forecast_complete(customer_id, run_id, skus, partial=True)
    except events.InvalidEvent as exc:
        logger.error("refused forecast-complete event: %s", exc)
        raise Reject(f"invalid forecast-complete event: {exc}", requeue=False) from exc
    log_refused_skus("forecast-complete", event.customer_id, event.refused)
    size = context.settings().batch_size
    if event.skus is not None:
        batches = queue_batch_checks(event.customer_id, chunks(event.skus, size))
    else:
        spans = sku_spans(context.sessions(), customer_id=event.customer_id, page_size=size)
        batches = queue_batch_checks(event.customer_id, spans)
    logger.info(
        "forecast-complete %s (run %s): %d batch(es) queued",
        event.customer_id,
        event.run_id,
        batches,
    )
    return {"customer_id": event.customer_id, "run_id": event.run_id, "batches": batches}


@shared_task(name=SALES_RECORDED_TASK, base=RetriesFaults, acks_late=True)
def sales_recorded(customer_id: Any = None, skus: Any = None) -> dict[str, Any]:
    """Check anomalies and forecast accuracy of the customer's SKUs (all, or those named),
    one check → persist → publish chain per batch."""
    try:
        event = events.sales_recorded(customer_id, skus, partial=True)
    except events.InvalidEvent as exc:
        logger.error("refused sales-recorded event: %s", exc)
        raise Reject(f"invalid sales-recorded event: {exc}", requeue=False) from exc
    log_refused_skus("sales-recorded", event.customer_id, event.refused)
    size = context.settings().batch_size
    pages: Iterable[list[Sku] | SkuSpan]
    if event.skus is not None:
        pages = chunks(event.skus, size)
    else:
        pages = sku_spans(context.sessions(), customer_id=event.customer_id, page_size=size)
    batches = queue_batch_checks(event.customer_id, pages, only_types=SALES_TYPES)
    logger.info("sales-recorded %s: %d batch(es) queued", event.customer_id, batches)
    return {"customer_id": event.customer_id, "batches": batches}
