"""The webhook: ``POST /v1/events/forecast-complete|sales-recorded`` → 202 once queued.

Validated exactly as the Python producer validates (``intake/events.py``), for the token's
customer, then queued by task name on the ``alerts`` queue without leaving the event loop.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from shelfops_alerts.intake.client import FORECAST_COMPLETED, SALES_RECORDED
from shelfops_alerts.intake.events import InvalidEvent, forecast_complete, sales_recorded
from shelfops_alerts.web.auth import Changer
from shelfops_alerts.web.context import context_of
from shelfops_alerts.web.errors import invalid
from shelfops_alerts.web.schemas import ForecastCompleteBody, Queued, SalesRecordedBody

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.post("/forecast-complete", status_code=status.HTTP_202_ACCEPTED, response_model=Queued)
async def forecast_complete_event(
    request: Request,
    principal: Changer,
    body: ForecastCompleteBody | None = None,
) -> dict[str, str]:
    """A forecasting run finished: check every SKU of the token's customer, or ``skus``."""
    body = body or ForecastCompleteBody()
    try:
        event = forecast_complete(principal.customer_id, body.run_id, body.skus)
    except InvalidEvent as exc:
        raise invalid("body", exc.field or "body", str(exc)) from None
    task_id = await context_of(request).tasks.send(FORECAST_COMPLETED, event.to_json())
    return {"task_id": task_id}


@router.post("/sales-recorded", status_code=status.HTTP_202_ACCEPTED, response_model=Queued)
async def sales_recorded_event(
    request: Request,
    principal: Changer,
    body: SalesRecordedBody | None = None,
) -> dict[str, str]:
    """New actual sales were written: check anomalies and forecast accuracy."""
    body = body or SalesRecordedBody()
    try:
        event = sales_recorded(principal.customer_id, body.skus)
    except InvalidEvent as exc:
        raise invalid("body", exc.field or "body", str(exc)) from None
    task_id = await context_of(request).tasks.send(SALES_RECORDED, event.to_json())
    return {"task_id": task_id}
