"""Benchmark: the fleet-wide e-mail rate limit, with 4 email worker processes (run by hand).

    .venv/bin/python bench/email_rate.py [--emails 300] [--rate 20] [--workers 4]

Starts its own PostgreSQL and Redis (shelfops_alerts/stack/embedded.py) under a temporary folder,
a fake SendGrid API (tests/fakes) and ``--workers`` ``celery -A workers worker -Q email``
processes (one pool process each), writes ``--emails`` deliveries and queues one
``shelfops.send_alert_email`` for each. Prints how many requests the fake provider received
in each second, the busiest sliding one-second window, and the achieved rate. The limit
holds when no second (and no sliding window) exceeds ``--rate``; the budget is used when the
achieved rate is at least 90% of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from shelfops_alerts import migrate  # noqa: E402
from shelfops_alerts.config import load_settings  # noqa: E402
from shelfops_alerts.db import dispose_engines, session_factory  # noqa: E402
from shelfops_alerts.intake.client import _producer  # noqa: E402
from shelfops_alerts.stack import processes  # noqa: E402
from shelfops_alerts.stack.embedded import EmbeddedStack  # noqa: E402
from tests.fakes import FakeSendGridAPI  # noqa: E402

API_KEY = "SG.bench-key"

_SEED = text(
    """
    WITH a AS (
        INSERT INTO alerts (customer_id, store_id, product_id, alert_type, severity, message)
        SELECT 'benchco', 'S1', 'P' || g, 'stockout_predicted', 'critical', 'bench alert ' || g
        FROM generate_series(1, :n) g
        RETURNING id
    ),
    h AS (
        INSERT INTO alert_history (alert_id, event, severity, status, published_at)
        SELECT id, 'created', 'critical', 'open', now() FROM a
        RETURNING id, alert_id
    )
    INSERT INTO email_deliveries (alert_id, history_id, recipient)
    SELECT alert_id, id, 'ops@benchco.example' FROM h
    RETURNING id
    """
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emails", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="shelfops-bench-email-"))
    stack = EmbeddedStack(folder).start()
    workers: list[processes.ServiceProcess] = []
    try:
        with FakeSendGridAPI(api_key=API_KEY) as fake:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")},
                **stack.environment(),
                "SHELFOPS_EMAIL_BACKEND": "sendgrid",
                "SENDGRID_API_KEY": API_KEY,
                "SHELFOPS_SENDGRID_HOST": fake.url,
                "SHELFOPS_EMAIL_RATE": f"{args.rate:g}",
                "SHELFOPS_DIGEST_WINDOW_S": "0",  # every delivery is its own e-mail here
            }
            settings = load_settings(env)
            migrate.upgrade(settings)
            with session_factory(settings).begin() as session:
                ids = [int(i) for i in session.execute(_SEED, {"n": args.emails}).scalars()]
            names = [f"email{n}" for n in range(1, args.workers + 1)]
            for name in names:
                workers.append(
                    processes.worker(
                        name=name, queues="email", concurrency=1, env=env, log_dir=folder / "logs"
                    ).start()
                )
            processes.wait_for_workers(settings.redis_url.reveal(), names)

            producer = _producer(settings.redis_url.reveal())
            started = time.monotonic()
            for delivery_id in ids:
                producer.send_task("shelfops.send_alert_email", args=[delivery_id], queue="email")
            fake.wait_for_requests(len(ids), timeout_s=len(ids) / args.rate * 3 + 30)
            wall = time.monotonic() - started
            report(fake, args.rate, args.workers, wall)
    finally:
        for worker in workers:
            worker.stop(grace_s=5)
        dispose_engines()
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def report(fake: FakeSendGridAPI, rate: float, workers: int, wall_s: float) -> None:
    times = sorted(r.received_at for r in fake.requests)
    first = times[0]
    bins: dict[int, int] = {}
    for t in times:
        bins[int(t - first)] = bins.get(int(t - first), 0) + 1
    busiest = max(sum(1 for u in times if t <= u < t + 1) for t in times)
    span = times[-1] - first
    achieved = (len(times) - 1) / span if span > 0 else float("inf")
    accepted = len(fake.accepted)
    print(f"\n{len(times)} requests ({accepted} accepted) from {workers} worker processes")
    print(f"limit {rate:g}/s; wall clock from first queued to last received {wall_s:.2f} s\n")
    print("| second | requests |")
    print("| ------ | -------- |")
    for second in range(max(bins) + 1):
        print(f"| {second:>6} | {bins.get(second, 0):>8} |")
    print(
        f"\nbusiest second {max(bins.values())}, busiest sliding 1 s window {busiest}"
        f" (limit {rate:g}); achieved {achieved:.2f}/s = {achieved / rate:.1%} of the limit"
    )
    verdict = busiest <= rate and achieved >= 0.9 * rate
    print("OK" if verdict else "NOT OK: over the limit or under 90% of it")


if __name__ == "__main__":
    sys.exit(main())
