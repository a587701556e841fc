"""``shelfops-alerts dev``: the whole stack on this machine, from pip-installed binaries.

Starts Redis and PostgreSQL under ./.shelfops, migrates, starts an ``alerts`` worker, an
``email`` worker, beat, Flower (127.0.0.1:5555, task events on) and the web service
(127.0.0.1:8000), loads the demo data, emits a forecast-complete event, prints the demo
customer's dashboard login link and every alert change as it is published, until Ctrl-C
stops everything it started. While it runs, ``.shelfops/stack.env`` lets the other
commands in this folder find the stack without any setting, and ``.shelfops/stack.json``
records what it started. It watches everything it started (``supervisor``): what dies is
reported and restarted. What a killed ``dev`` left running is stopped first (``orphans``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis

from shelfops_alerts import migrate
from shelfops_alerts.config import STACK_DIR, STACK_ENV, load_settings, read_env_file
from shelfops_alerts.stack import demo, orphans, processes
from shelfops_alerts.stack.embedded import EmbeddedStack
from shelfops_alerts.stack.supervisor import (
    GiveUp,
    PostgresWatch,
    RedisWatch,
    ServiceWatch,
    Supervisor,
)
from shelfops_alerts.vocabulary import ALERTS_QUEUE, CHANNEL_PREFIX, EMAIL_QUEUE

#: Settings `dev` uses unless the user set them (in the environment or in ``.env``).
DEV_DEFAULTS = {
    "SHELFOPS_EMAIL_BACKEND": "file",
    "SHELFOPS_OUTBOX_DIR": str(STACK_DIR / "outbox"),
    # A short digest window (production: 60 s), so the demo's grouped e-mails come in seconds.
    "SHELFOPS_DIGEST_WINDOW_S": "5",
}
#: What ``dev`` records about the processes it started (see ``orphans``).
STACK_STATE = STACK_DIR / "stack.json"
#: How each service is named in what ``dev`` prints.
LABELS = {
    "alerts": "alerts worker",
    "email": "email worker",
    "beat": "beat",
    "flower": "Flower",
    "web": "web service",
}
#: Seconds ``dev`` waits for an alert change before it looks at its processes again.
POLL_S = 0.5


def dev_environment(
    stack_values: Mapping[str, str],
    *,
    environ: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The settings `dev` runs its processes with, and writes to ``.shelfops/stack.env``.

    Highest first: the embedded stack's own URLs (``stack_values``), what the user set (the
    environment, then ``.env``; an empty value counts as not set, as in ``load_settings``),
    then ``defaults`` and :data:`DEV_DEFAULTS`.
    """
    user = {**read_env_file(Path(".env")), **(os.environ if environ is None else environ)}
    wanted = {**DEV_DEFAULTS, **(defaults or {})}
    chosen = {name: user.get(name, "").strip() or value for name, value in wanted.items()}
    return {**chosen, **stack_values, "SHELFOPS_DEV_PID": str(os.getpid())}


def _record(stack: EmbeddedStack, services: list[processes.ServiceProcess]) -> None:
    """Write ``.shelfops/stack.json``: this dev, and every process it started that runs."""
    started = [orphans.Recorded.of(LABELS[s.name], s.pid) for s in services if s.running()]
    if stack.redis.process is not None:
        started.append(orphans.Recorded.of("Redis", stack.redis.process.pid))
    orphans.write_state(
        STACK_STATE,
        orphans.Recorded.of("dev", os.getpid()),
        [item for item in started if item is not None],
    )


class ChangeFeed:
    """The alert changes published on Redis, for printing; survives a Redis restart (the
    changes published while Redis was down are lost to this feed, not to the database)."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.pubsub: Any = None
        self._subscribe()

    def _subscribe(self) -> None:
        try:
            self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            self.pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
        except redis.ConnectionError:
            self.pubsub = None

    def poll(self, timeout_s: float) -> list[dict[str, Any]]:
        """The changes that arrive within ``timeout_s`` (waits at most that long)."""
        if self.pubsub is None:
            time.sleep(timeout_s)
            self._subscribe()
            return []
        changes = []
        try:
            message = self.pubsub.get_message(timeout=timeout_s)
            while message is not None:
                if message.get("type") == "pmessage":
                    changes.append(json.loads(message["data"]))
                message = self.pubsub.get_message(timeout=0)
        except redis.ConnectionError:
            self.pubsub = None
        return changes


def _write_stack_env(values: dict[str, str]) -> None:
    STACK_ENV.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# written by `shelfops-alerts dev` while it runs; removed when it stops"]
    # Single-quoted, so a path with spaces or `#` reads back as written.
    lines += [f"{key}={_quoted(value)}" for key, value in sorted(values.items())]
    STACK_ENV.write_text("\n".join(lines) + "\n")


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_change(message: dict[str, Any]) -> str:
    """One line per published alert change."""
    return (
        f"{message['event']:<12} {message['severity'].upper():<8} "
        f"#{message['alert_id']:<5} {message['customer_id']} "
        f"{message['store_id']}/{message['product_id']}: {message['message']}"
    )


def _load_demo(settings: Any) -> None:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.intake import imports

    paths = demo.write_demo_files(STACK_DIR / "demo", today=dt.datetime.now(dt.UTC).date())
    with session_factory(settings).begin() as session:
        imports.import_inventory(session, path=paths["inventory"])
        imports.import_forecasts(session, path=paths["forecasts"])
        imports.import_recipients(session, path=paths["recipients"])
        imports.import_policies(session, path=paths["policies"])
        imports.import_sales(session, path=paths["sales"])
        imports.import_arrivals(session, path=paths["arrivals"])
    print(f"demo data loaded from {paths['inventory'].parent}/")


def _stop_on_sigterm(*_: object) -> None:
    # A SIGTERM (from a supervisor, or `timeout`) stops the stack as Ctrl-C does.
    raise KeyboardInterrupt


def _print_login(settings: Any, customer_id: str) -> None:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.web.sessions import create_login_link, login_url

    with session_factory(settings).begin() as session:
        code = create_login_link(session, customer_id=customer_id, ttl_s=settings.login_link_ttl_s)
    minutes = settings.login_link_ttl_s / 60
    print(f"dashboard of {customer_id}: {login_url(settings.web_base_url, code)}")
    print(
        f"  (one-time link, valid {minutes:g} min; a new one:"
        f" shelfops-alerts dashboard-url --customer {customer_id})",
        flush=True,
    )


def run_dev(
    *,
    with_demo: bool = True,
    flower_port: int = 5555,
    flower_auth: str | None = None,
    web_port: int = 8000,
) -> int:
    """Run the stack in the foreground until Ctrl-C; returns the exit code.

    ``flower_auth`` (``user:password``) turns on Flower's basic auth."""
    running = orphans.running_dev(STACK_STATE)
    if running:
        print(f"error: dev is already running here (pid {running})", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    for line in orphans.stop_leftovers(STACK_STATE, redis_folder=STACK_DIR / "redis"):
        print(line, flush=True)
    print("starting PostgreSQL and Redis under .shelfops/ ...")
    stack = EmbeddedStack(STACK_DIR).start()
    if stack.postgres.adopted:
        print(f"reusing PostgreSQL (pid {stack.postgres.pid()}), left running by a killed dev")
    services: list[processes.ServiceProcess] = []
    code = 0
    try:
        _record(stack, services)
        values = dev_environment(
            stack.environment(),
            # E-mails and login links point at this stack's web service.
            defaults={"SHELFOPS_DASHBOARD_URL": f"http://localhost:{web_port}/alerts"},
        )
        _write_stack_env(values)
        env = {**os.environ, **values}
        settings = load_settings(env)
        print(f"database at migration {migrate.upgrade(settings)}")
        logs = STACK_DIR / "logs"
        services = [
            processes.worker(
                name="alerts", queues=ALERTS_QUEUE, concurrency=2, env=env, log_dir=logs
            ),
            processes.worker(
                name="email", queues=EMAIL_QUEUE, concurrency=1, env=env, log_dir=logs
            ),
            processes.beat(env=env, state_dir=STACK_DIR, log_dir=logs),
            processes.flower(env=env, port=flower_port, log_dir=logs, basic_auth=flower_auth),
            processes.web(env=env, port=web_port, log_dir=logs),
        ]
        for service in services:
            service.start()
        _record(stack, services)
        processes.wait_for_workers(settings.redis_url.reveal(), ["alerts", "email"])
        guarded = f" (basic auth, user {flower_auth.partition(':')[0]})" if flower_auth else ""
        print(f"workers ready; Flower on http://127.0.0.1:{flower_port}{guarded}; logs in {logs}/")
        processes.wait_for_web(services[-1], web_port)
        print(f"web service on http://127.0.0.1:{web_port} (API, stream, dashboard)")
        feed = ChangeFeed(settings.redis_url.reveal())
        if with_demo:
            from shelfops_alerts.intake.client import notify_forecast_complete

            _load_demo(settings)
            notify_forecast_complete(demo.DEMO_CUSTOMER, "demo-run-1", settings=settings)
            print(f"forecast-complete emitted for {demo.DEMO_CUSTOMER}")
            _print_login(settings, demo.DEMO_CUSTOMER)
        else:
            print("log in to the dashboard with: shelfops-alerts dashboard-url --customer C")
        print(f"e-mails go to {settings.outbox_dir.resolve()}/ ; Ctrl-C stops everything")
        watched = [ServiceWatch(service, LABELS[service.name]) for service in services]
        supervisor = Supervisor(
            [RedisWatch(stack.redis), PostgresWatch(stack.postgres), *watched],
            on_restart=lambda: _record(stack, services),
        )
        while True:
            for change in feed.poll(POLL_S):
                print(format_change(change), flush=True)
            for line in supervisor.check():
                print(line, flush=True)
    except KeyboardInterrupt:
        print("\nstopping ...")
    except GiveUp as exc:  # a crash loop: say which, then stop everything
        print(f"error: {exc}. Stopping everything.", file=sys.stderr, flush=True)
        code = 1
    except RuntimeError as exc:  # a service did not start; say which, then clean up
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    finally:
        for service in reversed(services):
            service.stop()
        stack.stop()
        for path in (STACK_ENV, STACK_STATE):
            path.unlink(missing_ok=True)
    return code
