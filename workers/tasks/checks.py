"""``shelfops.check_stockout_risk``: evaluate one batch of one customer's SKUs."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.chain import check_request
from shelfops_alerts.vocabulary import CHECK_TASK
from workers.tasks import context as task_context
from workers.tasks.answers import log_refused_skus, refuse


@shared_task(name=CHECK_TASK, acks_late=True)
def check_stockout_risk(
    customer_id: Any,
    skus: Any,
    context: dict[str, Any] | None = None,
    only_types: list[str] | None = None,
) -> dict[str, Any]:
    """Read the batch's inputs in bulk and run the rules; returns findings as JSON.

    ``only_types`` limits the rules (``shelfops.sales_recorded`` asks for the sales-driven
    ones); ``context`` (JSON) is passed along the chain untouched. A SKU that cannot be read
    is refused alone (logged with the reason); a bad customer, context or size, the message.
    """
    try:
        request = check_request(
            customer_id,
            skus,
            context,
            only_types,
            max_skus=task_context.settings().batch_size,
        )
    except InvalidPayload as exc:
        refuse("batch check", exc)
    log_refused_skus("batch check", request.customer_id, request.refused)
    with task_context.sessions()() as session:
        result = check_batch(
            session,
            customer_id=request.customer_id,
            skus=list(request.skus),
            today=task_context.today_utc(),
            context=request.context,
            only_types=request.only_types,
        )
    return result.to_json()
