"""Running a sweep: start it under the lock, queue its batches, count each batch once.

The sweep task and the publish task call these; how a batch is queued is theirs (a Celery
chain), passed in as :data:`QueueBatches`, so this module imports no Celery.

* :func:`run_sweep` takes the lock (or is refused and says who holds it), records the sweep,
  walks each customer's SKUs by keyset pages and has every page queued as one batch (a
  span of keys, :class:`~shelfops_alerts.skus.SkuSpan`),
  renewing the lock and recording how far it got while it queues, then records how many
  batches it queued; the same sweep task run again continues where it stopped (unless
  its first run is still walking: :func:`walking`);
* :func:`count_batch` is every batch's bookkeeping when it completes (published, or failed):
  it is counted once on the sweep's row, and the sweep lock is renewed or, by the batch
  that finishes the sweep, released.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.detect.sku_pages import customers, sku_spans
from shelfops_alerts.skus import Sku, SkuSpan
from shelfops_alerts.sweeps.lock import OUTCOME_KEY, SweepLock, lock_holder
from shelfops_alerts.sweeps.runs import (
    Cursor,
    Started,
    mark_queued,
    open_sweep,
    record_batch,
    record_progress,
)
from shelfops_alerts.vocabulary import RUNNING

logger = logging.getLogger(__name__)

#: How long a sweep request's outcome (started, or refused) is kept for ``sweep --wait``.
OUTCOME_TTL_S = 24 * 3600

#: Queues one customer's pages (spans of keys) as batches: ``(customer_id, pages, context,
#: first_batch_no, after_each) -> batches queued``; ``after_each(count)`` runs after each
#: batch is queued.
QueueBatches = Callable[[str, Iterable[SkuSpan], dict[str, Any], int, Callable[[int], None]], int]


_TRY_WALK = text("SELECT pg_try_advisory_lock(hashtext('shelfops-sweep-walk'), hashtext(:token))")
_END_WALK = text("SELECT pg_advisory_unlock(hashtext('shelfops-sweep-walk'), hashtext(:token))")


def _tell(client: redis.Redis, token: str, outcome: dict[str, Any]) -> None:
    client.set(OUTCOME_KEY.format(token), json.dumps(outcome), ex=OUTCOME_TTL_S)


def run_sweep(
    sessions: sessionmaker[Session],
    client: redis.Redis,
    *,
    token: str,
    customer_id: str | None,
    batch_size: int,
    lock_ttl_s: float,
    queue_batches: QueueBatches,
) -> dict[str, Any]:
    """Sweep every SKU of every customer (or of ``customer_id``) as the holder ``token``.

    Returns ``{"refused": True, "holder": ...}`` when another sweep holds the lock, else the
    sweep's id, how many batches were queued and how many SKUs it covers. The same
    ``token`` running again (its task retried after a fault, or redelivered after its
    worker died) keeps the lock and continues its sweep after the last batch it queued.
    """
    lock = SweepLock(client, token, lock_ttl_s)
    if not lock.acquire():
        holder = lock_holder(client)
        logger.warning("sweep refused: sweep task %s holds the sweep lock", holder)
        _tell(client, token, {"status": "refused", "holder": holder})
        return {"refused": True, "holder": holder}
    with walking(sessions, token) as alone:
        if not alone:
            # The broker delivered this task again while its first run still walks (a run
            # longer than the visibility timeout): that run finishes the sweep.
            logger.warning("sweep task %s is already walking in another worker", token)
            return {"duplicate": True, "task_id": token}
        with sessions.begin() as session:
            started = open_sweep(
                session, task_id=token, customer_id=customer_id, batch_size=batch_size
            )
        _tell(client, token, {"status": "started", "sweep_id": started.sweep_id})
        if started.resumed:
            logger.warning(
                "sweep %d continues after %d queued batch(es)",
                started.sweep_id,
                started.cursor.batches,
            )
        if started.status != RUNNING or started.queued:
            # Nothing left to queue: its batches finish it (and release the lock), or did.
            if started.status != RUNNING:
                lock.release()
            return _summary(started, started.cursor.batches)
        batches = _walk(sessions, lock, started, customer_id, lock_ttl_s, queue_batches)
        with sessions.begin() as session:
            finished = mark_queued(session, sweep_id=started.sweep_id, batches=batches)
    if finished:
        lock.release()
    else:
        lock.renew()
    logger.info(
        "sweep %d queued %d batch(es) for %d SKU(s)", started.sweep_id, batches, started.skus_total
    )
    return _summary(started, batches)


@contextlib.contextmanager
def walking(sessions: sessionmaker[Session], token: str) -> Iterator[bool]:
    """Whether this run of sweep task ``token`` is the only one walking its sweep: a
    PostgreSQL advisory lock, held on one connection for the whole walk.

    The Redis lock cannot tell two runs of one task apart (same token); the database can,
    and frees the advisory lock by itself when the holder's connection ends (its worker died).
    """
    engine: Engine = sessions.kw["bind"]
    # One connection for the lock's whole life (a session would hand it back to the pool).
    with engine.connect() as guard:
        alone = bool(guard.execute(_TRY_WALK, {"token": token}).scalar_one())
        guard.commit()  # a session-level lock: it outlives the transaction, which must end
        try:
            yield alone
        finally:
            if alone:
                guard.execute(_END_WALK, {"token": token})
                guard.commit()


def _summary(started: Started, batches: int) -> dict[str, Any]:
    return {"sweep_id": started.sweep_id, "batches": batches, "skus_total": started.skus_total}


def _walk(
    sessions: sessionmaker[Session],
    lock: SweepLock,
    started: Started,
    customer_id: str | None,
    lock_ttl_s: float,
    queue_batches: QueueBatches,
) -> int:
    """Queue a batch per page from the sweep's cursor on, recording the cursor after each
    batch; returns the sweep's batches in all."""
    # The lock's TTL rides along, so every batch renews it for the same span.
    context = {"sweep_id": started.sweep_id, "lock": lock.token, "lock_ttl_s": lock_ttl_s}
    renew_every = lock_ttl_s / 3
    last_renewal = time.monotonic()
    cursor = started.cursor
    batches = cursor.batches
    walking: list[Sku] = []

    def pages_of(customer: str, after: Sku | None) -> Iterator[SkuSpan]:
        for page in sku_spans(
            sessions, customer_id=customer, page_size=started.batch_size, after=after
        ):
            walking[:] = [page.last]
            yield page

    def after_each(customer: str, first: int) -> Callable[[int], None]:
        def keep_going(count: int) -> None:
            # Queueing a million SKUs takes a while: stay the holder, and remember how far
            # the walk got, so this task run again continues from here.
            nonlocal last_renewal
            with sessions.begin() as session:
                record_progress(
                    session,
                    sweep_id=started.sweep_id,
                    cursor=Cursor(first + count, customer, walking[-1]),
                )
            if time.monotonic() - last_renewal >= renew_every:
                lock.renew()
                last_renewal = time.monotonic()

        return keep_going

    if customer_id is not None:
        scope: Iterable[str] = [customer_id]
    elif cursor.customer_id is not None:
        scope = itertools.chain([cursor.customer_id], customers(sessions, after=cursor.customer_id))
    else:
        scope = customers(sessions)
    for customer in scope:
        after = cursor.sku if customer == cursor.customer_id else None
        batches += queue_batches(
            customer, pages_of(customer, after), context, batches, after_each(customer, batches)
        )
    return batches


def count_batch(
    sessions: sessionmaker[Session],
    client: redis.Redis,
    sweep: dict[str, Any],
    *,
    skus_checked: int = 0,
    events: dict[str, int] | None = None,
    failed: bool = False,
    lock_ttl_s: float,
) -> bool:
    """Count one completed batch of the sweep ``sweep`` (its context) once, then renew the
    sweep lock, or release it when this batch finished the sweep; True if it did.

    ``lock_ttl_s`` is used when the context does not carry the lock's TTL.
    """
    with sessions.begin() as session:
        finished = record_batch(
            session,
            sweep_id=int(sweep["sweep_id"]),
            batch_no=int(sweep.get("batch", 0)),
            skus_checked=skus_checked,
            events=events,
            failed=failed,
        )
    token = sweep.get("lock")
    if token:
        lock = SweepLock(client, str(token), float(sweep.get("lock_ttl_s") or lock_ttl_s))
        if finished:
            lock.release()
        else:
            lock.renew()
    if finished:
        logger.info("sweep %s finished", sweep["sweep_id"])
    return finished
