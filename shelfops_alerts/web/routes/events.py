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
from typing import Any

from fastapi import APIRouter, Request, Response, status

from shelfops_alerts.intake.direct import direct_check
from shelfops_alerts.intake.events import (
    ForecastComplete,
    InvalidEvent,
    SalesRecorded,
    forecast_complete,
    sales_recorded,
)
from shelfops_alerts.vocabulary import CHECK_TASK, FORECAST_COMPLETED_TASK, SALES_RECORDED_TASK
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
    task_name: str,
    event: Callable[[str], ForecastComplete | SalesRecorded],
) -> Response:
    ctx = context_of(request)
    try:
        read = event(claim.principal.customer_id)
    except InvalidEvent as exc:
        raise invalid("body", exc.field or "body", str(exc)) from None
    payload = read.to_json()
    how: dict[str, Any] = {}
    direct = direct_check(read, batch_size=ctx.settings.batch_size)
    if direct is not None:
        task_name, payload = CHECK_TASK, direct.kwargs
        how = {"task_id": direct.task_id, "chain": direct.chain}
    if claim.digest is not None and claim.owner is not None:
        pushed = await ctx.tasks.send_if_cached(
            task_name, payload, key=cache_key(claim.digest), value=claim.owner, **how
        )
        if pushed is not None:
            task_id, ttl_ms = pushed
            ctx.tokens.keep_fresh(claim.digest, claim.owner, ttl_ms)
            return _accepted(task_id)
        # The cache entry expired or the token was revoked: authenticate from scratch.
        ctx.tokens.forget(claim.digest)
        await changer(request, await caller(request))
    return _accepted(await ctx.tasks.send(task_name, payload, **how))


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
        FORECAST_COMPLETED_TASK,
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
    return await _queue(
        request, claim, SALES_RECORDED_TASK, lambda customer: sales_recorded(customer, body.skus)
    )
