"""What one SKU's event costs per step, in one process: ``python bench/event_profile.py``.

Imports a catalogue (``--skus``, default 10,000) into its own stack (no workers), then runs
a one-SKU forecast-complete event in this process, step by step, as the producer and a
worker's pool process run them (the task functions, with the workers' sessions and waits):
the producer's send (the event's check chain, queued on the broker), the check (its reads,
then the batch's ledger row), the persist and the publish. With ``--walk`` the event goes
the way every large event goes, through the walk task (``forecast_completed``: its ledger
row, then its chain queued) instead of the producer's direct chain. Its stock alternates as
in ``latency.py``, so every event makes one change. Prints, per step, CPU and wall
microseconds and the PostgreSQL round trips and Redis commands it made. Round trips and
commands do not depend on the machine's load; CPU does less than wall time, so this is the
measure to compare two versions on a busy machine. Celery's own work around a task (taking
the message, the pool's pipes, events, the ack) is not in it: ``latency.py`` measures the
whole path.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2.extensions
import redis
from catalogue import environment, import_files, write_files
from harness import bench_stack, machine, note, table
from sqlalchemy import text

CUSTOMER, STORE, PRODUCT = "bench", "ST00000", "PR0000"
WARM_UP = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--skus", type=int, default=10_000, help="catalogue size around the SKU")
    parser.add_argument("--walk", action="store_true", help="through the walk task, as before")
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    with bench_stack(0) as bench:
        # The workers' app reads its settings from the environment when first imported.
        os.environ.update(bench.env)
        from shelfops_alerts.db import get_engine
        from shelfops_alerts.intake.client import notify_forecast_complete, send_event
        from shelfops_alerts.outages.postgres import guard_waits
        from shelfops_alerts.vocabulary import FORECAST_COMPLETED_TASK
        from workers import app
        from workers.tasks import batches
        from workers.tasks.checks import check_stockout_risk
        from workers.tasks.events import forecast_completed
        from workers.tasks.persist import dedup_and_persist
        from workers.tasks.publish import publish_alerts

        folder = Path(tempfile.mkdtemp(prefix="shelfops-bench-files-"))
        paths = write_files(
            folder,
            customer_id=CUSTOMER,
            skus=args.skus,
            today=today,
            only=("inventory", "forecasts"),
        )
        import_files(environment(bench.env), paths)
        engine = get_engine(bench.settings)
        keys = {"c": CUSTOMER, "s": STORE, "p": PRODUCT}
        where = " WHERE customer_id = :c AND store_id = :s AND product_id = :p"
        with engine.begin() as connection:
            connection.execute(text("UPDATE forecasts SET demand = 10" + where), keys)

        counts = {"pg": 0, "redis": 0}
        guard_waits(app.shelfops_settings)
        wait = psycopg2.extensions.get_wait_callback()

        def counted_wait(connection: Any) -> None:
            counts["pg"] += 1  # one wait per round trip (the workers' green mode)
            wait(connection)

        psycopg2.extensions.set_wait_callback(counted_wait)
        send = redis.connection.AbstractConnection.send_packed_command

        def counted_send(self: Any, *a: Any, **k: Any) -> None:
            counts["redis"] += 1
            send(self, *a, **k)

        redis.connection.AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
        queued: list[Any] = []
        queue_chain = batches.queue_chain

        def keep(batch: Any) -> None:
            queued.append(batch)  # sent as the walk sends it; run here instead of by a worker
            queue_chain(batch)

        batches.queue_chain = keep
        spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])

        def step(name: str, work: Callable[[], Any]) -> Any:
            pg, rd = counts["pg"], counts["redis"]
            wall, cpu = time.perf_counter(), time.process_time()
            done = work()
            total = spent[name]
            total[0] += time.process_time() - cpu
            total[1] += time.perf_counter() - wall
            total[2] += counts["pg"] - pg
            total[3] += counts["redis"] - rd
            return done

        broker = redis.Redis.from_url(bench.settings.redis_url.reveal())

        def run_check(
            task_id: str, args: list[Any], kwargs: dict[str, Any], chain: list[Any]
        ) -> Any:
            # As a worker runs the message: its request carries its id and its chain.
            check_stockout_risk.push_request(id=task_id, chain=chain)
            try:
                return json.loads(json.dumps(check_stockout_risk.run(*args, **kwargs)))
            finally:
                check_stockout_risk.pop_request()

        def check_message() -> tuple[str, list[Any], dict[str, Any], list[Any]]:
            envelope = json.loads(broker.rpop("alerts") or b"{}")
            args, kwargs, embed = json.loads(base64.b64decode(envelope["body"]))
            return envelope["headers"]["id"], args, kwargs, embed["chain"]

        def event(n: int) -> None:
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE inventory SET on_hand = :h" + where), {"h": 5 + n % 2, **keys}
                )
            sku = f"{STORE}/{PRODUCT}"
            if args.walk:
                step(
                    "producer (send)",
                    lambda: send_event(
                        FORECAST_COMPLETED_TASK,
                        {"customer_id": CUSTOMER, "run_id": f"p{n}", "skus": [sku]},
                        settings=bench.settings,
                    ),
                )
                broker.rpop("alerts")  # (the walk's message: run here instead)
                step("forecast_completed", lambda: forecast_completed(CUSTOMER, f"p{n}", [sku]))
                queued.pop()
            else:
                step(
                    "producer (send)",
                    lambda: notify_forecast_complete(
                        CUSTOMER, f"p{n}", [sku], settings=bench.settings
                    ),
                )
            task_id, args_, kwargs, chain = check_message()
            checked = step("check_stockout_risk", lambda: run_check(task_id, args_, kwargs, chain))
            persisted = step(
                "dedup_and_persist", lambda: json.loads(json.dumps(dedup_and_persist(checked)))
            )
            published = step("publish_alerts", lambda: publish_alerts(persisted))
            if published["published"] != 1:
                raise SystemExit(f"event {n}: published {published}, not one change")

        for n in range(WARM_UP):
            event(n)
        spent.clear()
        note(f"{args.repeat} events for {STORE}/{PRODUCT} ...")
        for n in range(WARM_UP, WARM_UP + args.repeat):
            event(n)
        redis.Redis.from_url(bench.settings.redis_url.reveal()).delete("alerts")

    r = args.repeat
    rows = [
        [name, f"{c * 1e6 / r:.0f}", f"{w * 1e6 / r:.0f}", f"{pg / r:.1f}", f"{rd / r:.1f}"]
        for name, (c, w, pg, rd) in spent.items()
    ]
    c, w, pg, rd = (sum(v[i] for v in spent.values()) for i in range(4))
    rows.append(
        ["all steps", f"{c * 1e6 / r:.0f}", f"{w * 1e6 / r:.0f}", f"{pg / r:.1f}", f"{rd / r:.1f}"]
    )
    print(f"\nmachine: {machine()}; load {os.getloadavg()[0]:.1f}\n")
    print(table(["task", "CPU µs", "wall µs", "PostgreSQL round trips", "Redis commands"], rows))


if __name__ == "__main__":
    main()
