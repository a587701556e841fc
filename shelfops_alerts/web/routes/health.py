"""``GET /healthz`` (no token): the database and Redis answer. 200 when both do, else 503."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from shelfops_alerts.web.context import context_of

router = APIRouter(tags=["health"])
#: Seconds each check may take before it counts as down.
CHECK_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    ctx = context_of(request)

    def database() -> None:
        with ctx.sessions() as session:
            session.execute(text("SELECT 1"))

    report: dict[str, Any] = {}
    for name, check in (
        ("database", lambda: run_in_threadpool(database)),
        ("redis", lambda: ctx.aredis.ping()),
    ):
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await check()
            report[name] = {"ok": True}
        except Exception as exc:  # any failure means "down"; say which
            report[name] = {
                "ok": False,
                "error": str(exc).splitlines()[0] if str(exc) else repr(exc),
            }
    report["ok"] = all(part["ok"] for part in report.values())
    return JSONResponse(report, status_code=200 if report["ok"] else 503)
