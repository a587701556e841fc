"""``shelfops.check_stockout_risk``: evaluate one batch of one customer's SKUs."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.exceptions import Reject

from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.intake.events import InvalidEvent, forecast_complete
from shelfops_alerts.vocabulary import ALERT_TYPES, CHECK_TASK
from workers.tasks import context as task_context
from workers.tasks.retrying import RetriesFaults


@shared_task(name=CHECK_TASK, base=RetriesFaults, acks_late=True)
def check_stockout_risk(
    customer_id: Any,
    skus: Any,
    context: dict[str, Any] | None = None,
    only_types: list[str] | None = None,
) -> dict[str, Any]:
    """Read the batch's inputs in bulk and run the rules; returns findings as JSON.

    ``only_types`` limits the rules (``shelfops.sales_recorded`` asks for the sales-driven
    ones); ``context`` (JSON) is passed along the chain untouched.
    """
    try:
        event = forecast_complete(customer_id, None, skus)
        if only_types is not None and not set(only_types) <= set(ALERT_TYPES):
            raise InvalidEvent(f"only_types must be among {', '.join(ALERT_TYPES)}")
    except InvalidEvent as exc:
        raise Reject(f"invalid batch: {exc}", requeue=False) from exc
    with task_context.sessions()() as session:
        result = check_batch(
            session,
            customer_id=event.customer_id,
            skus=list(event.skus or ()),
            today=task_context.today_utc(),
            context=context,
            only_types=only_types,
        )
    return result.to_json()
