"""The fault suite's stack: the real servers and processes, the catalogue, and the tally.

One :class:`FaultStack` holds an embedded PostgreSQL and Redis, the SendGrid stand-in
(tests/fakes) served over HTTP as the mail provider, two ``alerts`` workers, one ``email``
worker and beat (for the relay; its sweep entry is pushed a day away), all started with
``celery -A workers`` exactly as in production. The catalogue (bench/catalogue.py: stock and
a 14-day forecast; about 4 % of SKUs at risk) is imported once with ``shelfops-alerts import``
for two customers: ``sweepco`` (the sweep scenarios) and ``smallco`` (a tenth of its size,
for the mail and producer scenarios). What each scenario *should* find is computed from the
stored data by the floor (bench/floor.py: the stockout rule as one SQL statement), never from
the pipeline's output. :meth:`FaultStack.fresh` empties every table the pipeline writes and
Redis, and restarts the processes, so each scenario starts clean on the same catalogue.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis
from catalogue import environment, import_files, write_files
from fault_tally import RECIPIENT, Expected, Tally, tally
from floor import run_floor
from sqlalchemy import text

from shelfops_alerts import migrate
from shelfops_alerts.config import load_settings
from shelfops_alerts.db import dispose_engines, get_engine
from shelfops_alerts.stack import processes
from shelfops_alerts.stack.embedded import EmbeddedStack
from tests.fakes import FakeSendGridAPI

SWEEP_CUSTOMER = "sweepco"
SMALL_CUSTOMER = "smallco"
API_KEY = "SG.fault-suite-key"
#: Tables the pipeline writes; emptied before each scenario (the catalogue stays).
PIPELINE_TABLES = (
    "dead_letters",
    "email_deliveries",
    "email_digests",
    "email_windows",
    "alert_history",
    "alerts",
    "sweep_batches",
    "sweeps",
    "alert_counts",
    "delivery_counts",
)
#: Settings of every process. Short retries, pauses and relay period so a fault and its
#: recovery fit in a minute or two; one mail per alert change (no digests), so "e-mails
#: expected" is the number of critical alerts; a rate well above the mails a sweep makes.
SUITE_ENV = {
    "SHELFOPS_DIGEST_WINDOW_S": "0",
    "SHELFOPS_EMAIL_RATE": "200",
    "SHELFOPS_EMAIL_RETRY_BACKOFF_S": "5",
    "SHELFOPS_EMAIL_MAX_RETRIES": "8",
    "SHELFOPS_EMAIL_MAX_PAUSE_S": "30",
    "SHELFOPS_EMAIL_TIMEOUT_S": "5",
    "SHELFOPS_VISIBILITY_TIMEOUT_S": "60",
    # Every countdown must stay under half the visibility timeout (the settings refuse it).
    "SHELFOPS_FAULT_RETRY_CAP_S": "20",
    "SHELFOPS_OUTBOX_RELAY_AFTER_S": "10",
    "SHELFOPS_SWEEP_INTERVAL_S": "86400",
}
#: Polls (one a second) in a row that must find the pipeline idle.
CALM_POLLS = 3
#: The redis-py client of the suite itself must not hang while Redis is stopped.
REDIS_TIMEOUT_S = 5.0


class FaultStack:
    """The servers, the processes and the catalogue; see the module's docstring."""

    def __init__(
        self,
        *,
        skus: int,
        batch_size: int,
        folder: Path | None = None,
        keep_logs: Path | None = None,
    ) -> None:
        self.skus = skus
        self.small_skus = max(skus // 10, 500)
        self.batch_size = batch_size
        self.keep_logs = keep_logs
        self.folder = folder or Path(tempfile.mkdtemp(prefix="shelfops-faults-"))
        self.servers = EmbeddedStack(self.folder / "stack")
        self.fake = FakeSendGridAPI(api_key=API_KEY)
        self.alerts_workers: list[processes.ServiceProcess] = []
        self.email_worker: processes.ServiceProcess | None = None
        self.beat: processes.ServiceProcess | None = None
        self.expected: dict[str, Expected] = {}

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> FaultStack:
        self.servers.start()
        self.fake.start()
        self.env = environment(
            {
                **self.servers.environment(),
                **SUITE_ENV,
                "SHELFOPS_BATCH_SIZE": str(self.batch_size),
                "SHELFOPS_EMAIL_BACKEND": "sendgrid",
                "SENDGRID_API_KEY": API_KEY,
                "SHELFOPS_SENDGRID_HOST": self.fake.url,
            }
        )
        self.settings = load_settings(self.env)
        migrate.upgrade(self.settings)
        self.engine = get_engine(self.settings)
        self.redis = redis.Redis.from_url(
            self.settings.redis_url.reveal(),
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
        self._load_catalogue()
        return self

    def stop(self) -> None:
        self.stop_processes()
        self.fake.stop()
        dispose_engines()
        self.servers.stop()
        if self.keep_logs and (self.folder / "logs").is_dir():
            shutil.copytree(self.folder / "logs", self.keep_logs, dirs_exist_ok=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> FaultStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _load_catalogue(self) -> None:
        today = dt.datetime.now(dt.UTC).date()
        for customer, size in ((SWEEP_CUSTOMER, self.skus), (SMALL_CUSTOMER, self.small_skus)):
            files = write_files(
                self.folder / "files" / customer,
                customer_id=customer,
                skus=size,
                today=today,
                only=("inventory", "forecasts"),
            )
            import_files(self.env, files)
        with self.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO alert_recipients (customer_id, email) VALUES (:c, :e)"),
                [{"c": c, "e": RECIPIENT.format(customer=c)} for c in self.expected_customers],
            )
        run_floor(self.engine, today=today)
        with self.engine.connect() as connection:
            found = connection.execute(
                text("SELECT customer_id, store_id, product_id, severity FROM bench_floor")
            ).all()
        for customer in self.expected_customers:
            self.expected[customer] = Expected(
                {(r.store_id, r.product_id): r.severity for r in found if r.customer_id == customer}
            )

    @property
    def expected_customers(self) -> tuple[str, str]:
        return (SWEEP_CUSTOMER, SMALL_CUSTOMER)

    # -- processes -----------------------------------------------------------------------
    def fresh(self, label: str = "") -> None:
        """Stop every process, empty the pipeline's tables and Redis, forget the provider's
        requests, and start the processes again (their logs under ``logs/label``)."""
        self.stop_processes()
        with self.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(PIPELINE_TABLES)} RESTART IDENTITY"))
        self.redis.flushdb()
        self.fake.reset()
        logs = self.folder / "logs" / label.replace(" ", "-")
        self.alerts_workers = [
            processes.worker(
                name=f"alerts{n}", queues="alerts", concurrency=1, env=self.env, log_dir=logs
            ).start()
            for n in (1, 2)
        ]
        self.email_worker = processes.worker(
            name="email", queues="email", concurrency=2, env=self.env, log_dir=logs
        ).start()
        state = self.folder / "beat"
        state.mkdir(exist_ok=True)
        for old in state.glob("celerybeat-schedule*"):
            old.unlink()
        self.beat = processes.beat(env=self.env, state_dir=state, log_dir=logs).start()
        processes.wait_for_workers(
            self.settings.redis_url.reveal(), ["alerts1", "alerts2", "email"], timeout_s=120
        )

    def stop_processes(self) -> None:
        for service in [*self.alerts_workers, self.email_worker, self.beat]:
            if service is not None:
                service.stop(grace_s=5)
        self.alerts_workers, self.email_worker, self.beat = [], None, None

    # -- the servers, for faults -----------------------------------------------------------
    def redis_pid(self) -> int:
        assert self.servers.redis.process is not None
        return self.servers.redis.process.pid

    def postgres_pids(self) -> list[int]:
        """The postmaster, then every process it started (its backends among them)."""
        pid_file = self.servers.postgres.folder / "postmaster.pid"
        master = psutil.Process(int(pid_file.read_text().split()[0]))
        return [master.pid] + [child.pid for child in master.children(recursive=True)]

    def restart_postgres(self, down_s: float) -> None:
        """Stop PostgreSQL (fast: every connection is cut), wait ``down_s``, start it again
        on the same data folder and socket."""
        from pgserver._commands import pg_ctl
        from pgserver.utils import PostmasterInfo

        server = self.servers.postgres.server
        socket_dir = server.get_postmaster_info().socket_dir
        user = server.system_user
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=user, timeout=60)
        time.sleep(down_s)
        start = ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start"]
        pg_ctl(start, pgdata=server.pgdata, user=user, timeout=60)
        # pgserver stops the server it knows of at the end: make that the new one.
        server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)

    def alerts_children(self, worker: int = 0) -> list[psutil.Process]:
        """The pool processes of one alerts worker."""
        return psutil.Process(self.alerts_workers[worker].pid).children()

    def email_child_for_port(self, port: int) -> psutil.Process | None:
        """The email worker's pool process holding a TCP connection from ``port``."""
        assert self.email_worker is not None
        for child in psutil.Process(self.email_worker.pid).children():
            try:
                if any(c.laddr and c.laddr.port == port for c in child.net_connections("tcp")):
                    return child
            except psutil.Error:
                continue
        return None

    # -- progress, idleness, the tally -----------------------------------------------------
    def sweep_progress(self) -> tuple[int, int] | None:
        """(batches done or failed, batches queued) of the latest sweep, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT batches_done + batches_failed, batches_queued FROM sweeps"
                    " ORDER BY id DESC LIMIT 1"
                )
            ).first()
        return None if row is None else (int(row[0]), int(row[1]))

    def busy(self) -> dict[str, int]:
        """What is still in flight: queued and unacknowledged messages, unpublished changes,
        deliveries and digests not sent or failed. (A sweep row left ``running`` is no work
        in flight: it is reported by :meth:`sweep_report`.)"""
        found = {
            "alerts queue": int(self.redis.llen("alerts")),
            "email queue": int(self.redis.llen("email")),
            "unacked": int(self.redis.hlen("unacked")),
        }
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    """
                    SELECT (SELECT count(*) FROM alert_history
                            WHERE published_at IS NULL AND NOT silenced),
                           (SELECT count(*) FROM email_deliveries
                            WHERE status NOT IN ('sent', 'failed')),
                           (SELECT count(*) FROM email_digests
                            WHERE status NOT IN ('sent', 'failed'))
                    """
                )
            ).one()
        found.update(unpublished=int(row[0]), deliveries=int(row[1]), digests=int(row[2]))
        return found

    def sweep_report(self) -> str:
        """The latest sweep's row in a few words (its status, batches counted and failed)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT id, status, batches_queued, batches_done, batches_failed FROM sweeps"
                    " ORDER BY id DESC LIMIT 1"
                )
            ).first()
        if row is None:
            return ""
        return (
            f"sweep {row.status}: {row.batches_done} of {row.batches_queued} batches done,"
            f" {row.batches_failed} failed"
        )

    def wait_idle(self, timeout_s: float) -> str | None:
        """Wait until nothing is in flight (:data:`CALM_POLLS` polls running); None when it
        is, else a line saying what was still busy when ``timeout_s`` ran out."""
        deadline = time.monotonic() + timeout_s
        calm = 0
        seen: dict[str, int] | str = {}
        while time.monotonic() < deadline:
            try:
                seen = self.busy()
                calm = calm + 1 if not any(seen.values()) else 0
            except Exception as exc:  # a server still recovering: keep waiting
                seen, calm = f"{type(exc).__name__}: {exc}".splitlines()[0][:200], 0
            if calm >= CALM_POLLS:
                return None
            time.sleep(1)
        busy = seen if isinstance(seen, str) else {k: v for k, v in seen.items() if v}
        return f"not idle after {timeout_s:.0f} s: {busy}"

    def tally(self, customer: str) -> Tally:
        """The customer's alerts and mails against the floor's (fault_tally.py)."""
        return tally(self.engine, self.fake.accepted, self.expected[customer], customer)


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each process that still exists."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue


def cli_sweep(env: dict[str, str], customer: str) -> None:
    """Start a sweep of one customer as an operator does (``shelfops-alerts sweep``)."""
    command = [
        str(Path(sys.executable).with_name("shelfops-alerts")),
        "sweep",
        "--customer",
        customer,
    ]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)
