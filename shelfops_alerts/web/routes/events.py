"""The webhook: ``POST /v1/events/forecast-complete|sales-recorded`` → 202 once queued.

Validated exactly as the Python producer validates (``intake/events.py``), for the token's
customer, then queued by task name on the ``alerts`` queue without leaving the event loop: as
the producer does, an event naming a few SKUs straight as its check chain
(``intake/direct.py``), any other as the walk task.
A token this process has seen costs one Redis round trip in all: its validity is checked in
the same atomic step that queues the event, and the entry is refreshed ahead of its expiry
in the background (``web/token_cache.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import APIRouter, Request, Response, status

from shelfops_alerts.intake.direct import outgoing
from shelfops_alerts.intake.events import (
    ForecastComplete,
    InvalidEvent,
    SalesRecorded,
    forecast_complete,
    sales_recorded,
)
from shelfops_alerts.web.auth import Claim, WebhookCaller, caller, changer
from shelfops_alerts.web.context import context_of
from shelfops_alerts.web.errors import invalid
from shelfops_alerts.web.schemas import ForecastCompleteBody, Queued, SalesRecordedBody
from shelfops_alerts.web.tokens import cache_key

router = APIRouter(prefix="/v1/events", tags=["events"])


def _accepted(task_id: str) -> Response:
    # Written directly: no response model to validate on the hot path (the OpenAPI
    # description still names it).
    return Response(json.dumps({"task_id": task_id}), 202, media_type="application/json")


async def _queue(
    request: Request,
    claim: Claim,
    event: Callable[[str], ForecastComplete | SalesRecorded],
) -> Response:
    ctx = context_of(request)
    try:
        read = event(claim.principal.customer_id)
    except InvalidEvent as exc:
        raise invalid("body", exc.field or "body", str(exc)) from None
    # A few SKUs straight as their check chain, any other event as its walk task.
    message = outgoing(read, batch_size=ctx.settings.batch_size)
    if claim.digest is not None and claim.owner is not None:
        pushed = await ctx.tasks.send_if_cached(
            message.task_name,
            message.kwargs,
            key=cache_key(claim.digest),
            value=claim.owner,
            task_id=message.task_id,
            chain=message.chain,
        )
        if pushed is not None:
            task_id, ttl_ms = pushed
            ctx.tokens.keep_fresh(claim.digest, claim.owner, ttl_ms)
            return _accepted(task_id)
        # The cache entry expired or the token was revoked: authenticate from scratch.
        ctx.tokens.forget(claim.digest)
        await changer(request, await caller(request))
    return _accepted(
        await ctx.tasks.send(
            message.task_name, message.kwargs, task_id=message.task_id, chain=message.chain
        )
    )


@router.post(
    "/forecast-complete", status_code=status.HTTP_202_ACCEPTED, responses={202: {"model": Queued}}
)
async def forecast_complete_event(
    request: Request, claim: WebhookCaller, body: ForecastCompleteBody | None = None
) -> Response:
    """A forecasting run finished: check every SKU of the token's customer, or ``skus``."""
    body = body or ForecastCompleteBody()
    return await _queue(
        request,
        claim,
        lambda customer: forecast_complete(customer, body.run_id, body.skus),
    )


@router.post(
    "/sales-recorded", status_code=status.HTTP_202_ACCEPTED, responses={202: {"model": Queued}}
)
async def sales_recorded_event(
    request: Request, claim: WebhookCaller, body: SalesRecordedBody | None = None
) -> Response:
    """New actual sales were written: check anomalies and forecast accuracy."""
    body = body or SalesRecordedBody()
    return await _queue(request, claim, lambda customer: sales_recorded(customer, body.skus))
