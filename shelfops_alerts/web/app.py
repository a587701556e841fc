"""``create_app(settings)``: the one ASGI application, built from routers.

Each part of the HTTP door is a router in ``web/routes/``; a new part (say ``/metrics``)
is one more entry in :data:`ROUTERS`. The app keeps its resources (database sessions, Redis
clients, the stream hub) on ``app.state.ctx`` for its lifetime and nothing else between
requests, so any number of instances can serve the same customers.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shelfops_alerts.config import Settings, load_settings
from shelfops_alerts.web.context import WebContext
from shelfops_alerts.web.routes import alerts, events, health, metrics, pages, silences, stream

STATIC_DIR = Path(__file__).resolve().parent / "static"
ROUTERS: tuple[APIRouter, ...] = (
    events.router,
    alerts.router,
    silences.router,
    stream.router,
    health.router,
    metrics.router,
    pages.router,
)
#: Sent with every response: no framing, no sniffing, no referrer (a login link's code must
#: not leak), and scripts, styles and connections only from this site.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; connect-src 'self';"
        b" frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


#: Seconds a caller is asked to wait before retrying while a backing service is down.
RETRY_AFTER_S = 5


async def unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Redis or PostgreSQL cannot be reached: 503, so callers retry (nothing was done)."""
    what = "the database" if isinstance(exc, OperationalError) else "Redis"
    return JSONResponse(
        {"detail": f"{what} is unavailable; try again shortly"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task, unlike BaseHTTPMiddleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: A full (generation 2) garbage collection runs only after this many generation-1 ones
#: (CPython's default is 10): about once per 10,000 young collections, some 7 million net
#: allocations, instead of about every 70,000 allocations (a few seconds of webhook load).
FULL_COLLECTION_AFTER = 1000


def settle_heap() -> None:
    """Keep full garbage collections out of the requests' way.

    Start-up makes about 150,000 objects (FastAPI, SQLAlchemy, Celery, kombu, pydantic) that
    live as long as the process, and every full collection walked them all: a pause of
    100-250 ms on this 2-core machine in which every request in flight waited (measured with
    ``gc.callbacks`` under bench/stream.py). So the collection first frees start-up's own
    garbage and freezes the rest, out of the collector's reach.

    A full collection still walks every object alive since start-up: with 1,000 stream
    clients connected, their own objects (80-200 ms). Those objects are long-lived and die
    mostly by reference counting when a client leaves, and a request's cycles die young, in
    the cheap generation-0/1 collections; so full collections are made rare
    (:data:`FULL_COLLECTION_AFTER`) rather than frequent. Between two of them only the
    cyclic garbage that outlived two young collections waits (a few hundred objects per
    bench run).
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The web service for ``settings`` (read from the environment by default)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ctx = WebContext.build(settings)
        settle_heap()
        try:
            yield
        finally:
            await app.state.ctx.close()

    app = FastAPI(
        title="shelfops_alerts",
        summary="Inventory alerts: webhook intake, alerts and silences, a live stream.",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load their assets from a CDN; the spec is local
        redoc_url=None,
    )
    app.state.settings = settings
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for fault in (RedisConnectionError, RedisTimeoutError, OperationalError):
        app.add_exception_handler(fault, unavailable)
    app.add_middleware(SecurityHeaders)
    return app
