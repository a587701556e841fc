"""``shelfops-alerts dev``: the whole stack on this machine, from pip-installed binaries.

Starts Redis and PostgreSQL under ./.shelfops, migrates, starts an ``alerts`` worker, an
``email`` worker, beat, Flower (127.0.0.1:5555, task events on) and the web service
(127.0.0.1:8000), loads the demo data, emits a forecast-complete event, prints the demo
customer's dashboard login link and every alert change as it is published, until Ctrl-C
stops everything it started. While it runs, ``.shelfops/stack.env`` lets the other
commands in this folder find the stack without any setting.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis

from shelfops_alerts import migrate
from shelfops_alerts.config import STACK_DIR, STACK_ENV, load_settings, read_env_file
from shelfops_alerts.stack import demo, processes
from shelfops_alerts.stack.embedded import EmbeddedStack
from shelfops_alerts.vocabulary import ALERTS_QUEUE, CHANNEL_PREFIX, EMAIL_QUEUE

#: Settings `dev` uses unless the user set them (in the environment or in ``.env``).
DEV_DEFAULTS = {
    "SHELFOPS_EMAIL_BACKEND": "file",
    "SHELFOPS_OUTBOX_DIR": str(STACK_DIR / "outbox"),
    # A short digest window (production: 60 s), so the demo's grouped e-mails come in seconds.
    "SHELFOPS_DIGEST_WINDOW_S": "5",
}


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


def _already_running() -> int | None:
    pid = read_env_file(STACK_ENV, interpolate=False).get("SHELFOPS_DEV_PID")
    if pid and pid.isdigit():
        try:
            os.kill(int(pid), 0)
            return int(pid)
        except ProcessLookupError:
            return None
    return None


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
    running = _already_running()
    if running:
        print(f"error: dev is already running here (pid {running})", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print("starting PostgreSQL and Redis under .shelfops/ ...")
    stack = EmbeddedStack(STACK_DIR).start()
    services: list[processes.ServiceProcess] = []
    code = 0
    try:
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
        processes.wait_for_workers(settings.redis_url.reveal(), ["alerts", "email"])
        guarded = f" (basic auth, user {flower_auth.partition(':')[0]})" if flower_auth else ""
        print(f"workers ready; Flower on http://127.0.0.1:{flower_port}{guarded}; logs in {logs}/")
        processes.wait_for_web(services[-1], web_port)
        print(f"web service on http://127.0.0.1:{web_port} (API, stream, dashboard)")
        pubsub = redis.Redis.from_url(settings.redis_url.reveal()).pubsub(
            ignore_subscribe_messages=True
        )
        pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
        if with_demo:
            from shelfops_alerts.intake.client import notify_forecast_complete

            _load_demo(settings)
            notify_forecast_complete(demo.DEMO_CUSTOMER, "demo-run-1", settings=settings)
            print(f"forecast-complete emitted for {demo.DEMO_CUSTOMER}")
            _print_login(settings, demo.DEMO_CUSTOMER)
        else:
            print("log in to the dashboard with: shelfops-alerts dashboard-url --customer C")
        print(f"e-mails go to {settings.outbox_dir.resolve()}/ ; Ctrl-C stops everything")
        for message in pubsub.listen():
            print(format_change(json.loads(message["data"])), flush=True)
    except KeyboardInterrupt:
        print("\nstopping ...")
    except RuntimeError as exc:  # a service did not start; say which, then clean up
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    finally:
        for service in reversed(services):
            service.stop()
        stack.stop()
        if STACK_ENV.exists():
            STACK_ENV.unlink()
    return code
