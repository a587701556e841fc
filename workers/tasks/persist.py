"""``shelfops.dedup_and_persist``: write a checked batch in one transaction."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from shelfops_alerts.alerts.lifecycle import LifecyclePolicy
from shelfops_alerts.alerts.persist import persist_batch
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.chain import read_batch
from shelfops_alerts.vocabulary import PERSIST_TASK
from workers.tasks import context
from workers.tasks.answers import refuse


@shared_task(name=PERSIST_TASK, acks_late=True, bind=True)
def dedup_and_persist(self: Any, batch: dict[str, Any]) -> dict[str, Any]:
    """Upsert findings, resolve cleared alerts, create deliveries; commit, then pass on.

    A payload that is not a valid checked batch is refused whole: nothing is written."""
    try:
        checked = read_batch(batch, max_skus=context.settings().max_batch_size)
    except InvalidPayload as exc:
        refuse("checked batch", exc)
    with context.sessions().begin() as session:
        result = persist_batch(
            session,
            batch=checked,
            policy=LifecyclePolicy.from_settings(context.settings()),
            # A chain fixes its tasks' ids when it is queued, so this id stays the same
            # when the message (or the check before it) is redelivered: the check counts once.
            check_id=self.request.id,
        )
    return result.to_json()
