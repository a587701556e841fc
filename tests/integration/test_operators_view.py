"""What operators see of real worker and beat processes: JSON log lines with each task's
context, workers counted per queue, beat's ticks, and the probes of both.

These processes use a Redis database of their own, so the session's workers (on the default
one) never take their tasks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis

from shelfops_alerts.config import load_settings
from shelfops_alerts.health import probes
from shelfops_alerts.intake.client import notify_forecast_complete
from shelfops_alerts.metrics import collect_figures
from shelfops_alerts.stack import processes
from tests.integration.conftest import worker_env
from tests.support.data import put_skus
from tests.support.waiting import wait_until

SECRET_KEY = "SG.integrationkey01.doNotLogThisSecret99"


@pytest.fixture(scope="module")
def json_processes(settings, base_env, tmp_path_factory):
    """A json-logging alerts worker and beat on Redis database 7, for this module's tests."""
    redis_url = base_env["SHELFOPS_REDIS_URL"].rsplit("/", 1)[0] + "/7"
    env = worker_env(
        base_env,
        SHELFOPS_REDIS_URL=redis_url,
        SHELFOPS_LOG_FORMAT="json",
        SENDGRID_API_KEY=SECRET_KEY,
    )
    folder = tmp_path_factory.mktemp("json-stack")
    redis.Redis.from_url(redis_url).flushdb()
    worker = processes.worker(
        name="jsonlog", queues="alerts", concurrency=1, env=env, log_dir=folder
    ).start()
    beat = processes.beat(env=env, state_dir=folder, log_dir=folder).start()
    try:
        yield load_settings(env), worker, beat
    finally:
        worker.stop(grace_s=10)
        beat.stop(grace_s=10)
        redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture()
def json_stack(db, json_processes):
    """Empty tables, and the module's worker and beat, the worker started again if a test
    stopped it."""
    settings, worker, beat = json_processes
    if not worker.running():
        worker.start()
    processes.wait_for_workers(settings.redis_url.reveal(), ["jsonlog"])
    return settings, worker, beat


def json_lines(path: Path) -> list[dict]:
    text = path.read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_worker_and_beat_log_json_lines_with_the_task_fields(json_stack):
    settings, worker, beat = json_stack
    # Given three SKUs of one customer, one at risk
    put_skus_for = [("S1", "P1", 1.0, 5.0), ("S1", "P2", 50.0, 1.0), ("S1", "P3", 40.0, 1.0)]
    from shelfops_alerts.db import session_factory

    put_skus(session_factory(settings), "jsonco", put_skus_for)
    # When a forecast-complete event is handled by the worker
    notify_forecast_complete("jsonco", "run-json", settings=settings)

    def checked() -> list[dict]:
        return [
            line
            for line in json_lines(worker.log_path)
            if line.get("task_name") == "shelfops.publish_alerts" and "succeeded" in line["message"]
        ]

    wait_until(checked, 60, "the batch to be published")
    # Then every line the worker wrote is one JSON object
    lines = json_lines(worker.log_path)
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    # And each task's lines carry its name, id and what it was about
    by_task = {}
    for line in lines:
        if "task_name" in line:
            by_task.setdefault(line["task_name"], []).append(line)
    event = by_task["shelfops.forecast_completed"][0]
    assert event["customer_id"] == "jsonco" and event["run_id"] == "run-json" and event["task_id"]
    check = by_task["shelfops.check_stockout_risk"][0]
    assert check["customer_id"] == "jsonco" and check["batch_size"] == 3
    persist = by_task["shelfops.dedup_and_persist"][0]
    assert persist["customer_id"] == "jsonco" and persist["batch_size"] == 3
    assert persist["task_id"] != check["task_id"]
    # And beat's lines are JSON too, without a banner
    wait_until(lambda: beat.log_path.read_text().strip(), 20, "beat to log")
    beat_lines = json_lines(beat.log_path)
    assert any("beat" in line["message"].lower() for line in beat_lines)
    # And no secret was written anywhere
    for path in (worker.log_path, beat.log_path):
        assert SECRET_KEY not in path.read_text()
        assert "doNotLogThisSecret99" not in path.read_text()


def test_workers_are_counted_per_queue_and_beat_ticks_and_both_answer_their_probes(json_stack):
    settings, worker, beat = json_stack
    # While the worker and beat run, they are counted and their probes pass
    figures = wait_until(
        lambda: (
            (f := collect_figures(settings)).value("shelfops_beat_last_tick_timestamp_seconds")
            and f
        ),
        30,
        "beat's first tick",
    )
    assert figures.value("shelfops_queue_consumers", "alerts") == 1
    assert figures.value("shelfops_queue_consumers", "email") == 0
    assert time.time() - figures.value("shelfops_beat_last_tick_timestamp_seconds") < 30
    assert probes.probe_worker(settings, name="jsonlog").ok
    assert probes.probe_beat(settings).ok
    # When the worker stops, it is no longer counted, at once
    worker.stop(grace_s=10)
    assert collect_figures(settings).value("shelfops_queue_consumers", "alerts") == 0
    assert not probes.probe_worker(settings, name="jsonlog", timeout_s=0.5).ok
