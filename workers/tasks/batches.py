"""Queueing batch checks: one chain check → persist → publish per batch of SKUs, each
remembered in the batch ledger (``shelfops_alerts.ledger``) before it is queued."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from celery import chain

from shelfops_alerts.ledger import store as ledger
from shelfops_alerts.skus import Sku, SkuSpan
from workers.tasks import context as task_context
from workers.tasks.checks import check_stockout_risk
from workers.tasks.persist import dedup_and_persist
from workers.tasks.publish import publish_alerts, sweep_batch_failed

#: Batches whose ledger rows one INSERT writes (one transaction), before their chains go out.
LEDGER_GROUP = 10


def chunks(skus: tuple[Sku, ...], size: int) -> Iterable[list[Sku]]:
    """``skus`` cut into lists of at most ``size``."""
    for start in range(0, len(skus), size):
        yield list(skus[start : start + size])


def queue_batch_checks(
    customer_id: str,
    batches: Iterable[list[Sku] | SkuSpan],
    *,
    context: dict[str, Any] | None = None,
    first_batch_no: int = 0,
    after_each: Callable[[int], None] | None = None,
    only_types: Iterable[str] | None = None,
) -> int:
    """Queue check → persist → publish for each batch (its SKUs, or a span of keys the
    check reads itself); returns how many batches.

    ``context`` (JSON) travels with every batch through the chain, e.g. ``{"sweep_id": 7}``.
    A sweep's batches are numbered (``context["batch"]``, from ``first_batch_no``) so each is
    counted once when it completes, and a batch whose check or persist fails is counted as
    failed (an error callback), so the sweep still finishes. ``after_each(batches_so_far)``
    runs after each batch is queued (the sweep renews its lock there). ``only_types`` limits
    the rules each check runs (default: all).

    Up to :data:`LEDGER_GROUP` batches at a time get their ledger rows in one INSERT, and
    their chains are queued once that commits; each chain carries its row's id.
    """
    types = None if only_types is None else list(only_types)
    count = 0
    numbered = enumerate(batches, start=first_batch_no)
    while group := list(itertools.islice(numbered, LEDGER_GROUP)):
        planned = [
            ledger.Batch(
                customer_id=customer_id,
                skus=(
                    batch
                    if isinstance(batch, SkuSpan)
                    else tuple(Sku(store, product) for store, product in batch)
                ),
                context=_batch_context(context, batch_no),
                only_types=types,
                task_ids=(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())),
            )
            for batch_no, batch in group
        ]
        # One INSERT, committed by itself in its one round trip, before any chain is queued.
        with task_context.autocommit_sessions().begin() as session:
            recorded = ledger.record(session, planned)
        for batch in recorded:
            queue_chain(batch)
            count += 1
            if after_each is not None:
                after_each(count)
    return count


def _batch_context(context: dict[str, Any] | None, batch_no: int) -> dict[str, Any] | None:
    if context is not None and "sweep_id" in context:
        return {**context, "batch": batch_no}
    return context


def queue_chain(batch: ledger.Batch) -> None:
    """Queue the chain of a recorded batch under its own task ids (again, for the relay)."""
    check_id, persist_id, publish_id = batch.task_ids
    work = chain(
        check_stockout_risk.s(
            batch.customer_id,
            batch.skus_json(),
            context=batch.chain_context(),
            only_types=batch.only_types,
        ).set(task_id=check_id),
        dedup_and_persist.s().set(task_id=persist_id),
        publish_alerts.s().set(task_id=publish_id),
    )
    if batch.context is not None and "sweep_id" in batch.context:
        work.on_error(sweep_batch_failed.s(context=batch.context))
    work.apply_async()
