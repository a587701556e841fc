"""What the relay does with an overdue ledger row: pure, so it is tested without a broker.

A row is *waiting* while any of its chain's task ids is in flight (queued or
unacknowledged: a backlog, a retry's countdown, a dead worker's message waiting for the
visibility timeout); *parked* when one of them is a dead letter (an operator's now);
*given up* when it was queued again ``limit`` times already (a chain that keeps failing:
the next sweep checks its SKUs); else *lost*, and queued again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from shelfops_alerts.ledger.store import Batch


@dataclass
class Plan:
    requeue: list[Batch] = field(default_factory=list)
    gave_up: list[Batch] = field(default_factory=list)
    parked: list[Batch] = field(default_factory=list)
    waiting: int = 0


def plan(
    overdue: Iterable[Batch],
    *,
    in_flight: Collection[str],
    dead_letters: Collection[str],
    limit: int,
) -> Plan:
    """Sort overdue rows into re-queue, give up, parked, or still waiting."""
    result = Plan()
    for batch in overdue:
        if any(task_id in in_flight for task_id in batch.task_ids):
            result.waiting += 1
        elif any(task_id in dead_letters for task_id in batch.task_ids):
            result.parked.append(batch)
        elif batch.requeues >= limit:
            result.gave_up.append(batch)
        else:
            result.requeue.append(batch)
    return result
