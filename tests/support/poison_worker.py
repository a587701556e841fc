"""A worker app for tests only: ``celery -A tests.support.poison_worker worker``.

It is the service's own app (``workers.app``) with one test hook around the batch check,
which production cannot reach (this module ships in no package and no production process
names it):

* every check records how many SKUs it was given (Redis list ``CHECKED.format(customer)``;
  a check of a span of keys, as a sweep sends, counts the SKUs of the span it reads);
* a check whose batch holds a SKU listed in the Redis set ``POISONED`` (``customer/store/
  product``) kills its own process with SIGKILL, as the kernel's out-of-memory killer would,
  after the task has started: exactly what a poison message does to a real worker.

(The keys live in :mod:`tests.support.poison`, so tests use them without importing this.)

Remove the SKU from the set and the same message checks normally (the cause is fixed).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from sqlalchemy import text

import workers.tasks.checks as checks
from shelfops_alerts.skus import Sku, SkuSpan
from tests.support.poison import CHECKED, POISONED
from workers.app import app
from workers.tasks import context

_real_check_batch = checks.check_batch


_SPAN_KEYS = text(
    "SELECT store_id, product_id FROM inventory WHERE customer_id = :c"
    " AND (store_id, product_id) > (:s, :p) AND (store_id, product_id) <= (:ls, :lp)"
    " ORDER BY store_id, product_id LIMIT :limit"
)


def _span_keys(session: Any, customer_id: str, span: SkuSpan, limit: int | None) -> list[Sku]:
    after = span.after or Sku("", "")
    found = session.execute(
        _SPAN_KEYS,
        {
            "c": customer_id,
            "s": after.store_id,
            "p": after.product_id,
            "ls": span.last.store_id,
            "lp": span.last.product_id,
            "limit": limit,
        },
    )
    return [Sku(store, product) for store, product in found]


def _check_batch(
    session: Any,
    *,
    customer_id: str,
    skus: list[Any],
    span: SkuSpan | None = None,
    limit: int | None = None,
    **kwargs: Any,
) -> Any:
    client = context.redis_client()
    named = skus if span is None else _span_keys(session, customer_id, span, limit)
    client.rpush(CHECKED.format(customer_id), len(named))
    poisoned = {member.decode() for member in client.smembers(POISONED)}
    if any(f"{customer_id}/{sku.store_id}/{sku.product_id}" in poisoned for sku in named):
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_check_batch(
        session, customer_id=customer_id, skus=skus, span=span, limit=limit, **kwargs
    )


checks.check_batch = _check_batch

__all__ = ["app"]
