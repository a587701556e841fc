"""What an event is queued as: a small one straight as its batch chain (check → persist →
publish, no walk), any other as its walk task.

An event naming at most :data:`DIRECT_EVENT_SKUS` SKUs is one batch: walking it in a task of
its own (``shelfops.forecast_completed``) only to queue that batch's check costs a whole
Celery hop. So the producer (and the webhook) queue the check itself, with the chain's next
two steps and all three task ids fixed here, exactly as a walk would queue them. The check
writes the batch's ledger row before its chain goes on (``shelfops_alerts/ledger/direct.py``),
so the persist and publish messages are covered by the ledger as a walked batch's are. Larger
events, and events naming no SKUs (every SKU), still go to the walk task. Both doors (the
Python producer and the webhook) ask :func:`outgoing` what to queue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shelfops_alerts.detect.checks import SALES_TYPES
from shelfops_alerts.intake.events import ForecastComplete, SalesRecorded
from shelfops_alerts.vocabulary import (
    ALERTS_QUEUE,
    CHECK_TASK,
    FORECAST_COMPLETED_TASK,
    PERSIST_TASK,
    PUBLISH_TASK,
    SALES_RECORDED_TASK,
)

#: Most SKUs an event may name to be queued as one chain (and never more than the producer's
#: SHELFOPS_BATCH_SIZE); beyond that the walk task cuts it into batches.
DIRECT_EVENT_SKUS = 100


@dataclass(frozen=True)
class Outgoing:
    """The one message an event is queued as: a task by name, its JSON keyword arguments,
    its task id, and the chain that follows it (Celery's message protocol 2: the last step
    first; None for a walk task)."""

    task_name: str
    kwargs: dict[str, Any]
    task_id: str
    chain: list[dict[str, Any]] | None = None


def chain_step(task_name: str, task_id: str) -> dict[str, Any]:
    """A chain step as Celery serialises a signature (``Signature.set(task_id=...)``)."""
    return {
        "task": task_name,
        "args": [],
        "kwargs": {},
        "options": {"task_id": task_id, "queue": ALERTS_QUEUE},
        "subtask_type": None,
        "immutable": False,
    }


def direct_check(event: ForecastComplete | SalesRecorded, *, batch_size: int) -> Outgoing | None:
    """The check chain of ``event`` when it names few enough SKUs to be one batch; None
    when it must be walked (every SKU, or more than one batch)."""
    if event.skus is None or len(event.skus) > min(DIRECT_EVENT_SKUS, batch_size):
        return None
    check_id, persist_id, publish_id = (str(uuid.uuid4()) for _ in range(3))
    return Outgoing(
        task_name=CHECK_TASK,
        task_id=check_id,
        kwargs={
            "customer_id": event.customer_id,
            "skus": [list(sku) for sku in event.skus],
            # The run id rides in the chain's context, where Flower and the logs show it.
            "context": {"run_id": event.run_id}
            if isinstance(event, ForecastComplete) and event.run_id is not None
            else None,
            "only_types": list(SALES_TYPES) if isinstance(event, SalesRecorded) else None,
        },
        chain=[chain_step(PUBLISH_TASK, publish_id), chain_step(PERSIST_TASK, persist_id)],
    )


def outgoing(event: ForecastComplete | SalesRecorded, *, batch_size: int) -> Outgoing:
    """What to queue for ``event``: its check chain when it is one batch
    (:func:`direct_check`), else its walk task (``shelfops.forecast_completed`` or
    ``shelfops.sales_recorded``) with the event as its payload."""
    direct = direct_check(event, batch_size=batch_size)
    if direct is not None:
        return direct
    walk = FORECAST_COMPLETED_TASK if isinstance(event, ForecastComplete) else SALES_RECORDED_TASK
    return Outgoing(walk, event.to_json(), str(uuid.uuid4()))


def chain_task_ids(chain: object) -> tuple[str, str] | None:
    """(persist id, publish id) when ``chain`` (a check's remaining chain, as its request
    carries it) is exactly persist then publish, each with its task id; else None."""
    if not isinstance(chain, list) or len(chain) != 2:
        return None
    ids = []
    for step, name in zip(chain, (PUBLISH_TASK, PERSIST_TASK), strict=True):
        if not isinstance(step, dict) or step.get("task") != name:
            return None
        options = step.get("options")
        task_id = options.get("task_id") if isinstance(options, dict) else None
        if not isinstance(task_id, str) or not task_id:
            return None
        ids.append(task_id)
    publish_id, persist_id = ids
    return persist_id, publish_id
