"""Queueing batch checks: one chain check → persist → publish per batch of SKUs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import chain

from shelfops_alerts.skus import Sku
from workers.tasks.checks import check_stockout_risk
from workers.tasks.persist import dedup_and_persist
from workers.tasks.publish import publish_alerts


def chunks(skus: tuple[Sku, ...], size: int) -> Iterable[list[Sku]]:
    """``skus`` cut into lists of at most ``size``."""
    for start in range(0, len(skus), size):
        yield list(skus[start : start + size])


def queue_batch_checks(
    customer_id: str, batches: Iterable[list[Sku]], *, context: dict[str, Any] | None = None
) -> int:
    """Queue check → persist → publish for each batch; returns how many batches.

    ``context`` (JSON) travels with every batch through the chain, e.g. ``{"sweep_id": 7}``.
    """
    count = 0
    for batch in batches:
        chain(
            check_stockout_risk.s(customer_id, [list(sku) for sku in batch], context=context),
            dedup_and_persist.s(),
            publish_alerts.s(),
        ).apply_async()
        count += 1
    return count
