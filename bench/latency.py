"""Benchmark one SKU's event path: ``python bench/latency.py [--workers 2] [--repeat 500]
[--via webhook] [--warmup N] [--samples FILE]``.

On an idle system with a catalogue imported (``shelfops-alerts import``), the same SKU's
forecast-complete event is sent again and again; between two events its stock alternates
(5 and 6 units on hand at 10 a day: a critical alert, then the same alert updated), so
every event makes one change.
Measured: from ``notify_forecast_complete`` until a subscriber on ``alerts:{customer}``
receives that change. With ``--via webhook``, a ``shelfops-alerts serve`` process runs too,
and each event is a ``POST /v1/events/forecast-complete`` (one keep-alive connection) timed
until the change arrives on a WebSocket ``/v1/stream`` of the same customer.
Prints p50/p95/p99, and the CPU the alerts workers (main processes and pool children) and
PostgreSQL's backends used per event: a measure that does not depend on the machine's load.
``--warmup N`` sends N events first, untimed (fresh workers' first events open connections and
prepare statements); ``--samples FILE`` writes each timed event's latency as CSV.
``--watch-stalls`` also watches the machine itself (bench/stalls.py) and counts the events
that overlapped a stall of a CPU apart, with the percentiles of the others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import redis
from catalogue import environment, import_files, write_files
from harness import Bench, CpuMeter, bench_stack, machine, note, table
from sqlalchemy import text
from stalls import MachineStalls
from websockets.sync.client import connect

from shelfops_alerts.cli.sweep import draw, progress_line
from shelfops_alerts.db import get_engine, session_factory
from shelfops_alerts.intake.client import notify_forecast_complete
from shelfops_alerts.publish.changes import channel_for
from shelfops_alerts.stack import processes
from shelfops_alerts.stack.embedded import free_port
from shelfops_alerts.web.tokens import create_token

CUSTOMER = "bench"
STORE, PRODUCT = "ST00000", "PR0000"
#: Seconds to wait for one change before calling the run broken.
TIMEOUT_S = 10.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


#: (send the n-th event, wait for its change) for one way in and out.
Way = tuple[Callable[[int], None], Callable[[], None]]


@contextmanager
def through_channel(bench: Bench, sku: str) -> Iterator[Way]:
    """Events from the Python producer; changes from the Redis channel."""
    pubsub = redis.Redis.from_url(bench.settings.redis_url.reveal()).pubsub(
        ignore_subscribe_messages=True
    )
    pubsub.subscribe(channel_for(CUSTOMER))

    def send(n: int) -> None:
        notify_forecast_complete(CUSTOMER, f"latency-{n}", [sku], settings=bench.settings)

    def receive() -> None:
        deadline = time.perf_counter() + TIMEOUT_S
        while time.perf_counter() < deadline:
            # None also stands for an ignored subscribe confirmation: keep waiting.
            message = pubsub.get_message(timeout=TIMEOUT_S)
            if message is not None and json.loads(message["data"])["product_id"] == PRODUCT:
                return
        raise SystemExit(f"no change published within {TIMEOUT_S} s")

    yield send, receive
    pubsub.close()


@contextmanager
def through_webhook(bench: Bench, sku: str) -> Iterator[Way]:
    """Events POSTed to the web service's webhook; changes from its WebSocket stream."""
    port = free_port()
    server = processes.web(env=bench.env, port=port, log_dir=bench.folder / "logs").start()
    try:
        processes.wait_for_web(server, port)
        with session_factory(bench.settings).begin() as session:
            token = create_token(session, customer_id=CUSTOMER)[0]
        auth = {"Authorization": f"Bearer {token}"}
        caller = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
        stream = connect(f"ws://127.0.0.1:{port}/v1/stream", additional_headers=auth)
        assert json.loads(stream.recv(timeout=TIMEOUT_S))["type"] == "ready"

        def send(n: int) -> None:
            body = json.dumps({"run_id": f"latency-{n}", "skus": [sku]})
            caller.request(
                "POST",
                "/v1/events/forecast-complete",
                body,
                {**auth, "Content-Type": "application/json"},
            )
            answer = caller.getresponse()
            answer.read()
            if answer.status != 202:
                raise SystemExit(f"the webhook answered {answer.status}")

        def receive() -> None:
            deadline = time.perf_counter() + TIMEOUT_S
            while (left := deadline - time.perf_counter()) > 0:
                message = json.loads(stream.recv(timeout=left))
                if message.get("product_id") == PRODUCT and "event_id" in message:
                    return
            raise SystemExit(f"no change on the stream within {TIMEOUT_S} s")

        yield send, receive
        stream.close()
        caller.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="alerts worker processes")
    parser.add_argument("--repeat", type=int, default=500)
    parser.add_argument("--skus", type=int, default=10_000, help="catalogue size around the SKU")
    parser.add_argument(
        "--via",
        choices=("producer", "webhook"),
        default="producer",
        help="producer → channel (default), or webhook POST → WebSocket stream",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="events sent first, neither timed nor counted (fresh workers' first events"
        " open connections and prepare statements)",
    )
    parser.add_argument(
        "--samples",
        type=Path,
        help="write each event's latency (ms) and send time (s from the first, and Unix time"
        " to match the logs) here, as CSV",
    )
    parser.add_argument(
        "--watch-stalls",
        action="store_true",
        help="watch each CPU for stalls of the machine itself (bench/stalls.py; about 4 %% of"
        " each CPU) and report the events that overlapped one apart",
    )
    args = parser.parse_args()
    stalls = MachineStalls() if args.watch_stalls else None
    today = dt.datetime.now(dt.UTC).date()
    with bench_stack(args.workers) as bench:
        engine = get_engine(bench.settings)
        folder = Path(tempfile.mkdtemp(prefix="shelfops-bench-files-"))
        paths = write_files(
            folder,
            customer_id=CUSTOMER,
            skus=args.skus,
            today=today,
            only=("inventory", "forecasts"),
        )
        import_files(environment(bench.env), paths)
        shutil.rmtree(folder, ignore_errors=True)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE forecasts SET demand = 10 WHERE customer_id = :c"
                    " AND store_id = :s AND product_id = :p"
                ),
                {"c": CUSTOMER, "s": STORE, "p": PRODUCT},
            )
        sku = f"{STORE}/{PRODUCT}"
        way = through_webhook if args.via == "webhook" else through_channel
        samples: list[float] = []
        sent_at: list[float] = []
        sent_unix: list[float] = []

        def stock(n: int) -> None:
            # 5 and 6 units in turn: every event makes one change
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "UPDATE inventory SET on_hand = :h WHERE customer_id = :c"
                        " AND store_id = :s AND product_id = :p"
                    ),
                    {"h": 5 + n % 2, "c": CUSTOMER, "s": STORE, "p": PRODUCT},
                )

        with way(bench, sku) as (send, receive):
            for n in range(args.warmup):
                stock(n)
                send(n)
                receive()
            note(f"{args.repeat} events for {sku} ({args.via}) ...")
            began = time.perf_counter()
            with stalls or nullcontext(), CpuMeter(bench) as cpu:
                for n in range(args.warmup, args.warmup + args.repeat):
                    stock(n)
                    start = time.perf_counter()
                    sent_unix.append(time.time())
                    send(n)
                    receive()
                    samples.append((time.perf_counter() - start) * 1000)
                    sent_at.append(start - began)
                    done = len(samples)
                    draw(
                        progress_line(done, args.repeat, time.perf_counter() - began, unit="events")
                    )

    stalled = [
        stalls is not None and stalls.overlaps(unix, unix + ms / 1000)
        for unix, ms in zip(sent_unix, samples, strict=True)
    ]
    if args.samples is not None:
        rows = enumerate(zip(sent_at, sent_unix, samples, stalled, strict=True))
        lines = [
            f"{n},{at:.4f},{unix:.6f},{ms:.3f},{int(stall)}" for n, (at, unix, ms, stall) in rows
        ]
        header = "event,sent_s,sent_unix,latency_ms,machine_stall\n"
        args.samples.write_text(header + "\n".join(lines) + "\n")
    print(f"\nmachine: {machine()}\n")
    print(
        table(
            [
                "events",
                "via",
                "workers",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "mean ms",
                "worker CPU ms/event",
                "PG backends CPU ms/event",
            ],
            [
                [
                    len(samples),
                    args.via,
                    args.workers,
                    f"{percentile(samples, 0.50):.1f}",
                    f"{percentile(samples, 0.95):.1f}",
                    f"{percentile(samples, 0.99):.1f}",
                    f"{max(samples):.1f}",
                    f"{statistics.fmean(samples):.1f}",
                    f"{cpu.seconds.get('workers', 0.0) * 1000 / len(samples):.2f}",
                    f"{cpu.seconds.get('postgres backends', 0.0) * 1000 / len(samples):.2f}",
                ]
            ],
        )
    )
    if stalls is not None:
        print(stall_summary(stalls, samples, stalled))


def stall_summary(stalls: MachineStalls, samples: list[float], stalled: list[bool]) -> str:
    """How many events overlapped a stall of the machine, and the others' percentiles."""
    clear = [ms for ms, stall in zip(samples, stalled, strict=True) if not stall]
    hit = sorted((ms for ms, stall in zip(samples, stalled, strict=True) if stall), reverse=True)
    top = max(1, len(samples) // 100)
    slowest = sorted(zip(samples, stalled, strict=True), reverse=True)[:top]
    shown = f"{', '.join(f'{ms:.0f}' for ms in hit[:12])}{' ...' if len(hit) > 12 else ''}"
    lines = [
        f"\nmachine stalls (bench/stalls.py): {len(stalls.episodes())} while timing;"
        f" {len(hit)} of {len(samples)} events overlapped one{f' ({shown} ms)' if hit else ''};"
        f" of the slowest 1 %, {sum(stall for _, stall in slowest)} of {len(slowest)}",
    ]
    if clear:
        lines.append(
            f"the {len(clear)} others: p50 {percentile(clear, 0.50):.1f}, p95"
            f" {percentile(clear, 0.95):.1f}, p99 {percentile(clear, 0.99):.1f},"
            f" max {max(clear):.1f} ms"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
