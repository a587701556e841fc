"""The WebSocket stream: replay then live with no gap and no duplicate, per customer only,
heartbeats, a reset when the stream no longer holds what was asked, and a slow client cut
off (and able to resume) without holding anyone else up."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from shelfops_alerts.publish.changes import publish_changes
from tests.support.web import SilentClient, WebServer, bearer, new_token


def change(customer: str, n: int, pad: int = 0) -> dict[str, Any]:
    """A channel message (history_id ``n``), as publish_changes sends it."""
    return {
        "alert_id": n,
        "history_id": n,
        "customer_id": customer,
        "store_id": "S1",
        "product_id": f"P{n}",
        "alert_type": "stockout_predicted",
        "severity": "high",
        "status": "open",
        "message": "x" * pad or f"change {n}",
        "metadata": {},
        "created_at": None,
        "updated_at": None,
        "changed_at": None,
        "event": "created",
    }


def publish(settings, customer: str, numbers, *, pad: int = 0, maxlen: int = 10000) -> None:
    client = redis.Redis.from_url(settings.redis_url.reveal())
    publish_changes(client, [change(customer, n, pad) for n in numbers], stream_maxlen=maxlen)


async def open_stream(server: WebServer, token: str, since: str | None = None, **options):
    url = server.ws_url + (f"?since={since}" if since else "")
    # Read ahead without limit: a test that stops reading must not stall the close handshake.
    return await connect(url, additional_headers=bearer(token), **{"max_queue": None, **options})


async def read_changes(ws: ClientConnection, count: int, timeout: float = 20) -> list[dict]:
    """The next ``count`` changes (skipping ready and heartbeat messages)."""
    got: list[dict] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            message = json.loads(await ws.recv())
            if "event_id" in message:
                got.append(message)
    return got


def test_a_client_that_reconnects_with_since_misses_nothing_and_gets_nothing_twice(
    db, web, settings
):
    token = new_token(db, "acme")
    total = 400

    def producer() -> None:  # changes keep coming while the client drops and comes back
        for n in range(total):
            publish(settings, "acme", [n])
            time.sleep(0.002)

    async def scenario() -> list[int]:
        received: list[dict] = []
        ws = await open_stream(web, token)
        assert json.loads(await ws.recv())["type"] == "ready"
        thread = threading.Thread(target=producer)
        thread.start()
        try:
            # Five times: read a few, drop the connection, come back with the last event_id
            for burst in (40, 25, 60, 10, 30):
                received += await read_changes(ws, burst)
                await ws.close()
                await asyncio.sleep(0.03)
                ws = await open_stream(web, token, since=received[-1]["event_id"])
            received += await read_changes(ws, total - len(received))
            await ws.close()
        finally:
            thread.join()
        assert [m["event_id"] for m in received] == sorted(
            {m["event_id"] for m in received}, key=lambda i: tuple(map(int, i.split("-")))
        )
        return [m["history_id"] for m in received]

    assert asyncio.run(scenario()) == list(range(total))


def test_a_stream_carries_only_its_customers_changes(db, web, settings):
    acme, globex = new_token(db, "acme"), new_token(db, "globex")

    async def scenario() -> None:
        a = await open_stream(web, acme)
        g = await open_stream(web, globex)
        for ws in (a, g):
            assert json.loads(await ws.recv())["type"] == "ready"
        publish(settings, "globex", [1, 2])
        publish(settings, "acme", [3])
        publish(settings, "globex", [4])
        publish(settings, "acme", [5])
        assert [m["history_id"] for m in await read_changes(a, 2)] == [3, 5]
        assert [m["history_id"] for m in await read_changes(g, 3)] == [1, 2, 4]
        # And no since can reach another customer's changes: ids name entries of one's own
        first = await read_changes(await open_stream(web, acme, since="0-0"), 2)
        assert {m["customer_id"] for m in first} == {"acme"}
        for ws in (a, g):
            await ws.close()

    asyncio.run(scenario())


def test_an_idle_stream_gets_heartbeats(db, web):
    token = new_token(db, "acme")

    async def scenario() -> list[str]:
        async with await open_stream(web, token) as ws:
            async with asyncio.timeout(5):
                return [json.loads(await ws.recv())["type"] for _ in range(3)]

    assert asyncio.run(scenario()) == ["ready", "heartbeat", "heartbeat"]


def test_asking_for_changes_the_stream_no_longer_holds_says_reset(db, web, settings):
    token = new_token(db, "acme")
    redis.Redis.from_url(settings.redis_url.reveal())
    publish(settings, "acme", range(1))
    first = (
        redis.Redis.from_url(settings.redis_url.reveal())
        .xrange("alerts-stream:acme")[0][0]
        .decode()
    )
    publish(settings, "acme", range(1, 600), maxlen=50)  # trims whole nodes: 1 is gone

    async def scenario() -> list[dict]:
        async with await open_stream(web, token, since=first) as ws:
            return [json.loads(await ws.recv()) for _ in range(3)]

    ready, reset, *rest = asyncio.run(scenario())
    assert ready["type"] == "ready" and reset["type"] == "reset"
    assert "reload" in reset["reason"]
    assert "event_id" in rest[0]  # what the stream still holds follows


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, "", 401),
        ({"Authorization": "Bearer sho_unknown"}, "", 401),
        (None, "?since=yesterday", 422),
        ({"Cookie": "shelfops_session=forged"}, "", 401),
    ],
)
def test_a_stream_is_refused_without_a_valid_token_or_since(db, web, headers, query, status):
    token = new_token(db, "acme")

    async def scenario() -> int:
        try:
            await connect(
                web.ws_url + query, additional_headers=bearer(token) if headers is None else headers
            )
        except InvalidStatus as refused:
            return refused.response.status_code
        return 101

    assert asyncio.run(scenario()) == status


@pytest.fixture(scope="module")
def small_buffer_web(settings, base_env, tmp_path_factory):
    server = WebServer(
        base_env, tmp_path_factory.mktemp("web-slow"), SHELFOPS_STREAM_CLIENT_BUFFER="50"
    ).start()
    yield server
    server.stop()


def test_a_slow_client_is_cut_off_without_delaying_a_fast_one_and_resumes(
    db, small_buffer_web, settings
):
    web = small_buffer_web
    token = new_token(db, "acme")
    total, pad = 1500, 8000  # 12 MB: more than the kernel buffers of one connection hold

    async def scenario() -> None:
        # Given a client that stops reading, and one that keeps up
        slow = await asyncio.to_thread(SilentClient, web, token)
        fast = await open_stream(web, token)
        assert json.loads(await fast.recv())["type"] == "ready"

        # When 1,500 changes of 8 kB are published
        started = time.monotonic()
        await asyncio.to_thread(publish, settings, "acme", range(total), pad=pad)
        got = await read_changes(fast, total, timeout=30)
        fast_took = time.monotonic() - started
        await fast.close()

        # Then the fast client has them all, in order, within seconds
        assert [m["history_id"] for m in got] == list(range(total))
        assert fast_took < 15, fast_took

        # And the slow one, reading at last, finds the start and then the end of the line
        messages, code = await asyncio.to_thread(slow.read_until_closed)
        seen = [m for m in messages if "event_id" in m]
        assert 0 < len(seen) < total
        assert code in (None, 1013)  # the close frame itself may not fit through

        # When it comes back with the last event_id it saw, it gets exactly the rest
        again = await open_stream(web, token, since=seen[-1]["event_id"])
        rest = await read_changes(again, total - len(seen), timeout=30)
        await again.close()
        assert [m["history_id"] for m in seen + rest] == list(range(total))

    asyncio.run(scenario())
