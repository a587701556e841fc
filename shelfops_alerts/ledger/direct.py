"""The ledger row of a chain a producer queued straight (a small event, ``intake/direct.py``).

A walked batch's row is written by its walker before the chain is queued. A small event's
check is queued by the producer (or the webhook) itself, with its persist and publish steps
and their task ids, and nobody has written its row yet: its check writes it, so the relay can
queue the chain again if the broker loses one of its messages, and its publish closes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from shelfops_alerts.intake.direct import chain_task_ids
from shelfops_alerts.ledger import store
from shelfops_alerts.skus import Sku


def record_direct_chain(
    session: Session,
    *,
    check_id: str,
    chain: object,
    customer_id: str,
    skus: Sequence[Sku],
    context: dict[str, Any] | None,
    only_types: list[str] | None,
) -> int | None:
    """Write the row of the check ``check_id`` whose remaining chain (as its request carries
    it) is ``chain``; returns the row's id, or None when ``chain`` is not a producer's
    persist-then-publish chain (a check sent alone gets no row) or ``skus`` is empty.

    The check calls it after its reads (a fault there retries the check without a row), by
    one INSERT on the reads' autocommit session (committed in its one round trip), before
    the persist is queued. If the worker dies between this INSERT and the persist's message,
    the redelivered check writes a second row: the first is then queued again by the relay
    (extra work, never an extra alert)."""
    following = chain_task_ids(chain)
    if following is None or not skus:
        return None
    planned = store.Batch(
        customer_id=customer_id,
        skus=tuple(skus),
        context=context,
        only_types=only_types,
        task_ids=(check_id, *following),
    )
    (recorded,) = store.record(session, [planned])
    return recorded.ledger_id
