"""A worker app for tests only: ``celery -A tests.support.poison_worker worker``.

It is the service's own app (``workers.app``) with one test hook around the batch check,
which production cannot reach (this module ships in no package and no production process
names it):

* every check records how many SKUs it was given (Redis list ``CHECKED.format(customer)``);
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

import workers.tasks.checks as checks
from tests.support.poison import CHECKED, POISONED
from workers.app import app
from workers.tasks import context

_real_check_batch = checks.check_batch


def _check_batch(session: Any, *, customer_id: str, skus: list[Any], **kwargs: Any) -> Any:
    client = context.redis_client()
    client.rpush(CHECKED.format(customer_id), len(skus))
    poisoned = {member.decode() for member in client.smembers(POISONED)}
    if any(f"{customer_id}/{sku.store_id}/{sku.product_id}" in poisoned for sku in skus):
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_check_batch(session, customer_id=customer_id, skus=skus, **kwargs)


checks.check_batch = _check_batch

__all__ = ["app"]
