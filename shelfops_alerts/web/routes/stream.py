"""``GET /v1/stream[?since=EVENT_ID]``: the customer's alert changes over a WebSocket.

Messages, one JSON object each:

* a change: the channel's JSON plus ``event_id`` (its Redis Stream entry id);
* ``{"type": "ready", "last_event_id": ID}`` first: changes up to ID are accounted for
  (``since``, or the stream's newest entry when connecting without ``since``);
* ``{"type": "reset", "reason": ...}`` when changes after ``since`` may have been trimmed
  from the stream: reload the alerts, then carry on;
* ``{"type": "heartbeat"}`` after ``SHELFOPS_STREAM_HEARTBEAT_S`` without a change.

A client that cannot keep up is closed with code 1013 and a reason naming the
``since`` to resume from. Authentication: ``Authorization: Bearer`` (or the dashboard's
session cookie, with an ``Origin`` of this site).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from shelfops_alerts.web.auth import UNAUTHORIZED, authenticate, same_origin
from shelfops_alerts.web.context import WebContext, context_of
from shelfops_alerts.web.hub import EventKey, Subscriber, event_key, is_event_id

logger = logging.getLogger(__name__)
router = APIRouter(tags=["stream"])

HEARTBEAT = json.dumps({"type": "heartbeat"})
#: Close code for a client dropped for being too slow: "try again later", with since.
CLOSE_TRY_AGAIN = 1013
#: How long a close frame may wait behind what a slow client has not read yet.
CLOSE_TIMEOUT_S = 2.0


def _id(key: EventKey) -> str:
    return f"{key[0]}-{key[1]}"


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket, since: str | None = None) -> None:
    principal = await authenticate(websocket)
    if principal is None:
        await websocket.send_denial_response(
            JSONResponse({"detail": UNAUTHORIZED}, 401, {"WWW-Authenticate": "Bearer"})
        )
        return
    if principal.via == "session" and not same_origin(websocket, required=True):
        await websocket.send_denial_response(
            JSONResponse({"detail": "cross-site WebSocket refused"}, 403)
        )
        return
    if since is not None and not is_event_id(since):
        detail = [
            {
                "type": "value_error",
                "loc": ["query", "since"],
                "msg": "since must be an event_id this stream sent, like 1732700000000-0",
            }
        ]
        await websocket.send_denial_response(JSONResponse({"detail": detail}, 422))
        return
    ctx = context_of(websocket)
    await websocket.accept()
    subscriber = await ctx.hub.join(principal.customer_id)
    try:
        await _serve(websocket, ctx, subscriber, since)
    finally:
        ctx.hub.leave(subscriber)


async def _serve(
    websocket: WebSocket, ctx: WebContext, subscriber: Subscriber, since: str | None
) -> None:
    last = event_key(since if since is not None else subscriber.joined_at)

    async def pump() -> None:
        nonlocal last
        await websocket.send_text(json.dumps({"type": "ready", "last_event_id": _id(last)}))
        if since is not None:
            customer = subscriber.customer_id
            if await ctx.hub.lost_after(customer, since):
                reason = (
                    f"changes after {since} are no longer all held (the stream keeps about"
                    f" {ctx.settings.stream_maxlen}); reload the alerts"
                )
                await websocket.send_text(json.dumps({"type": "reset", "reason": reason}))
            if event_key(since) < event_key(subscriber.joined_at):
                replay = ctx.hub.replay(customer, after=since, upto=subscriber.joined_at)
                async for key, payload in replay:
                    await websocket.send_text(payload)
                    last = key
        heartbeat = ctx.settings.stream_heartbeat_s
        queue = subscriber.queue
        while True:
            if queue.empty():
                try:
                    async with asyncio.timeout(heartbeat):
                        key, payload = await queue.get()
                except TimeoutError:
                    await websocket.send_text(HEARTBEAT)
                    continue
            else:  # a backlog: no timer needed
                key, payload = queue.get_nowait()
            if key > last:  # the seam: anything replayed already is not sent again
                await websocket.send_text(payload)
                last = key

    async def listen() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    sender = asyncio.create_task(pump())
    receiver = asyncio.create_task(listen())
    dropped = asyncio.create_task(subscriber.dropped.wait())
    done, pending = await asyncio.wait(
        (sender, receiver, dropped), return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if sender in done and not sender.cancelled():
        error = sender.exception()
        if error is not None and not isinstance(error, WebSocketDisconnect | RuntimeError):
            logger.error("stream for %s failed: %r", subscriber.customer_id, error)
            await _close(websocket, 1011, f"stream failed; resume with since={_id(last)}")
    if dropped in done:
        reason = f"{subscriber.reason}; resume with since={_id(last)}"
        await _close(websocket, CLOSE_TRY_AGAIN, reason)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await websocket.close(code=code, reason=reason[:120])
