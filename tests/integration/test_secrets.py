"""No secret is ever printed: not by `celery inspect conf`, Flower's API and pages, the
worker's log, nor the traceback of a task that failed because the provider refused the key.

The worker runs against servers that really check a password: a PostgreSQL role that must
log in with one, and a Redis with ``requirepass``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

import psycopg2
import pytest
import redis
from sqlalchemy import text

from shelfops_alerts.config import load_settings
from shelfops_alerts.intake.client import notify_forecast_complete
from shelfops_alerts.stack import processes
from shelfops_alerts.stack.embedded import free_port
from tests.fakes import FakeSendGridAPI
from tests.integration.conftest import worker_env
from tests.support.data import put_recipients, put_skus, rows
from tests.support.secured import postgres_role_with_password, redis_with_password
from tests.support.waiting import wait_until

# Not shaped like a SendGrid key (SG.x.y), so no pattern masks it: only its being a secret.
SENDGRID_KEY = f"known-sendgrid-key-{secrets.token_hex(8)}"
DB_PASSWORD = f"pg-{secrets.token_hex(8)}"
REDIS_PASSWORD = f"redis-{secrets.token_hex(8)}"
SECRETS = (SENDGRID_KEY, DB_PASSWORD, REDIS_PASSWORD)
CUSTOMER = "vaultco"
NODE = f"vault@{os.uname().nodename}"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8", "replace")


@pytest.fixture()
def secured(db, settings, base_env, tmp_path):
    """A worker serving both queues and Flower, on a password-checked PostgreSQL and Redis,
    with a known SendGrid key; the fake SendGrid accepts that key."""
    with (
        postgres_role_with_password(settings, DB_PASSWORD) as database_url,
        redis_with_password(tmp_path / "redis", REDIS_PASSWORD) as broker,
        FakeSendGridAPI(api_key=SENDGRID_KEY) as fake,
    ):
        env = worker_env(
            base_env,
            SHELFOPS_DATABASE_URL=database_url,
            SHELFOPS_REDIS_URL=broker.url,
            SHELFOPS_EMAIL_BACKEND="sendgrid",
            SENDGRID_API_KEY=SENDGRID_KEY,
            SHELFOPS_SENDGRID_HOST=fake.url,
        )
        logs = tmp_path / "logs"
        worker = processes.worker(
            name="vault", queues="alerts,email", concurrency=1, env=env, log_dir=logs
        ).start()
        port = free_port()
        flower = processes.flower(env=env, port=port, log_dir=logs).start()
        try:
            processes.wait_for_workers(broker.url, ["vault"])
            flower_url = f"http://127.0.0.1:{port}"
            wait_until(lambda: _healthy(flower_url), 30, "Flower to answer")
            yield env, fake, flower_url, worker.log_path, flower.log_path
        finally:
            flower.stop(grace_s=5)
            worker.stop(grace_s=5)


def _healthy(url: str) -> bool:
    try:
        return _get(f"{url}/healthcheck") == "OK"
    except OSError:
        return False


def test_no_secret_in_inspect_conf_flower_logs_or_a_failed_tasks_traceback(secured, db):
    env, fake, flower, worker_log, flower_log = secured
    settings = load_settings(env)
    # Given servers that check their passwords: a client with a wrong one is refused
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(env["SHELFOPS_REDIS_URL"].replace(REDIS_PASSWORD, "wrong")).ping()
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(env["SHELFOPS_DATABASE_URL"].replace(DB_PASSWORD, "wrong")).close()
    # And SendGrid refuses the key, quoting it back in its answer
    put_skus(db, CUSTOMER, [("S1", "P1", 1.0, 10.0)])
    put_recipients(db, CUSTOMER, {"ops@vaultco.example": "critical"})
    fake.script([(401, {"errors": [{"message": f"API key {SENDGRID_KEY} was revoked"}]})])
    # When an alert is mailed, and the send fails
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(
        lambda: rows(db, "SELECT 1 FROM email_deliveries WHERE status = 'failed'"),
        30,
        "the delivery to fail",
    )
    failed = wait_until(lambda: _failed_tasks(flower), 30, "Flower to see the failed send")

    # And an operator asks the worker for its configuration, and browses Flower
    seen: dict[str, str] = {}
    for command in (["inspect", "conf", "-d", NODE], ["inspect", "stats", "-d", NODE], ["report"]):
        seen[" ".join(command)] = _celery(env, *command)
    for path in (
        "/api/workers?refresh=1",
        f"/api/workers?workername={NODE}",
        f"/worker/{NODE}",  # the worker page, with its Config tab
        "/broker",
        "/api/tasks",
        *(f"/api/task/info/{task_id}" for task_id in failed),
        "/metrics",
    ):
        seen[path] = _get(f"{flower}{path}")
    seen["worker log"] = worker_log.read_text()
    seen["flower log"] = flower_log.read_text()
    with db() as session:
        seen["delivery row"] = str(
            session.execute(text("SELECT last_error FROM email_deliveries")).scalars().all()
        )

    # Then no secret shows anywhere
    leaks = {where: [s for s in SECRETS if s in shown] for where, shown in seen.items()}
    assert not {where: found for where, found in leaks.items() if found}, leaks
    # And what was read is the real thing: the configuration, the worker, the failure
    assert "broker_url" in seen[f"inspect conf -d {NODE}"]
    assert "shelfops_settings" not in seen[f"inspect conf -d {NODE}"]
    assert NODE in seen["/api/workers?refresh=1"]
    assert '"conf"' in seen[f"/api/workers?workername={NODE}"]
    assert "DeliveryFailed" in seen["worker log"] and "HTTP 401" in seen["worker log"]
    assert "API key ********** was revoked" in seen["delivery row"]
    (info,) = failed.values()
    assert "HTTP 401" in info["exception"] and "DeliveryFailed" in info["traceback"]


def _failed_tasks(flower: str) -> dict[str, dict]:
    tasks = json.loads(_get(f"{flower}/api/tasks?state=FAILURE"))
    return {
        task_id: info
        for task_id, info in tasks.items()
        if info.get("name") == "shelfops.send_alert_email"
    }


def _celery(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "workers", *args, "--timeout", "5"]
        if args[0] == "inspect"
        else [sys.executable, "-m", "celery", "-A", "workers", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr
