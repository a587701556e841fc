"""How long one metrics scrape takes with a retail-sized database behind it.

    .venv/bin/python bench/metrics_scrape.py [--skus 1000000] [--alerts 100000] [--scrapes 200]

Loads N SKUs (inventory rows), A active alerts (plus half as many resolved, three history
rows each, a thousand of them unpublished), e-mail deliveries (three sent per alert, some
failed, pending and retrying) and a year of sweeps; puts ten thousand messages in the
queues. Then times S scrapes (``render_metrics``: every figure read from Redis and
PostgreSQL and rendered as Prometheus text), each after the writes a busy 15 s brings
(a batch of 2,000 alerts changing severity, 200 deliveries sent), so every scrape also folds
fresh count changes. Last, one scrape after 100 such batches without a scrape in between.
No worker runs: the scrape's cost does not depend on them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import redis
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Timer, bench_stack, machine, note, table  # noqa: E402
from shelfops_alerts.db import get_engine  # noqa: E402
from shelfops_alerts.metrics import collect_figures, render_metrics  # noqa: E402

TYPES = (
    "ARRAY['stockout_predicted','anomaly_detected','reorder_recommended','forecast_accuracy_low']"
)
SEVERITIES = "ARRAY['low','medium','high','critical']"
QUEUED = {"alerts": 8000, "email": 2000}
UNACKED = 200

LOAD = [
    # SKUs: 500 products per store
    """INSERT INTO inventory (customer_id, store_id, product_id, on_hand)
       SELECT 'acme', 'ST' || lpad((g / 500)::text, 5, '0'), 'PR' || lpad((g % 500)::text, 4, '0'),
              (g % 97)::float FROM generate_series(0, :skus - 1) g""",
    # Active alerts over every type and severity, and half as many resolved
    f"""INSERT INTO alerts (customer_id, store_id, product_id, alert_type, severity, status,
                            message, created_at, updated_at)
       SELECT 'acme', 'ST' || lpad((((g / 4) % :skus) / 500)::text, 5, '0'),
              'PR' || lpad(((g / 4) % 500)::text, 4, '0'),
              ({TYPES})[1 + g % 4], ({SEVERITIES})[1 + (g / 7) % 4],
              CASE WHEN g < :alerts THEN (ARRAY['open','acknowledged'])[1 + g % 2]
                   ELSE 'resolved' END,
              'message', now() - interval '2 days', now() - interval '1 day'
       FROM generate_series(0, :alerts + :alerts / 2 - 1) g""",
    # Three history rows per alert, all published but the newest thousand
    """INSERT INTO alert_history (alert_id, event, severity, status, changed_at, published_at)
       SELECT a.id, e.event, a.severity, a.status, a.updated_at, a.updated_at
       FROM alerts a CROSS JOIN (VALUES ('created'), ('updated'), ('escalated')) e(event)""",
    """UPDATE alert_history SET published_at = NULL
       WHERE id > (SELECT max(id) - 1000 FROM alert_history)""",
    # Deliveries: three sent per alert, some failed, pending and retrying
    """INSERT INTO email_deliveries (alert_id, history_id, recipient, status, queued_at, sent_at)
       SELECT h.alert_id, h.id, 'ops@acme.example',
              CASE WHEN h.id % 1000 = 1 THEN 'failed' WHEN h.id % 1000 = 2 THEN 'retrying'
                   WHEN h.id % 2000 = 3 THEN 'pending' ELSE 'sent' END,
              h.changed_at, h.changed_at
       FROM alert_history h""",
    # A year of sweeps, every 15 minutes
    """INSERT INTO sweeps (task_id, status, started_at, queued_at, finished_at, batch_size,
                           skus_total, skus_checked, batches_queued, batches_done)
       SELECT 'sweep-' || g, 'finished', now() - make_interval(mins => 15 * g),
              now() - make_interval(mins => 15 * g), now() - make_interval(mins => 15 * g - 1),
              2000, :skus, :skus, :skus / 2000, :skus / 2000
       FROM generate_series(1, 35040) g""",
]

# What a busy 15 s writes between two scrapes.
BUSY = [
    f"""UPDATE alerts SET severity = ({SEVERITIES})[1 + (id + :round) % 4], updated_at = now()
        WHERE id IN (SELECT id FROM alerts WHERE status = 'open'
                     ORDER BY id OFFSET (:round * 2000) % :alerts LIMIT 2000)""",
    # 200 deliveries claimed, then sent
    """UPDATE email_deliveries SET status = 'sending' WHERE id IN (
           SELECT id FROM email_deliveries WHERE status = 'sent'
           ORDER BY id OFFSET (:round * 200) % 100000 LIMIT 200)""",
    "UPDATE email_deliveries SET status = 'sent' WHERE status = 'sending'",
]


def load(engine, skus: int, alerts: int) -> float:
    with Timer() as timer, engine.begin() as connection:
        for statement in LOAD:
            connection.execute(text(statement), {"skus": skus, "alerts": alerts})
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE)"))
    return timer.seconds


def fill_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    pipe = client.pipeline(transaction=False)
    for queue, count in QUEUED.items():
        for start in range(0, count, 1000):
            pipe.lpush(queue, *[f'{{"body": "{queue}-{n}"}}' for n in range(start, start + 1000)])
    pipe.hset("unacked", mapping={f"tag-{n}": "[]" for n in range(UNACKED)})
    pipe.execute()


def busy(engine, round_no: int, alerts: int) -> None:
    with engine.begin() as connection:
        for statement in BUSY:
            connection.execute(text(statement), {"round": round_no, "alerts": alerts})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    with bench_stack(0) as bench:
        engine = get_engine(bench.settings)
        note(f"loading {args.skus:,} SKUs and {args.alerts:,} active alerts ...")
        seconds = load(engine, args.skus, args.alerts)
        fill_redis(bench.settings.redis_url.reveal())
        with engine.connect() as connection:
            sizes = {
                name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                for name in ("inventory", "alerts", "alert_history", "email_deliveries", "sweeps")
            }
        note(f"loaded in {seconds:.0f} s: {sizes}")
        render_metrics(bench.settings)  # the first scrape connects and folds the load's counts
        took: list[float] = []
        for round_no in range(args.scrapes):
            busy(engine, round_no, args.alerts)
            with Timer() as timer:
                body, _ = render_metrics(bench.settings)
            took.append(timer.seconds * 1000)
        for round_no in range(args.scrapes, args.scrapes + 100):
            busy(engine, round_no, args.alerts)
        with Timer() as backlog:
            render_metrics(bench.settings)
        figures = collect_figures(bench.settings)
        active = sum(v for _, v in figures.samples["shelfops_alerts_active"])
        print(f"machine: {machine()}")
        print(
            f"{sizes['inventory']:,} SKUs, {int(active):,} active alerts, "
            f"{sizes['alert_history']:,} history rows, {sizes['email_deliveries']:,} deliveries, "
            f"{sizes['sweeps']:,} sweeps; {sum(QUEUED.values()):,} queued messages; "
            f"{len(body):,} bytes per scrape"
        )
        print(
            table(
                [
                    "scrapes",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "max ms",
                    "after 100 batches unscraped ms",
                ],
                [
                    [
                        len(took),
                        f"{statistics.median(took):.1f}",
                        f"{percentile(took, 0.95):.1f}",
                        f"{percentile(took, 0.99):.1f}",
                        f"{max(took):.1f}",
                        f"{backlog.seconds * 1000:.1f}",
                    ]
                ],
            )
        )


if __name__ == "__main__":
    main()
