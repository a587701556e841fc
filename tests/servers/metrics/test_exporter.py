"""``/metrics`` as Prometheus reads it: the standalone exporter, the apps the web service
mounts, and ``status --json`` with the same figures."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from wsgiref.util import setup_testing_defaults

from prometheus_client.parser import text_string_to_metric_families

from shelfops_alerts.intake.client import notify_forecast_complete
from shelfops_alerts.metrics import NAMES, asgi_app, wsgi_app
from shelfops_alerts.stack.embedded import free_port
from tests.support.cli import run
from tests.support.waiting import wait_until

SCRIPT = str(Path(sys.executable).parent / "shelfops-alerts")


def parse(body: str) -> dict[str, dict[tuple, float]]:
    """Metric name -> {sorted label items: value}."""
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(body)
    }


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        return response.read().decode()


def test_the_standalone_exporter_serves_every_metric_and_logs_json(db, settings, base_env):
    # Given three events waiting in the alerts queue
    for n in range(3):
        notify_forecast_complete("acme", f"r{n}", settings=settings)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")},
        **base_env,
        "SHELFOPS_LOG_FORMAT": "json",
    }
    # When `shelfops-alerts metrics --port P` runs
    exporter = subprocess.Popen(
        [SCRIPT, "metrics", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = wait_until(lambda: _try_get(f"http://127.0.0.1:{port}/metrics"), 20, "the exporter")
    finally:
        exporter.send_signal(signal.SIGTERM)
        out, err = exporter.communicate(timeout=10)
    # Then every family of the catalogue is there, with the queue's depth
    metrics = parse(str(body))
    assert set(metrics) == set(NAMES)
    assert metrics["shelfops_queue_depth"][(("queue", "alerts"),)] == 3
    assert metrics["shelfops_scrape_source_up"][(("source", "database"),)] == 1
    # And it stopped cleanly on SIGTERM, its log lines JSON objects
    assert exporter.returncode == 0, err
    logged = [json.loads(line) for line in err.splitlines()]
    assert any(f":{port}/metrics" in line["message"] for line in logged)
    assert all(line["command"] == "metrics" for line in logged)


def _try_get(url: str) -> str | None:
    try:
        return get(url)
    except OSError:
        return None


def test_the_wsgi_and_asgi_apps_answer_with_one_scrape(db, settings):
    notify_forecast_complete("acme", "r", settings=settings)
    # WSGI
    environ: dict = {}
    setup_testing_defaults(environ)
    started: list = []
    body = b"".join(wsgi_app(settings)(environ, lambda status, headers: started.append(status)))
    assert started == ["200 OK"]
    assert parse(body.decode())["shelfops_queue_depth"][(("queue", "alerts"),)] == 1
    # ASGI (what the web service mounts at /metrics)
    sent: list[dict] = []

    async def call() -> None:
        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
        await asgi_app(settings)(scope, receive, send)

    asyncio.run(call())
    assert sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert "shelfops_alerts_active" in parse(body.decode())


def test_status_json_carries_the_same_figures(db, cli_env, settings, capsys):
    for n in range(2):
        notify_forecast_complete("acme", f"r{n}", settings=settings)
    code, out, _ = run(capsys, "status", "--json")
    report = json.loads(out)
    # No worker runs here, so the service is not healthy; the figures are there all the same
    assert code == 1 and report["healthy"] is False
    figures = report["metrics"]
    assert {"labels": {"queue": "alerts"}, "value": 2.0} in figures["shelfops_queue_depth"]
    assert report["queues"]["alerts"] == 2
    assert figures["shelfops_outbox_unpublished_changes"] == 0
    assert set(figures) <= set(NAMES)
