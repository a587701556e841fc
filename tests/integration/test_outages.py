"""Database faults on the real pipeline: a batch whose connection is lost, or whose
PostgreSQL stalls, is retried and finishes; nothing is counted or written twice.

The test workers retry fast (0.2 s doubling to 1 s) and give up on a silent PostgreSQL
after 4 s (a 2 s statement timeout); see TEST_WORKER_ENV and ALERTS_WORKER_ENV.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from shelfops_alerts.intake.client import notify_forecast_complete, send_event
from shelfops_alerts.sweeps.lock import LOCK_KEY, OUTCOME_KEY
from tests.integration.conftest import wait_idle
from tests.support.data import put_skus, rows
from tests.support.stalls import postgres_pids, stopped
from tests.support.waiting import wait_until

C = "acme"
#: Ten SKUs of one customer: one batch of ten per sweep.
SKUS = [("S1", f"P{n}") for n in range(10)]


@pytest.fixture()
def outage(pipeline, settings):
    """The pipeline, with no sweep rows and no sweep lock."""
    with pipeline.begin() as session:
        session.execute(text("TRUNCATE sweeps, sweep_batches RESTART IDENTITY CASCADE"))
    redis.Redis.from_url(settings.redis_url.reveal()).delete(LOCK_KEY)
    return pipeline


class Logs:
    """What the alerts workers logged since this object was made."""

    def __init__(self, folder: Path) -> None:
        self.files = [folder / "alerts1.log", folder / "alerts2.log"]
        self.offsets = {f: f.stat().st_size if f.exists() else 0 for f in self.files}

    def since(self) -> str:
        text_ = ""
        for file in self.files:
            with open(file, "rb") as handle:
                handle.seek(self.offsets[file])
                text_ += handle.read().decode("utf-8", "replace")
        return text_

    def ran(self, task: str) -> set[Path]:
        """The log files in which ``task`` succeeded."""
        found = set()
        for file in self.files:
            with open(file, "rb") as handle:
                handle.seek(self.offsets[file])
                if f"{task}[" in (tail := handle.read().decode("utf-8", "replace")) and (
                    "succeeded" in tail
                ):
                    found.add(file)
        return found

    def retried(self, task: str) -> str | None:
        lines = [
            line for line in self.since().splitlines() if f"{task}[" in line and " retry " in line
        ]
        return lines[0] if lines else None


def sweep(db, settings) -> object:
    """Run one sweep in a single batch of ten; its finished row."""
    task_id = send_event(
        "shelfops.sweep_all_skus", {"customer_id": C, "batch_size": 10}, settings=settings
    )
    client = redis.Redis.from_url(settings.redis_url.reveal())
    started = json.loads(
        wait_until(lambda: client.get(OUTCOME_KEY.format(task_id)), 30, "the sweep to start")
    )
    sweep_id = started["sweep_id"]

    def finished():
        found = rows(db, "SELECT * FROM sweeps WHERE id = :i AND status = 'finished'", i=sweep_id)
        return found[0] if found else None

    return wait_until(finished, 60, f"sweep #{sweep_id} to finish")


def alerts(db) -> list:
    return rows(
        db,
        "SELECT product_id, status, clear_checks FROM alerts WHERE customer_id = :c"
        " ORDER BY product_id",
        c=C,
    )


def terminate_waiting_persist(db, timeout_s: float = 15) -> bool:
    """End the database session of a worker waiting for an alert row lock, as a server
    restart or failover ends it; True once one was ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with db() as probe:  # a fresh snapshot of pg_stat_activity each time
            ended = probe.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    " AND query ILIKE '%FROM alerts%'"
                )
            ).scalar_one()
        if ended:
            return True
        time.sleep(0.05)
    return False


def test_a_persist_whose_connection_is_lost_is_retried_and_counts_once(
    outage, settings, worker_logs
):
    db = outage
    # Given two SKUs at risk, alerted by a first sweep, whose stock has since been refilled,
    # and a third SKU now at risk
    put_skus(db, C, [(s, p, 5.0 if p in ("P0", "P1") else 500.0, 10.0) for s, p in SKUS])
    assert sweep(db, settings).alerts_created == 2
    with db.begin() as session:
        session.execute(
            text(
                "UPDATE inventory SET on_hand = CASE product_id WHEN 'P2' THEN 5 ELSE 500 END"
                " WHERE customer_id = :c"
            ),
            {"c": C},
        )
    logs = Logs(worker_logs)

    # When the next sweep's persist finds an alert row locked (an operator's open
    # transaction), and the server ends its session while it waits (a restart, a failover)
    holder = db()
    holder.begin()
    holder.execute(
        text("SELECT id FROM alerts WHERE product_id = 'P0' FOR UPDATE"),
    )
    try:
        task_id = send_event(
            "shelfops.sweep_all_skus", {"customer_id": C, "batch_size": 10}, settings=settings
        )
        assert terminate_waiting_persist(db), "no persist waited on the locked row"
        time.sleep(1.0)  # still locked a while: the retry waits for it
    finally:
        holder.commit()
        holder.close()

    # Then the persist was retried, and the sweep finished with its one batch done, not failed
    client = redis.Redis.from_url(settings.redis_url.reveal())
    sweep_id = json.loads(client.get(OUTCOME_KEY.format(task_id)))["sweep_id"]
    second = wait_until(
        lambda: rows(db, "SELECT * FROM sweeps WHERE id = :i AND status = 'finished'", i=sweep_id),
        60,
        "the second sweep to finish",
    )[0]
    assert logs.retried("shelfops.dedup_and_persist"), logs.since()[-3000:]
    assert (second.batches_done, second.batches_failed, second.skus_checked) == (1, 0, 10)
    assert (second.alerts_created, second.alerts_resolved) == (1, 0)
    # And each refilled SKU counted exactly one clean check (open; hysteresis intact)
    assert [(a.product_id, a.status, a.clear_checks) for a in alerts(db)] == [
        ("P0", "open", 1),
        ("P1", "open", 1),
        ("P2", "open", 0),
    ]

    # When one more sweep finds them clear, Then they resolve: two sweeps, two clean checks
    third = sweep(db, settings)
    assert third.alerts_resolved == 2
    assert [a.status for a in alerts(db)] == ["resolved", "resolved", "open"]
    # And no change was written twice
    assert rows(db, "SELECT event, count(*) FROM alert_history GROUP BY event ORDER BY event") == [
        ("created", 3),
        ("resolved", 2),
    ]
    wait_idle(settings)


def test_a_batch_checked_while_postgres_is_stalled_is_retried_and_finishes(
    pipeline, settings, stack, worker_logs
):
    db = pipeline
    # Given both alerts workers with pooled connections (they checked a safe SKU), and a SKU
    # at risk
    put_skus(db, C, [("S1", "P0", 500.0, 10.0), ("S1", "P1", 5.0, 10.0)])
    warm = Logs(worker_logs)
    for _ in range(10):
        notify_forecast_complete(C, skus=["S1/P0"], settings=settings)
        wait_idle(settings)
        if warm.ran("shelfops.check_stockout_risk") == set(warm.files):
            break
    logs = Logs(worker_logs)

    # When PostgreSQL stops answering (every process stopped, sockets open: a frozen VM)
    # just as a forecast-complete event for the SKU is checked
    with stopped(postgres_pids(stack), at_most_s=30):
        notify_forecast_complete(C, skus=["S1/P1"], settings=settings)
        # Then the event's walk (it writes the batch ledger before it queues the check) or
        # the check gives up on the silent server within its deadline, and retries instead
        # of hanging
        retry = wait_until(
            lambda: (
                logs.retried("shelfops.forecast_completed")
                or logs.retried("shelfops.check_stockout_risk")
            ),
            20,
            "the walk or the check to retry",
        )
    assert "connection lost" in str(retry)

    # And once PostgreSQL answers again, the batch finishes: one alert, created once, published
    def published():
        found = rows(
            db,
            "SELECT a.status, h.event, h.published_at FROM alerts a"
            " JOIN alert_history h ON h.alert_id = a.id WHERE a.customer_id = :c",
            c=C,
        )
        return found if found and all(r.published_at for r in found) else None

    (change,) = wait_until(published, 30, "the alert to be published")
    assert (change.status, change.event) == ("open", "created")
    wait_idle(settings)
