"""``shelfops.publish_alerts``: announce committed changes, then hand mail to the email queue.

A batch that belongs to a sweep (``context["sweep_id"]``) is then counted on the sweep's
row; the batch that completes the sweep releases the sweep lock, every other one renews it
(:func:`shelfops_alerts.sweeps.runner.count_batch`). A batch that carries its ledger row
(``context["ledger"]``) marks it done in the publish's transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from shelfops_alerts.notify.relay import deliveries_queued
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.chain import read_persisted, read_sweep_context
from shelfops_alerts.publish.changes import publish_committed
from shelfops_alerts.sweeps.runner import count_batch
from shelfops_alerts.vocabulary import EMAIL_QUEUE, PUBLISH_TASK, SWEEP_BATCH_FAILED_TASK
from workers.tasks import context as task_context
from workers.tasks.answers import refuse
from workers.tasks.email import send_alert_email
from workers.tasks.retrying import RetriesFaults

logger = logging.getLogger(__name__)


@shared_task(name=PUBLISH_TASK, base=RetriesFaults, acks_late=True)
def publish_alerts(persisted: dict[str, Any]) -> dict[str, int]:
    """PUBLISH each change on ``alerts:{customer_id}`` and queue its e-mail deliveries.

    A payload that is not a valid persisted batch is refused whole: nothing is published."""
    try:
        result = read_persisted(persisted, max_skus=task_context.settings().max_batch_size)
    except InvalidPayload as exc:
        refuse("persisted batch", exc)
    # The batch is checked: its ledger row is done (also when it found nothing).
    ledger_id = int(result.context["ledger"]) if "ledger" in result.context else None
    with task_context.sessions().begin() as session:
        published = publish_committed(
            session,
            task_context.redis_client(),
            history_ids=result.history_ids,
            stream_maxlen=task_context.settings().stream_maxlen,
            ledger_id=ledger_id,
        )
    if "sweep_id" in result.context:
        _count(result.context, skus_checked=result.skus_checked, events=result.events)
    for delivery_id in result.delivery_ids:
        send_alert_email.delay(delivery_id)
    if result.delivery_ids:
        backlog = int(task_context.redis_client().llen(EMAIL_QUEUE))
        deliveries_queued(
            task_context.sessions(), task_context.settings(), result.delivery_ids, backlog=backlog
        )
    return {"published": published, "emails_queued": len(result.delivery_ids)}


@shared_task(name=SWEEP_BATCH_FAILED_TASK)
def sweep_batch_failed(
    request: Any, exc: Any, traceback: Any, context: dict[str, Any] | None = None
) -> None:
    """Error callback of a sweep's batch chain: count the batch as failed, so the sweep ends.

    Celery calls it in the worker whose task failed, with the failed task's request; a
    message sent by name with a context that is not a sweep batch's is refused.
    """
    try:
        sweep = read_sweep_context(context)
    except InvalidPayload as invalid:
        refuse("sweep batch context", invalid)
    if "sweep_id" in sweep:
        logger.error("sweep %s batch %s failed: %r", sweep["sweep_id"], sweep.get("batch"), exc)
        _count(sweep, failed=True)


def _count(sweep: dict[str, Any], **done: Any) -> None:
    count_batch(
        task_context.sessions(),
        task_context.redis_client(),
        sweep,
        lock_ttl_s=task_context.settings().sweep_lock_ttl_s,
        **done,
    )
