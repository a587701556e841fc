"""Messages that kill their worker: bounded batches, dead letters, replay, per-child limits.

These tests run their own worker processes on a broker of their own (another Redis database
of the test stack), so the session's workers never take their messages: a worker built from
``tests/support/poison_worker.py`` (the service's app with a test-only hook: a check of a
batch holding a poisoned SKU SIGKILLs its own process, as the out-of-memory killer would),
and a plain ``celery -A workers`` worker for the per-child memory limit.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shelfops_alerts.config import Settings
from shelfops_alerts.intake.client import _producer, notify_forecast_complete, send_event
from shelfops_alerts.stack import processes
from shelfops_alerts.vocabulary import (
    CHECK_TASK,
    PERSIST_TASK,
    PUBLISH_TASK,
    SWEEP_BATCH_FAILED_TASK,
    SWEEP_TASK,
)
from tests.integration.conftest import wait_idle, worker_env
from tests.support.cli import run
from tests.support.data import put_recipients, put_skus, rows
from tests.support.poison import CHECKED, POISONED
from tests.support.waiting import wait_until

#: Small limits, so a few dozen SKUs show the behaviour.
LIMITS = {
    "SHELFOPS_BATCH_SIZE": "10",
    "SHELFOPS_MAX_BATCH_SIZE": "20",
    "SHELFOPS_MAX_REDELIVERIES": "2",
}


#: What a worker logs when one of its children was killed.
KILLED = "exited with 'signal 9 (SIGKILL)'"


def own_broker(settings: Settings, db_number: int) -> Settings:
    """The test stack's settings with Redis database ``db_number`` as the broker."""
    base, _, _ = settings.redis_url.reveal().rpartition("/")
    return dataclasses.replace(settings, redis_url=f"{base}/{db_number}")


def worker_on(
    broker: Settings, base_env: dict[str, str], log_dir: Path, *, name: str, app: str, **env: str
) -> processes.ServiceProcess:
    """A prefork worker of two children serving both queues of ``broker``."""
    command = [sys.executable, "-m", "celery", "-A", app, "worker", "-Q", "alerts,email"]
    command += ["-c", "2", "-n", f"{name}@%h", "--loglevel", "INFO"]
    command += ["--without-mingle", "--without-gossip"]
    return processes.ServiceProcess(
        name=name,
        args=command,
        env=worker_env(base_env, SHELFOPS_REDIS_URL=broker.redis_url.reveal(), **env),
        log_path=log_dir / f"{name}.log",
    )


@pytest.fixture(scope="module")
def poisonable(
    settings: Settings, base_env: dict[str, str], worker_logs: Path
) -> Iterator[tuple[Settings, processes.ServiceProcess]]:
    """The poison worker on its own broker, with LIMITS."""
    broker = own_broker(settings, 1)
    redis.Redis.from_url(broker.redis_url.reveal()).flushdb()
    worker = worker_on(
        broker,
        base_env,
        worker_logs,
        name="poisonable",
        app="tests.support.poison_worker",
        **LIMITS,
    ).start()
    processes.wait_for_workers(broker.redis_url.reveal(), ["poisonable"])
    yield broker, worker
    worker.stop(grace_s=5)
    redis.Redis.from_url(broker.redis_url.reveal()).flushdb()


def skus(customer: str, count: int, at_risk: set[int]) -> list[tuple[str, str, float, float]]:
    """``count`` SKUs of one store; those in ``at_risk`` run out within a day."""
    return [("S1", f"P{n:03d}", 5.0 if n in at_risk else 500.0, 10.0) for n in range(count)]


def active(db, customer: str) -> Counter:
    found = rows(
        db,
        "SELECT store_id, product_id FROM alerts WHERE customer_id = :c AND status = 'open'",
        c=customer,
    )
    return Counter((a.store_id, a.product_id) for a in found)


def created(db, customer: str) -> int:
    return rows(
        db,
        "SELECT count(*) FROM alert_history h JOIN alerts a ON a.id = h.alert_id"
        " WHERE a.customer_id = :c AND h.event = 'created'",
        c=customer,
    )[0][0]


def checked_sizes(broker: Settings, customer: str) -> list[int]:
    client = redis.Redis.from_url(broker.redis_url.reveal())
    return sorted((int(n) for n in client.lrange(CHECKED.format(customer), 0, -1)), reverse=True)


def test_a_message_that_kills_its_worker_becomes_a_dead_letter_and_replays_once(
    pipeline, poisonable, settings, cli_env, capsys, monkeypatch
):
    db = pipeline
    broker, worker = poisonable
    client = redis.Redis.from_url(broker.redis_url.reveal())
    log = worker.log_path
    lost_before = log.read_text().count(KILLED)
    # Given a customer of 30 SKUs (three batches of 10), every fifth at risk, whose first
    # batch holds a SKU that kills any worker checking it; and a healthy customer
    risky = {n for n in range(30) if n % 5 == 0}
    put_skus(db, "poisonco", skus("poisonco", 30, risky))
    put_skus(db, "healthyco", skus("healthyco", 10, {1, 2}))
    put_recipients(db, "poisonco", {"ops@poisonco.example": "critical"})
    client.sadd(POISONED, "poisonco/S1/P003")

    # When a sweep checks every SKU of the first and an event those of the second
    send_event(SWEEP_TASK, {"customer_id": "poisonco"}, settings=broker)
    notify_forecast_complete("healthyco", settings=broker)

    # Then the poisoned batch kills its worker twice (SHELFOPS_MAX_REDELIVERIES) and is
    # parked at its third delivery instead of being run again
    wait_until(
        lambda: rows(db, "SELECT count(*) FROM dead_letters")[0][0] == 1,
        90,
        "the poisoned batch to be parked",
    )
    [dead] = rows(db, "SELECT * FROM dead_letters")
    assert (dead.task_name, dead.status, dead.deliveries) == (CHECK_TASK, "parked", 3)
    assert dead.queue == "alerts"
    assert "started 2 times without finishing" in dead.reason
    # (a sweep's batch names its span of keys: the first ten, P000 to P009)
    assert dead.args[0] == "poisonco"
    assert dead.args[1] == {"after": None, "last": ["S1", "P009"]}
    assert [step["task"] for step in dead.options["chain"]] == [PUBLISH_TASK, PERSIST_TASK]
    assert [step["task"] for step in dead.options["link_error"]] == [SWEEP_BATCH_FAILED_TASK]
    assert log.read_text().count(KILLED) - lost_before == 2
    # And the worker went on serving everything else: the healthy customer and the other
    # two batches have their alerts, the poisoned batch none (its check never finished)
    wait_idle(broker, timeout=60)
    assert worker.running()
    assert active(db, "healthyco") == Counter({("S1", "P001"): 1, ("S1", "P002"): 1})
    expected = Counter(("S1", f"P{n:03d}") for n in risky)
    assert active(db, "poisonco") == expected - Counter({("S1", "P000"): 1, ("S1", "P005"): 1})
    # And the sweep finished, counting the parked batch as failed
    [sweep] = rows(db, "SELECT * FROM sweeps")
    assert (sweep.status, sweep.batches_queued, sweep.batches_failed) == ("finished", 3, 1)
    assert sweep.skus_checked == 20
    # And `status` counts it, while the service stays healthy (the main broker's workers)
    code, out, _ = run(capsys, "status", "--json")
    report = json.loads(out)
    assert report["dead_letters"] == {"parked": 1}
    assert code == 0 and report["healthy"]

    # When the cause is removed and an operator replays the dead letter
    client.srem(POISONED, "poisonco/S1/P003")
    monkeypatch.setenv("SHELFOPS_REDIS_URL", broker.redis_url.reveal())
    code, out, _ = run(capsys, "dead-letters", "replay", str(dead.id), "--by", "ops")
    assert code == 0, out
    wait_idle(broker, timeout=60)

    # Then the batch is checked, persisted and published: every alert exactly once, each
    # change published and mailed once
    assert active(db, "poisonco") == expected
    assert created(db, "poisonco") == len(expected)
    deliveries = rows(
        db,
        "SELECT d.history_id FROM email_deliveries d JOIN alerts a ON a.id = d.alert_id"
        " WHERE a.customer_id = 'poisonco'",
    )
    assert len(deliveries) == len({d.history_id for d in deliveries}) == len(expected)
    assert rows(db, "SELECT count(*) FROM alert_history WHERE published_at IS NULL")[0][0] == 0
    [replayed] = rows(db, "SELECT * FROM dead_letters")
    assert (replayed.status, replayed.replayed_by) == ("replayed", "ops")
    assert replayed.replay_task_id != dead.task_id
    # And the sweep's counts are as they were: its batch was counted once, as failed
    [after] = rows(db, "SELECT * FROM sweeps")
    assert (after.batches_done, after.batches_failed, after.skus_checked) == (3, 1, 20)
    # And the worker never lost another child
    assert log.read_text().count(KILLED) - lost_before == 2


def test_a_batch_over_the_limit_is_checked_in_parts_never_whole(pipeline, poisonable):
    db = pipeline
    broker, _ = poisonable
    # Given 50 SKUs of one customer, every seventh at risk (limit: 20 SKUs per check)
    risky = {n for n in range(50) if n % 7 == 0}
    put_skus(db, "bigco", skus("bigco", 50, risky))
    names = [f"S1/P{n:03d}" for n in range(50)]
    producer = _producer(broker.redis_url.reveal())

    # When a check chain for all 50 arrives in one message (a producer cut its own batch)
    producer.send_task(
        CHECK_TASK,
        args=["bigco", names],
        queue="alerts",
        chain=[producer.signature(PUBLISH_TASK), producer.signature(PERSIST_TASK)],
        ignore_result=True,
    )
    wait_idle(broker, timeout=60)

    # Then no check was given more than 20 SKUs, and every SKU was checked once
    assert checked_sizes(broker, "bigco") == [20, 20, 10]
    assert active(db, "bigco") == Counter(("S1", f"P{n:03d}") for n in risky)
    assert created(db, "bigco") == len(risky)

    # When a sweep asks for batches of 1,000
    redis.Redis.from_url(broker.redis_url.reveal()).delete(CHECKED.format("bigco"))
    send_event(SWEEP_TASK, {"customer_id": "bigco", "batch_size": 1000}, settings=broker)
    wait_until(
        lambda: rows(db, "SELECT status FROM sweeps WHERE status = 'finished'"),
        60,
        "the sweep to finish",
    )

    # Then it cut batches of 20 at most, and counted each SKU once
    [sweep] = rows(db, "SELECT * FROM sweeps")
    assert (sweep.batch_size, sweep.batches_queued, sweep.skus_checked) == (20, 3, 50)
    assert checked_sizes(broker, "bigco") == [20, 20, 10]
    wait_idle(broker, timeout=60)


def test_a_worker_child_past_its_memory_limit_is_replaced_and_work_goes_on(
    db, settings, base_env, worker_logs
):
    # Given a worker of two children that may use 1 MB each (each is larger from the start)
    broker = own_broker(settings, 2)
    redis.Redis.from_url(broker.redis_url.reveal()).flushdb()
    worker = worker_on(
        broker,
        base_env,
        worker_logs,
        name="small",
        app="workers",
        SHELFOPS_WORKER_MAX_MEMORY_MB="1",
    ).start()
    try:
        processes.wait_for_workers(broker.redis_url.reveal(), ["small"])
        # When it runs three tasks
        for _ in range(3):
            send_event("shelfops.relay_outbox", {}, settings=broker)
        wait_until(
            lambda: worker.log_path.read_text().count("succeeded") >= 3,
            60,
            "three tasks to succeed",
        )
        wait_idle(broker, timeout=30)
    finally:
        worker.stop(grace_s=5)
        redis.Redis.from_url(broker.redis_url.reveal()).flushdb()

    # Then every task succeeded, each in a child of its own: of two children, each was
    # replaced after its task (without the limit, two children would have run all three)
    children = re.findall(r"ForkPoolWorker-(\d+)\] Task \S+ succeeded", worker.log_path.read_text())
    assert len(children) == len(set(children)) == 3
