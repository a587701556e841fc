"""``shelfops.publish_alerts``: announce committed changes, then hand mail to the email queue.

A batch that belongs to a sweep (``context["sweep_id"]``) also counts itself on the sweep's
row, in the same transaction that marks its changes published; the batch that completes
the sweep releases the sweep lock, every other one renews it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from shelfops_alerts.alerts.persist import PersistResult
from shelfops_alerts.publish.changes import load_changes, mark_published, publish_changes
from shelfops_alerts.sweeps.lock import SweepLock
from shelfops_alerts.sweeps.runs import record_batch
from workers.tasks import context as task_context
from workers.tasks.email import send_alert_email

logger = logging.getLogger(__name__)


def publish_history(history_ids: list[int], *, done: PersistResult | None = None) -> int:
    """Publish these changes through one Redis pipeline and mark them published.

    With ``done`` (a sweep's batch), the batch is counted on its sweep in the same
    transaction, and the sweep lock renewed or, for the last batch, released.
    """
    factory = task_context.sessions()
    messages: list[dict[str, Any]] = []
    if history_ids:
        with factory() as session:
            messages = load_changes(session, history_ids=history_ids)
    sent = publish_changes(
        task_context.redis_client(), messages, stream_maxlen=task_context.settings().stream_maxlen
    )
    finished = False
    with factory.begin() as session:
        mark_published(session, history_ids=history_ids)
        if done is not None:
            finished = record_batch(
                session,
                sweep_id=int(done.context["sweep_id"]),
                batch_no=int(done.context.get("batch", 0)),
                skus_checked=done.skus_checked,
                events=done.events,
            )
    if done is not None:
        _after_sweep_batch(done.context, finished)
    return sent


def _after_sweep_batch(sweep: dict[str, Any], finished: bool) -> None:
    token = sweep.get("lock")
    if not token:
        return
    ttl_s = float(sweep.get("lock_ttl_s") or task_context.settings().sweep_lock_ttl_s)
    lock = SweepLock(task_context.redis_client(), str(token), ttl_s)
    if finished:
        lock.release()
        logger.info("sweep %s finished", sweep["sweep_id"])
    else:
        lock.renew()


@shared_task(name="shelfops.publish_alerts", acks_late=True)
def publish_alerts(persisted: dict[str, Any]) -> dict[str, int]:
    """PUBLISH each change on ``alerts:{customer_id}`` and queue its e-mail deliveries."""
    result = PersistResult.from_json(persisted)
    in_sweep = "sweep_id" in result.context
    published = publish_history(result.history_ids, done=result if in_sweep else None)
    for delivery_id in result.delivery_ids:
        send_alert_email.delay(delivery_id)
    return {"published": published, "emails_queued": len(result.delivery_ids)}


@shared_task(name="shelfops.sweep_batch_failed")
def sweep_batch_failed(
    request: Any, exc: Any, traceback: Any, context: dict[str, Any] | None = None
) -> None:
    """Error callback of a sweep's batch chain: count the batch as failed, so the sweep ends.

    Celery calls it in the worker whose task failed, with the failed task's request.
    """
    sweep = context or {}
    if "sweep_id" not in sweep:
        return
    logger.error("sweep %s batch %s failed: %r", sweep["sweep_id"], sweep.get("batch"), exc)
    with task_context.sessions().begin() as session:
        finished = record_batch(
            session,
            sweep_id=int(sweep["sweep_id"]),
            batch_no=int(sweep.get("batch", 0)),
            failed=True,
        )
    _after_sweep_batch(sweep, finished)
