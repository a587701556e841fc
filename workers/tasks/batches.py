"""Queueing batch checks: one chain check → persist → publish per batch of SKUs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from celery import chain

from shelfops_alerts.skus import Sku
from workers.tasks.checks import check_stockout_risk
from workers.tasks.persist import dedup_and_persist
from workers.tasks.publish import publish_alerts, sweep_batch_failed


def chunks(skus: tuple[Sku, ...], size: int) -> Iterable[list[Sku]]:
    """``skus`` cut into lists of at most ``size``."""
    for start in range(0, len(skus), size):
        yield list(skus[start : start + size])


def queue_batch_checks(
    customer_id: str,
    batches: Iterable[list[Sku]],
    *,
    context: dict[str, Any] | None = None,
    first_batch_no: int = 0,
    after_each: Callable[[int], None] | None = None,
    only_types: Iterable[str] | None = None,
) -> int:
    """Queue check → persist → publish for each batch; returns how many batches.

    ``context`` (JSON) travels with every batch through the chain, e.g. ``{"sweep_id": 7}``.
    A sweep's batches are numbered (``context["batch"]``, from ``first_batch_no``) so each is
    counted once when it completes, and a batch whose check or persist fails is counted as
    failed (an error callback), so the sweep still finishes. ``after_each(batches_so_far)``
    runs after each batch is queued (the sweep renews its lock there). ``only_types`` limits
    the rules each check runs (default: all).
    """
    types = None if only_types is None else list(only_types)
    count = 0
    for batch in batches:
        batch_context = context
        if context is not None and "sweep_id" in context:
            batch_context = {**context, "batch": first_batch_no + count}
        work = chain(
            check_stockout_risk.s(
                customer_id, [list(sku) for sku in batch], context=batch_context, only_types=types
            ),
            dedup_and_persist.s(),
            publish_alerts.s(),
        )
        if batch_context is not None and "sweep_id" in batch_context:
            work.on_error(sweep_batch_failed.s(context=batch_context))
        work.apply_async()
        count += 1
        if after_each is not None:
            after_each(count)
    return count
