"""``GET /metrics`` (no token): the operators' figures in Prometheus text format.

The same collector as the standalone ``shelfops-alerts metrics`` exporter: every figure is
read from Redis and PostgreSQL at scrape time, so any instance answers for the whole fleet
(scrape one of them, or the exporter, not both). Like Flower's, this page is meant for the
private network a Prometheus server scrapes from, not for the internet.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shelfops_alerts.metrics.collector import render_metrics
from shelfops_alerts.web.context import context_of

router = APIRouter(tags=["operators"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    # The collector is blocking (psycopg2, redis-py): keep it off the event loop.
    body, content_type = await run_in_threadpool(render_metrics, context_of(request).settings)
    return Response(body, media_type=content_type)
