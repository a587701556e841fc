"""What a prune run (``shelfops.prune``) costs on a database that has run for months.

    .venv/bin/python bench/prune.py [--skus 20000] [--past-days 97] [--alerts 20000]

Loads N SKUs with 14 days of forecasts ahead and ``--past-days`` days of past forecasts and
sales each (the default keeps 90: a week per SKU is over), A alerts resolved at even
intervals over the last 180 days (half of them past the 90 days kept) with three history
rows and three sent e-mails each, and a year of sweeps (every 15 min, 50 batch rows each).
Then times, at the default settings:

1. the first run, which works off that backlog;
2. a run an hour later, with nothing to do (the usual hourly run);
3. the runs of the next day (one more day of sales per SKU: on ``main`` before the sales
   windows, pruned the next day; since, a week at a time) and of a week later, when every
   SKU's forecasts and sales are a week over again (pruned a week at a time, see
   ``retention.policy.FORECAST_STEP_DAYS`` and ``SALES_STEP_DAYS``); the alerts' tables have
   nothing new then, since the bench does not age them.

No worker runs; the prune runs in this process as the task would. Beside each run's wall
seconds, the CPU seconds PostgreSQL spent on it (all its processes, autovacuum included:
the bench waits for nothing else) and this process's own: the CPU figures are the ones to
compare between commits on a shared machine, where wall time moves with the load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    Timer,
    bench_stack,
    machine,
    note,
    postgres_pid,
    table,
    tree_cpu_seconds,
)
from shelfops_alerts.db import get_engine  # noqa: E402
from shelfops_alerts.retention.policy import Retention  # noqa: E402
from shelfops_alerts.retention.prune import prune  # noqa: E402

SKU = "'acme', 'ST' || lpad((s / 500)::text, 5, '0'), 'PR' || lpad((s % 500)::text, 4, '0')"

LOAD = [
    # Triggers (horizons, sales windows, metric counts) and FK checks are off while loading;
    # the horizons and windows are built once at the end, as the triggers would have left them.
    "SET session_replication_role = replica",
    f"""INSERT INTO inventory (customer_id, store_id, product_id, on_hand)
        SELECT {SKU}, (s % 97)::float FROM generate_series(0, :skus - 1) s""",
    f"""INSERT INTO forecasts (customer_id, store_id, product_id, forecast_date, demand)
        SELECT {SKU}, CAST(:today AS date) + d, 1 + (s + d + 1000) % 9
        FROM generate_series(0, :skus - 1) s, generate_series(-:past, 13) d""",
    f"""INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)
        SELECT {SKU}, CAST(:today AS date) + d, (s + d + 1000) % 11
        FROM generate_series(0, :skus - 1) s, generate_series(-:past, -1) d""",
    """INSERT INTO forecast_horizons (customer_id, store_id, product_id, start_date, demands)
       SELECT customer_id, store_id, product_id, min(forecast_date),
              array_agg(demand ORDER BY forecast_date)
       FROM forecasts GROUP BY customer_id, store_id, product_id""",
    """INSERT INTO sales_windows (customer_id, store_id, product_id, start_date, units)
       SELECT customer_id, store_id, product_id, min(sale_date),
              array_agg(units ORDER BY sale_date)
       FROM sales GROUP BY customer_id, store_id, product_id""",
    f"""INSERT INTO alerts (customer_id, store_id, product_id, alert_type, severity, status,
                            message, created_at, updated_at, resolved_at)
        SELECT {SKU.replace("s /", "(a % :skus) /").replace("s %", "(a % :skus) %")},
               'stockout_predicted', 'high', 'resolved', 'm',
               now() - interval '181 days' * (1 - a / CAST(:alerts AS float)), now(),
               now() - interval '180 days' * (1 - a / CAST(:alerts AS float))
        FROM generate_series(0, :alerts - 1) a""",
    """INSERT INTO alert_history (alert_id, event, severity, status, changed_at, published_at)
       SELECT a.id, e.event, 'high', 'open', a.resolved_at, a.resolved_at
       FROM alerts a CROSS JOIN (VALUES ('created'), ('updated'), ('resolved')) e(event)""",
    """INSERT INTO email_deliveries (alert_id, history_id, recipient, status, updated_at, sent_at)
       SELECT h.alert_id, h.id, 'ops@acme.example', 'sent', h.changed_at, h.changed_at
       FROM alert_history h""",
    """INSERT INTO sweeps (task_id, status, started_at, queued_at, finished_at, batch_size)
       SELECT 'sweep-' || g, 'finished', now() - make_interval(mins => 15 * g),
              now() - make_interval(mins => 15 * g), now() - make_interval(mins => 15 * g - 1),
              2000
       FROM generate_series(1, 35040) g""",
    """INSERT INTO sweep_batches (sweep_id, batch_no, done_at)
       SELECT s.id, b, s.finished_at FROM sweeps s, generate_series(0, 49) b""",
    "SET session_replication_role = origin",
]


def load(engine, skus: int, past: int, alerts: int, today: dt.date) -> float:
    with Timer() as timer, engine.begin() as connection:
        for statement in LOAD:
            connection.execute(
                text(statement), {"skus": skus, "past": past, "alerts": alerts, "today": today}
            )
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE)"))
    return timer.seconds


def sizes(engine) -> dict[str, int]:
    tables = (
        "forecasts",
        "sales",
        "alerts",
        "alert_history",
        "email_deliveries",
        "sweeps",
        "sweep_batches",
    )
    with engine.connect() as connection:
        return {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=20_000)
    parser.add_argument("--past-days", type=int, default=97)
    parser.add_argument("--alerts", type=int, default=20_000)
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    with bench_stack(0) as bench:
        engine = get_engine(bench.settings)
        retention = Retention.from_settings(bench.settings)
        note(f"loading {args.skus:,} SKUs x {args.past_days} past days, {args.alerts:,} alerts ...")
        seconds = load(engine, args.skus, args.past_days, args.alerts, today)
        before = sizes(engine)
        note(f"loaded in {seconds:.0f} s: {before}")
        runs = []
        postgres = postgres_pid(bench)
        for label, day in (
            ("first run (backlog)", today),
            ("an hour later (nothing to do)", today),
            ("next day", today + dt.timedelta(days=1)),
            ("a week later", today + dt.timedelta(days=7)),
        ):
            server, own = tree_cpu_seconds(postgres), time.process_time()
            report = prune(engine, retention, today=day)
            server, own = tree_cpu_seconds(postgres) - server, time.process_time() - own
            deleted = {t: n for t, n in report.deleted.items() if n}
            runs.append(
                [
                    label,
                    f"{report.seconds:.2f}",
                    f"{server:.2f}",
                    f"{own:.2f}",
                    f"{sum(deleted.values()):,}",
                    ", ".join(f"{t} {n:,} ({report.took_s[t]:.1f} s)" for t, n in deleted.items())
                    or "-",
                    ", ".join(report.unfinished) or "-",
                ]
            )
        print(f"\n{machine()}")
        print(
            f"{args.skus:,} SKUs, {args.past_days} past days; {args.alerts:,} resolved alerts; "
            f"rows before: {', '.join(f'{t} {n:,}' for t, n in before.items())}\n"
        )
        print(
            table(
                [
                    "run",
                    "seconds",
                    "PostgreSQL CPU s",
                    "bench CPU s",
                    "rows deleted",
                    "by table",
                    "unfinished",
                ],
                runs,
            )
        )


if __name__ == "__main__":
    main()
