"""``shelfops.check_stockout_risk``: evaluate one batch of one customer's SKUs."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from shelfops_alerts import logs
from shelfops_alerts.detect.checks import BatchResult, check_batch
from shelfops_alerts.intake.events import MAX_EVENT_SKUS
from shelfops_alerts.ledger.direct import record_direct_chain
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.chain import check_request
from shelfops_alerts.skus import Sku, SkuSpan
from shelfops_alerts.vocabulary import CHECK_TASK
from workers.tasks import context as task_context
from workers.tasks.answers import log_refused_skus, refuse
from workers.tasks.retrying import RetriesFaults

logger = logging.getLogger(__name__)


@shared_task(name=CHECK_TASK, base=RetriesFaults, acks_late=True, bind=True)
def check_stockout_risk(
    self: Any,
    customer_id: Any,
    skus: Any,
    context: dict[str, Any] | None = None,
    only_types: list[str] | None = None,
) -> dict[str, Any]:
    """Read the batch's inputs in bulk and run the rules; returns findings as JSON.

    ``only_types`` limits the rules (``shelfops.sales_recorded`` asks for the sales-driven
    ones); ``context`` (JSON) is passed along the chain untouched. A SKU that cannot be read
    is refused alone (logged with the reason); a bad customer, context or size, the message.
    A batch larger than SHELFOPS_MAX_BATCH_SIZE is never read whole: this task checks its
    first part and queues the rest as chains of that size. ``skus`` may be a span of keys
    (``{"after": ..., "last": ...}``, what a sweep sends): the check reads the span itself.
    A chain queued straight by a producer (a small event, ``intake/direct.py``) has no
    ledger row yet: the check writes it before its chain goes on.
    """
    try:
        request = check_request(customer_id, skus, context, only_types, max_skus=MAX_EVENT_SKUS)
    except InvalidPayload as exc:
        refuse("batch check", exc)
    log_refused_skus("batch check", request.customer_id, request.refused)
    batch = list(request.skus)
    limit = task_context.settings().max_batch_size
    if len(batch) > limit:
        batch = _split(request.customer_id, batch, limit, request.context, request.only_types)
    # Reads only, each on its own snapshot (as READ COMMITTED would): no transaction needed.
    with task_context.autocommit_sessions()() as session:
        result = check_batch(
            session,
            customer_id=request.customer_id,
            skus=batch,
            today=task_context.today_utc(),
            context=request.context,
            only_types=request.only_types,
            span=request.span,
            limit=limit,
        )
        if request.span is None and "ledger" not in result.context:
            # A chain a producer queued straight has no ledger row yet (ledger/direct.py).
            ledger_id = record_direct_chain(
                session,
                check_id=str(self.request.id),
                chain=self.request.chain,
                customer_id=result.customer_id,
                skus=batch,
                context=result.context or None,
                only_types=request.only_types,
            )
            if ledger_id is not None:
                result.context["ledger"] = ledger_id
    if request.span is not None:
        # A span's size is known once it is read: the task's lines from here on carry it
        # (as persist's do, counted from the same lists).
        logs.bind(batch_size=len(_named(result)))
    if result.rest is not None:
        _queue_rest(request.customer_id, result.rest, request.context, request.only_types)
    return result.to_json()


def _named(result: BatchResult) -> set[Sku]:
    """The SKUs a checked batch names (evaluated, unknown, without forecast, refused)."""
    return {*result.checked, *result.unknown, *result.without_forecast} | {
        sku for sku, _ in result.rejected
    }


def _queue_rest(
    customer_id: str,
    rest: SkuSpan,
    context: dict[str, Any] | None,
    only_types: list[str] | None,
) -> None:
    """A span held more than SHELFOPS_MAX_BATCH_SIZE keys (SKUs were imported into it after
    the sweep cut it): queue the keys after those checked as one more span, a plain batch
    as :func:`_split` queues its parts."""
    from workers.tasks.batches import queue_batch_checks

    queue_batch_checks(customer_id, [rest], context=_rest_context(context), only_types=only_types)
    logger.warning("span of %s over SHELFOPS_MAX_BATCH_SIZE: %s queued apart", customer_id, rest)


def _rest_context(context: dict[str, Any] | None) -> dict[str, Any] | None:
    if context is not None and "sweep_id" not in context:
        # Each part gets its own ledger row (this batch's row is closed by this chain).
        return {k: v for k, v in context.items() if k != "ledger"} or None
    return None


def _split(
    customer_id: str,
    batch: list[Sku],
    limit: int,
    context: dict[str, Any] | None,
    only_types: list[str] | None,
) -> list[Sku]:
    """Queue all but the first ``limit`` SKUs as chains of at most ``limit``; returns the
    first part, which this task checks (so its own chain goes on as queued).

    A sweep counts each of its batches once, by number: the parts queued here are checked
    as plain batches, outside the sweep's counts. (Sweeps cut batches no larger than the
    limit, so this happens only when workers disagree about SHELFOPS_MAX_BATCH_SIZE.) If this
    message is redelivered, the rest is queued again: extra work, not extra alerts.
    """
    # Imported here: the batches module queues this very task.
    from workers.tasks.batches import chunks, queue_batch_checks

    queued = queue_batch_checks(
        customer_id,
        chunks(tuple(batch[limit:]), limit),
        context=_rest_context(context),
        only_types=only_types,
    )
    logger.warning(
        "batch of %d SKUs for %s is over SHELFOPS_MAX_BATCH_SIZE (%d): checking the first"
        " %d, the rest queued as %d more batch(es)",
        len(batch),
        customer_id,
        limit,
        limit,
        queued,
    )
    return batch[:limit]
