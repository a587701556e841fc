"""Benchmark the web service: ``python bench/stream.py [--clients 1000] [--customers 10]
[--changes 200] [--rate 40] [--callers 50] [--requests 40]``.

Starts PostgreSQL, Redis and one ``shelfops-alerts serve`` process, then:

1. **Stream**: opens ``--clients`` WebSocket connections to ``/v1/stream``, spread evenly
   over ``--customers`` customers (one API token each), and — once all are connected — a
   separate producer process makes ``--changes`` alert changes (acknowledgements of real
   alerts, round-robin over the customers, ``--rate`` per second) through the same functions
   the CLI and the API use, timing each from the moment its PUBLISH/XADD pipeline is sent.
   Checks that every client received exactly its customer's changes, in publishing order,
   and reports publish → receipt latency over all deliveries.
2. **Webhook** (once the server is quiet again after the stream part): ``--callers``
   concurrent callers, each on its own keep-alive connection,
   POST ``/v1/events/forecast-complete`` ``--requests`` times; twice: with a pause of 0–100 ms
   between a caller's requests (callers that do other work), and back to back (the server
   saturated). Reports p50/p99 of each POST's round trip, the throughput and the server's
   CPU time per POST (user + system, all its threads: a figure other load on the machine
   hardly moves). Reported on its own line beside those: the first POST of ``--callers``
   callers at once with a token the server has never seen (one database lookup between
   them, then the cache).

Clients and callers run in this process (asyncio, its garbage collector paused while it
times); the producer and the server run in their own processes. Everything shares the
machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import random
import resource
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
from harness import bench_stack, machine, note, table
from sqlalchemy import text
from websockets.asyncio.client import connect

from shelfops_alerts.alerts.actions import acknowledge
from shelfops_alerts.config import Settings, load_settings
from shelfops_alerts.db import session_factory
from shelfops_alerts.publish.changes import load_changes, mark_published, publish_changes
from shelfops_alerts.stack import processes
from shelfops_alerts.stack.embedded import free_port
from shelfops_alerts.web.tokens import create_token

#: Seconds every client has, after the last change is published, to receive everything.
DRAIN_S = 60.0


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection in this (the measuring) process while it times: a full
    collection here walks the 1,000 clients' objects (60-350 ms) and would be counted as the
    server's latency. (``timeit`` pauses the collector for the same reason.)"""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def wait_until_quiet(
    process: psutil.Process, *, window_s: float = 0.25, busy_s: float = 0.01
) -> float:
    """Wait until ``process`` used less than ``busy_s`` of CPU in ``window_s`` (at most 10 s);
    returns the seconds waited. After the stream part the server still closes its 1,000
    clients for a moment (~0.1 s): the webhook part starts when that is over, so it measures
    the webhook, not the end of the stream part."""
    began = time.perf_counter()
    while time.perf_counter() - began < 10:
        before = sum(process.cpu_times()[:2])
        time.sleep(window_s)
        if sum(process.cpu_times()[:2]) - before < busy_s:
            break
    return time.perf_counter() - began


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def put_alerts(settings: Settings, customers: list[str], per_customer: int) -> dict[str, list[int]]:
    """``per_customer`` open alerts for each customer; returns their ids by customer."""
    ids: dict[str, list[int]] = {}
    with session_factory(settings).begin() as session:
        for customer in customers:
            ids[customer] = [
                int(i)
                for i in session.execute(
                    text(
                        "INSERT INTO alerts (customer_id, store_id, product_id, alert_type,"
                        " severity, message) SELECT :c, 'S1', 'P' || g, 'stockout_predicted',"
                        " 'high', 'bench' FROM generate_series(1, :n) g RETURNING id"
                    ),
                    {"c": customer, "n": per_customer},
                ).scalars()
            ]
    return ids


def produce(env: dict[str, str], plan: list[tuple[str, int]], rate: float, out: Any) -> None:
    """In its own process: acknowledge each planned alert, ``rate`` per second, and report
    (customer, history_id, publish time) for each change."""
    settings = load_settings(env)
    factory = session_factory(settings)
    import redis

    client = redis.Redis.from_url(settings.redis_url.reveal())
    sent = []
    began = time.perf_counter()
    for n, (customer, alert_id) in enumerate(plan):
        pause = began + n / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        with factory.begin() as session:
            done = acknowledge(session, alert_id=alert_id, actor="bench")
        with factory.begin() as session:
            messages = load_changes(session, history_ids=[done.history_id])
            published_at = time.time()
            publish_changes(client, messages, stream_maxlen=settings.stream_maxlen)
            mark_published(session, history_ids=[done.history_id])
        sent.append((customer, done.history_id, published_at))
    out.send(sent)


async def stream_clients(
    url: str, tokens: dict[str, str], clients: int, ready: asyncio.Event, expected: dict
) -> tuple[dict[int, tuple[str, list[tuple[int, float]]]], int]:
    """Connect ``clients`` WebSockets (round-robin over the customers); each records
    (history_id, receipt time) until it has its customer's share or time runs out."""
    customers = sorted(tokens)
    received: dict[int, tuple[str, list[tuple[int, float]]]] = {}
    connected = 0
    handshakes = asyncio.Semaphore(100)
    all_connected = asyncio.Event()

    async def one(n: int) -> None:
        nonlocal connected
        customer = customers[n % len(customers)]
        got: list[tuple[int, float]] = []
        received[n] = (customer, got)
        async with handshakes:
            ws = await connect(
                url,
                additional_headers={"Authorization": f"Bearer {tokens[customer]}"},
                open_timeout=60,
                max_queue=None,
            )
        assert json.loads(await ws.recv())["type"] == "ready"
        connected += 1
        if connected == clients:
            all_connected.set()
        await ready.wait()
        deadline = time.monotonic() + DRAIN_S
        want = expected["per_customer"][customer]
        while len(got) < want and time.monotonic() < deadline + expected["produce_s"]:
            try:
                raw = await asyncio.wait_for(ws.recv(), 5)
            except TimeoutError:
                continue
            now = time.time()
            message = json.loads(raw)
            if "event_id" in message:
                got.append((message["history_id"], now))
        await ws.close()

    tasks = [asyncio.create_task(one(n)) for n in range(clients)]
    await asyncio.wait_for(all_connected.wait(), 300)
    expected["connected"].set()
    await asyncio.gather(*tasks)
    return received, connected


async def webhook_callers(
    port: int, token: str, callers: int, requests: int, pause_s: float
) -> tuple[list[float], float]:
    """POST latencies (ms) of ``callers`` keep-alive callers, and the wall-clock seconds."""
    body = json.dumps({"run_id": "bench", "skus": ["S1/P1"]}).encode()
    request = (
        f"POST /v1/events/forecast-complete HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []

    async def caller() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(requests):
                if pause_s:
                    await asyncio.sleep(random.uniform(0, pause_s))
                start = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - start) * 1000)
                if not head.startswith(b"HTTP/1.1 202"):
                    raise SystemExit(f"webhook answered {head.splitlines()[0]!r}")
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return latencies, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=40.0, help="changes per second")
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="POSTs per caller")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it too

    customers = [f"cust{n:02d}" for n in range(args.customers)]
    load_before = os.getloadavg()[0]
    with bench_stack(0) as bench:
        port = free_port()
        server = processes.web(env=bench.env, port=port, log_dir=bench.folder / "logs").start()
        try:
            processes.wait_for_web(server, port)
            tokens = {}
            with session_factory(bench.settings).begin() as session:
                for customer in customers:
                    tokens[customer] = create_token(session, customer_id=customer)[0]
            per = -(-args.changes // len(customers))
            alert_ids = put_alerts(bench.settings, customers, per)
            plan = [
                (
                    customers[n % len(customers)],
                    alert_ids[customers[n % len(customers)]][n // len(customers)],
                )
                for n in range(args.changes)
            ]
            per_customer = defaultdict(int)
            for customer, _ in plan:
                per_customer[customer] += 1
            rows = [stream_run(args, bench, port, tokens, plan, per_customer)]
            stream_table = rows[0]

            settled = wait_until_quiet(psutil.Process(server.pid))
            note(
                f"webhook: {args.callers} callers x {args.requests} POSTs"
                f" (the server was quiet {settled:.2f} s after the stream part) ..."
            )
            with session_factory(bench.settings).begin() as session:
                fresh = create_token(session, customer_id=customers[0])[0]
            runs = (
                ("0-100 ms between a caller's POSTs", tokens[customers[0]], args.requests, 0.1),
                ("back to back", tokens[customers[0]], args.requests, 0.0),
                ("first POST with a new token, all callers at once", fresh, 1, 0.0),
            )
            hooks = []
            server_process = psutil.Process(server.pid)
            for label, token, requests, pause in runs:
                cpu_before = sum(server_process.cpu_times()[:2])
                with collector_paused():
                    latencies, seconds = asyncio.run(
                        webhook_callers(port, token, args.callers, requests, pause)
                    )
                cpu_s = sum(server_process.cpu_times()[:2]) - cpu_before
                hooks.append(
                    [
                        args.callers,
                        label,
                        len(latencies),
                        f"{len(latencies) / seconds:.0f}",
                        f"{percentile(latencies, 0.50):.1f}",
                        f"{percentile(latencies, 0.99):.1f}",
                        f"{max(latencies):.1f}",
                        f"{cpu_s * 1000 / len(latencies):.2f}",
                    ]
                )
        finally:
            server.stop()

    print(f"\nmachine: {machine()}")
    print(f"load average (1 min) before {load_before:.1f}, after {os.getloadavg()[0]:.1f}\n")
    print(
        table(
            [
                "clients",
                "customers",
                "changes",
                "rate/s",
                "deliveries",
                "exact and in order",
                "p50 ms",
                "p99 ms",
                "max ms",
            ],
            [stream_table],
        )
    )
    print()
    print(
        table(
            [
                "callers",
                "pacing",
                "POSTs",
                "POSTs/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "server CPU ms/POST",
            ],
            hooks,
        )
    )


def stream_run(args, bench, port, tokens, plan, per_customer) -> list[object]:
    note(f"stream: connecting {args.clients} clients over {len(tokens)} customers ...")
    url = f"ws://127.0.0.1:{port}/v1/stream"

    async def run() -> tuple[dict, list]:
        ready = asyncio.Event()
        expected: dict[str, Any] = {
            "per_customer": per_customer,
            "produce_s": len(plan) / args.rate,
            "connected": asyncio.Event(),
        }
        clients = asyncio.create_task(stream_clients(url, tokens, args.clients, ready, expected))
        await expected["connected"].wait()
        note(f"stream: all connected; {len(plan)} changes at {args.rate:g}/s ...")
        receiving, sending = multiprocessing.Pipe(duplex=False)
        producer = multiprocessing.get_context("spawn").Process(
            target=produce, args=(bench.env, plan, args.rate, sending)
        )
        ready.set()
        producer.start()
        sent = await asyncio.to_thread(receiving.recv)
        producer.join()
        received, _ = await clients
        return received, sent

    with collector_paused():
        received, sent = asyncio.run(run())
    published = {history_id: at for _, history_id, at in sent}
    order: dict[str, list[int]] = defaultdict(list)
    for customer, history_id, _ in sent:
        order[customer].append(history_id)
    exact = all([h for h, _ in got] == order[customer] for customer, got in received.values())
    latencies = [(at - published[h]) * 1000 for _, got in received.values() for h, at in got]
    deliveries = sum(len(got) for _, got in received.values())
    wanted = sum(len(order[customer]) for customer, _ in received.values())
    return [
        len(received),
        len(tokens),
        len(sent),
        f"{args.rate:g}",
        f"{deliveries} of {wanted}",
        "yes" if exact and deliveries == wanted else "NO",
        f"{percentile(latencies, 0.50):.1f}",
        f"{percentile(latencies, 0.99):.1f}",
        f"{max(latencies):.1f}",
    ]


if __name__ == "__main__":
    main()
