"""Fencing a sweep's writes: only the current sweep's batches count clean checks.

The sweep lock keeps two sweeps from starting together, but it expires: when a long
backlog holds a sweep's batches in the queue past ``SHELFOPS_SWEEP_LOCK_TTL_S``, the next
sweep starts while the first one's batches still run. Were both to count a clean check,
an alert would resolve after two checks seconds apart instead of two sweeps apart.

The sweep's row is the fencing token: a new sweep marks every running one ``abandoned``
as it starts (under its lock), and a batch's persist reads its sweep's status in its own
transaction, holding the row ``FOR KEY SHARE`` so the abandoning waits for it. A batch of
a sweep that is no longer running still writes its findings (they are facts of a check),
but counts no clean check, so it resolves nothing. Every batch of one sweep counts under
one check id (``sweep:{id}``): an alert counts at most one clean check per sweep, however
often a batch is retried, redelivered or re-queued by a resumed sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.vocabulary import RUNNING

logger = logging.getLogger(__name__)

_STATUS = text("SELECT status FROM sweeps WHERE id = :sweep_id FOR KEY SHARE")


@dataclass(frozen=True)
class Fence:
    """How a batch's persist counts clean checks: under ``check_id``, or not at all."""

    check_id: str | None
    count_clean_checks: bool = True


def sweep_check_id(sweep_id: int) -> str:
    """The one check id of every batch of a sweep."""
    return f"sweep:{sweep_id}"


def fence_batch(session: Session, *, context: dict[str, Any], task_id: str | None) -> Fence:
    """The fence of a batch with this chain ``context``, read in the persist's transaction.

    A batch outside any sweep (an event) counts under its own task id; a sweep's batch
    counts under its sweep's id while that sweep is running, and not at all after.
    """
    if "sweep_id" not in context:
        return Fence(task_id)
    sweep_id = int(context["sweep_id"])
    status = session.execute(_STATUS, {"sweep_id": sweep_id}).scalar_one_or_none()
    if status != RUNNING:
        logger.warning(
            "sweep %s is %s: its batch %s writes findings but counts no clean check",
            sweep_id,
            status or "gone",
            context.get("batch"),
        )
    return Fence(sweep_check_id(sweep_id), count_clean_checks=status == RUNNING)
