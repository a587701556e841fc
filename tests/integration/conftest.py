"""Real Celery worker processes for the integration tests, started by the tests themselves.

Two ``alerts`` workers (separate processes, so races between them are real) and one
``email`` worker whose mail backend a test can switch (file, or sendgrid pointed at a local
stand-in for the API). Workers run ``celery -A workers worker`` exactly as in production.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import redis

from shelfops_alerts.config import Settings
from shelfops_alerts.stack import processes
from tests.fakes import FakeSendGridAPI
from tests.support.waiting import wait_until

#: Fast retries and relays, so tests of faults finish in seconds.
TEST_WORKER_ENV = {
    "SHELFOPS_EMAIL_RETRY_BACKOFF_S": "0.2",
    "SHELFOPS_EMAIL_MAX_RETRIES": "4",
    # Every worker reads the same fleet-wide rate, as in production (the relay estimates how
    # long the email queue takes to drain from it); low enough to make a backlog of 300.
    "SHELFOPS_EMAIL_RATE": "20",
    "SHELFOPS_EMAIL_TIMEOUT_S": "2",
    "SHELFOPS_OUTBOX_RELAY_AFTER_S": "5",
    # A batch whose messages are nowhere in the broker is queued again this soon.
    "SHELFOPS_BATCH_LOST_AFTER_S": "2",
    "SHELFOPS_BATCH_SIZE": "50",
    # Larger messages are split (and forged ones refused) at this size, not at 10,000.
    "SHELFOPS_MAX_BATCH_SIZE": "100",
    # A killed worker's unacknowledged messages come back after this long.
    "SHELFOPS_VISIBILITY_TIMEOUT_S": "8",
    # ... so no countdown may be longer than half of that (the settings refuse it otherwise).
    "SHELFOPS_EMAIL_MAX_PAUSE_S": "4",
    # One e-mail per change unless a test turns digests on (test_email_digests.py).
    "SHELFOPS_DIGEST_WINDOW_S": "0",
    # Faults retried fast: 0.2 s apart, doubling up to 1 s.
    "SHELFOPS_FAULT_RETRY_BACKOFF_S": "0.2",
    "SHELFOPS_FAULT_RETRY_CAP_S": "1",
}
#: The alerts workers give up on a silent PostgreSQL within 4 s (test_outages.py): a 2 s
#: statement and lock timeout, with 2 s grace. Long enough for a loaded test machine.
ALERTS_WORKER_ENV = {
    "SHELFOPS_DB_STATEMENT_TIMEOUT_S": "2",
    "SHELFOPS_DB_LOCK_TIMEOUT_S": "2",
}


#: The key the SendGrid stand-in accepts, and the email worker sends, in the sendgrid tests.
SENDGRID_TEST_KEY = "SG.integration-test-key"


def worker_env(base_env: dict[str, str], **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")}
    return {**env, **base_env, **TEST_WORKER_ENV, **overrides}


def stop_together(services: Iterable[processes.ServiceProcess], grace_s: float = 5.0) -> None:
    """Warm-shut-down several processes at once: SIGTERM to each, then wait for them all
    (each killed if it is still there ``grace_s`` after the signal), instead of one by one."""
    running = [service for service in services if service.running()]
    for service in running:
        assert service.process is not None
        service.process.terminate()
    deadline = time.monotonic() + grace_s
    for service in running:
        assert service.process is not None
        try:
            service.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            service.kill()


class EmailWorker:
    """The one email worker; restarted when a test asks for another mail backend."""

    def __init__(self, base_env: dict[str, str], log_dir: Path) -> None:
        self.base_env = base_env
        self.log_dir = log_dir
        self.current: processes.ServiceProcess | None = None
        self.overrides: dict[str, str] | None = None

    def use(self, **overrides: str) -> processes.ServiceProcess:
        if self.current is not None and self.current.running() and overrides == self.overrides:
            return self.current
        self.stop()
        env = worker_env(self.base_env, **overrides)
        self.current = processes.worker(
            name="email", queues="email", concurrency=2, env=env, log_dir=self.log_dir
        ).start()
        self.overrides = overrides
        processes.wait_for_workers(env["SHELFOPS_REDIS_URL"], ["email"])
        return self.current

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop(grace_s=5)
            self.current = None


@pytest.fixture(scope="session")
def worker_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-logs")


@pytest.fixture(scope="session")
def alerts_workers(
    settings: Settings, base_env: dict[str, str], worker_logs: Path
) -> Iterator[list[processes.ServiceProcess]]:
    """Two alerts workers, one process each, for the whole session."""
    env = worker_env(base_env, **ALERTS_WORKER_ENV)
    started = [
        processes.worker(
            name=f"alerts{n}", queues="alerts", concurrency=1, env=env, log_dir=worker_logs
        ).start()
        for n in (1, 2)
    ]
    processes.wait_for_workers(settings.redis_url.reveal(), ["alerts1", "alerts2"])
    yield started
    stop_together(started)


@pytest.fixture(scope="session")
def email_workers(base_env: dict[str, str], worker_logs: Path) -> Iterator[EmailWorker]:
    manager = EmailWorker(base_env, worker_logs)
    yield manager
    manager.stop()


@pytest.fixture()
def pipeline(db, alerts_workers, email_workers, settings):
    """Empty tables, running alerts workers, and a file-backend email worker."""
    email_workers.use()
    return db


@pytest.fixture(scope="session")
def sendgrid_api() -> Iterator[FakeSendGridAPI]:
    """The SendGrid stand-in, one for the session: its URL stays the same, so the email
    worker pointed at it is started once for every sendgrid test in a row, not per test."""
    with FakeSendGridAPI(api_key=SENDGRID_TEST_KEY) as fake:
        yield fake


def sendgrid_env(fake: FakeSendGridAPI, *, digest_window_s: float = 0) -> dict[str, str]:
    """An email worker's settings for the sendgrid backend pointed at ``fake``.

    Digests off unless asked for: each alert change is then one e-mail.
    """
    return {
        "SHELFOPS_EMAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": SENDGRID_TEST_KEY,
        "SHELFOPS_SENDGRID_HOST": fake.url,
        "SHELFOPS_DIGEST_WINDOW_S": f"{digest_window_s:g}",
    }


@pytest.fixture()
def sendgrid_pipeline(db, alerts_workers, email_workers, sendgrid_api):
    """Empty tables (digest windows too), running alerts workers, and an email worker on the
    sendgrid backend pointed at the stand-in, which has forgotten earlier requests.

    The worker is left on that backend after the test (the next ``pipeline`` switches it
    back), so consecutive sendgrid tests share one worker process.
    """
    sendgrid_api.reset()
    email_workers.use(**sendgrid_env(sendgrid_api))
    yield db, sendgrid_api
    sendgrid_api.reset()


def wait_idle(settings: Settings, timeout: float = 60.0) -> None:
    """Wait until both queues are empty and no message is unacknowledged, three polls running.

    With late acknowledgement a task's message stays unacked until it finishes, and a chain's
    next task is queued before that, so an idle broker means the pipeline has settled.
    """
    client = redis.Redis.from_url(settings.redis_url.reveal())
    calm = 0
    seen: dict[str, int] = {}

    def settled() -> bool:
        nonlocal calm
        seen.update(
            alerts=client.llen("alerts"), email=client.llen("email"), unacked=client.hlen("unacked")
        )
        calm = calm + 1 if sum(seen.values()) == 0 else 0
        return calm >= 3

    try:
        wait_until(settled, timeout, "the queues to drain")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; still busy: {seen}") from None
